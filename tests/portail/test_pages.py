import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_greets_the_family_and_lists_its_children(client, parent):
    client.force_login(parent)

    page = client.get(reverse("home")).text

    assert "Bienvenue, famille Dorville" in page
    assert parent.family.identifier in page
    assert "Kenzo" in page and "Inaya" in page


def test_layout_has_language_landmarks_skip_link_and_navigation(client, parent):
    client.force_login(parent)

    page = client.get(reverse("home")).text

    assert '<html lang="fr">' in page
    assert '<main id="contenu"' in page
    assert 'href="#contenu"' in page
    assert 'aria-label="Menu principal"' in page
    assert 'name="viewport"' in page
    for label in ["Mon dossier", "Factures", "Paiements", "Aide"]:
        assert f">{label}</a>" in page
    assert 'aria-current="page"' in page


def test_help_page_is_public_and_reads_the_code_validity_from_settings(
    client, db, settings
):
    settings.ACTIVATION_CODE_VALID_DAYS = 45

    page = client.get(reverse("help"))

    assert page.status_code == 200
    assert "45 jours" in page.text


def test_help_page_states_the_payment_rules_from_the_settings(client, db, settings):
    default = client.get(reverse("help")).text
    settings.PORTAIL_ONLINE_PAYMENT_DAYS = "2-12"
    settings.PORTAIL_DESK_PAYMENT_DAYS = "5-20"
    settings.PORTAIL_UNPAID_LIMIT = 3

    changed = client.get(reverse("help")).text

    assert "du 1er au 10 de chaque mois" in default
    assert "au plus 2 factures impayées" in default
    assert "du 2 au 12 de chaque mois" in changed
    assert "du 5 au 20" in changed
    assert "au plus 3 factures impayées" in changed


def test_error_pages_are_in_french(client, parent):
    client.force_login(parent)

    response = client.get("/cette-page-n-existe-pas/")

    assert response.status_code == 404
    assert "Page introuvable" in response.text
