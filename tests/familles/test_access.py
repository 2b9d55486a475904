"""A parent only ever reaches their own family's data."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PARENT_PAGES = ["home", "familles:dossier", "factures:list", "paiements:home"]


@pytest.mark.parametrize("page", PARENT_PAGES)
def test_anonymous_visitors_are_sent_to_the_login(client, page):
    response = client.get(reverse(page))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("page", PARENT_PAGES)
def test_two_families_never_see_each_other(client, parent, other_parent, page):
    client.force_login(other_parent)

    response = client.get(reverse(page))

    assert response.status_code == 200
    mine, theirs = other_parent.family, parent.family
    assert theirs.identifier not in response.text
    assert theirs.name not in response.text
    for child in theirs.children.all():
        assert child.first_name not in response.text
    assert "josiane@example.org" not in response.text
    if page in {"home", "familles:dossier"}:
        assert mine.identifier in response.text


def test_the_dossier_shows_the_familys_own_data(client, parent):
    client.force_login(parent)

    page = client.get(reverse("familles:dossier")).text

    assert parent.family.identifier in page
    assert "Josiane" in page
    assert "josiane@example.org" in page
    assert "0690 12 34 56" in page
    assert "Kenzo" in page and "Inaya" in page
    assert "Tranche B" in page


def test_parent_urls_take_no_family_from_the_request(client, parent, other_parent):
    client.force_login(parent)

    response = client.get(
        reverse("familles:dossier"),
        {"family": other_parent.family.pk, "id": other_parent.family.pk},
    )

    assert other_parent.family.identifier not in response.text
    assert parent.family.identifier in response.text


def test_staff_are_sent_from_parent_pages_to_the_admin(client, staff):
    client.force_login(staff)

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
