"""The families' staff pages (`familles.staff_views`) and the pages of the
admin's actions: their permissions, and breadcrumbs back to the list."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from familles.models import AddressChangeRequest, Family
from familles.services import family_paperless_edited
from tests.conftest import STAFF_PASSWORD
from tests.factories import StaffFactory
from tests.helpers import give_totp, staff_login_with_totp

pytestmark = pytest.mark.django_db


def agent_client(client: Client, *codenames: str) -> Client:
    agent = StaffFactory()
    agent.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    staff_login_with_totp(client, agent, STAFF_PASSWORD, give_totp(agent))
    return client


def test_the_credentials_letter_needs_the_change_permission(client, family):
    agent = agent_client(client, "view_family")

    response = agent.get(
        reverse("admin:familles_family_credentials_letter", args=[family.pk])
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("codename", "status"),
    [
        ("view_addresschangerequest", 404),
        ("change_addresschangerequest", 404),
        ("view_family", 403),
    ],
)
def test_a_proof_is_downloaded_by_who_sees_the_requests(client, codename, status):
    agent = agent_client(client, codename)

    response = agent.get(reverse("admin:familles_proofdocument_download", args=[9]))

    assert response.status_code == status


def test_the_issued_codes_page_leads_back_to_the_families(staff_client, family):
    changelist = reverse("admin:familles_family_changelist")

    page = staff_client.post(
        changelist,
        {"action": "issue_activation_codes", "_selected_action": [family.pk]},
    )

    assert page.context["crumbs"] == [("Familles", changelist)]
    assert f'<a href="{changelist}">Familles</a>' in page.text


def test_the_refusal_page_leads_back_to_the_requests(staff_client, family):
    request = AddressChangeRequest.objects.create(
        family=family,
        address_line1="5 rue des Flamboyants",
        postal_code="97170",
        city="Petit-Bourg",
        request_key="a" * 32,
    )
    changelist = reverse("admin:familles_addresschangerequest_changelist")

    page = staff_client.post(
        changelist, {"action": "refuse", "_selected_action": [request.pk]}
    )

    assert page.status_code == 200
    ((label, url),) = page.context["crumbs"]
    assert url == changelist
    assert f'<a href="{changelist}">{escape(label)}</a>' in page.text
    title = escape(page.context["title"])
    assert f'<li aria-current="page">{title}</li>' in page.text


def test_an_agent_changing_the_paperless_choice_dates_it(family):
    assert not family_paperless_edited(family=family, changed_fields=["name"])
    assert family.paperless_changed_at is None

    assert family_paperless_edited(family=family, changed_fields=["paperless"])
    assert family.paperless_changed_at is not None
    assert Family.objects.get(pk=family.pk).paperless_changed_at is None  # unsaved
