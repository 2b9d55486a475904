import pytest
from django.urls import reverse

from tests.factories import PARENT_PASSWORD
from tests.helpers import error_text, login

pytestmark = pytest.mark.django_db

MISMATCH = "L'identifiant ou le mot de passe est incorrect."


def test_parent_logs_in_with_family_identifier_and_lands_on_home(client, parent):
    response = login(client, parent.family.identifier, PARENT_PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("home")
    home = client.get(reverse("home"))
    assert "Bienvenue, famille Dorville" in home.text
    assert parent.family.identifier in home.text


def test_identifier_is_accepted_in_lower_case_with_spaces(client, parent):
    response = login(client, f"  {parent.family.identifier.lower()} ", PARENT_PASSWORD)

    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(parent.pk)


def test_wrong_password_and_unknown_identifier_get_the_same_message(client, parent):
    wrong_password = login(client, parent.family.identifier, "pas le bon mot de passe")
    unknown_identifier = login(client, "PB-999999", PARENT_PASSWORD)

    assert wrong_password.status_code == unknown_identifier.status_code == 200
    assert error_text(wrong_password) == error_text(unknown_identifier)
    assert MISMATCH in error_text(wrong_password)
    assert "_auth_user_id" not in client.session


def test_login_page_is_in_french(client, db):
    page = client.get(reverse("account_login"))

    assert '<html lang="fr">' in page.text
    assert "Connexion au portail familles" in page.text
    assert "Identifiant" in page.text
    assert "Mot de passe oublié\u00a0?" in page.text


def test_nobody_can_sign_up(client, db):
    response = client.post(
        reverse("account_signup"),
        {"username": "PB-123456", "password1": "x" * 20, "password2": "x" * 20},
    )

    from familles.models import User

    assert not User.objects.filter(username="PB-123456").exists()
    assert "account/signup_closed.html" in [t.name for t in response.templates]


def test_logout_ends_the_session(client, parent):
    login(client, parent.family.identifier, PARENT_PASSWORD)

    client.post(reverse("account_logout"))

    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_inactive_login_cannot_log_in(client, parent):
    parent.is_active = False
    parent.save()

    login(client, parent.family.identifier, PARENT_PASSWORD)

    assert "_auth_user_id" not in client.session
