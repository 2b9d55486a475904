"""The pages every French public service's site must have: an
accessibility statement, a legal notice and a personal-data page, linked
from every page's footer, with their facts from the settings."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = ["accessibility", "legal_notice", "personal_data"]


@pytest.mark.parametrize("name", PAGES)
def test_the_page_is_open_to_anyone_and_linked_from_every_page(client, name):
    page = client.get(reverse(name))
    help_page = client.get(reverse("help")).text

    assert page.status_code == 200
    assert f'href="{reverse(name)}"' in help_page
    assert f'href="{reverse(name)}"' in page.text


def test_the_accessibility_statement_says_how_compliant_and_where_to_turn(client):
    text = client.get(reverse("accessibility")).text

    assert "partiellement conforme" in text
    assert "Défenseur des droits" in text
    assert "0590 00 00 00" in text  # how to report a problem
    assert "6 décembre 2026" in text


def test_the_legal_notice_names_the_publisher_from_the_settings(client, settings):
    settings.PORTAIL_COMMUNE = {
        **settings.PORTAIL_COMMUNE,
        "publication_director": "la maire de Petit-Bourg",
        "host": "l’hébergeur de la commune, 1 rue du Port",
    }

    text = client.get(reverse("legal_notice")).text

    assert "Commune de Petit-Bourg" in text
    assert "La maire de Petit-Bourg." in text
    assert "l’hébergeur de la commune, 1 rue du Port" in text


def test_the_personal_data_page_gives_the_durations_the_code_applies(client, settings):
    settings.ACTIVATION_CODE_VALID_DAYS = 21
    settings.PORTAIL_COMMUNE = {
        **settings.PORTAIL_COMMUNE,
        "dpo_email": "dpo@example.org",
        "accounts_keep_years": 10,
    }

    text = client.get(reverse("personal_data")).text

    assert "un code d’activation\u00a0: 21 jours" in text
    assert "imprimées\u00a0: 7 jours" in text
    assert "10 ans" in text
    assert "mailto:dpo@example.org" in text
    assert "CNIL" in text
