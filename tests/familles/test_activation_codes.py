import datetime
import io

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from familles.middleware import SESSION_ACTIVATION_CODE
from familles.models import ActivationCode, User
from familles.services import (
    activation_code_find,
    activation_code_issue,
    family_login_create,
)
from tests.helpers import error_text, login

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "le ti punch du dimanche"


@pytest.fixture
def issued(family, staff):
    return family_login_create(family=family, agent=staff)


def choose_password(client, password: str, confirm: str | None = None):
    return client.post(
        reverse("familles:activation"),
        {"new_password1": password, "new_password2": confirm or password},
    )


def test_agent_creates_a_login_named_after_the_family(issued, family):
    user = issued.user

    assert user.username == family.identifier
    assert user.family == family
    assert not user.has_usable_password()
    assert user.email == "josiane@example.org"
    assert len(issued.code) == 14  # ABCD-EFGH-JKMN


def test_code_is_never_stored_in_clear(issued):
    row = ActivationCode.objects.get(user=issued.user)
    raw = issued.code.replace("-", "")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code_digest, code_encrypted FROM familles_activationcode"
            " WHERE id = %s",
            [row.pk],
        )
        code_digest, code_encrypted = cursor.fetchone()

    assert raw not in code_digest
    assert raw not in code_encrypted
    assert (
        activation_code_find(username=issued.user.username, raw_code=issued.code) == row
    )


def test_first_login_with_code_must_choose_a_password(client, issued):
    response = login(client, issued.user.username, issued.code)

    assert response.status_code == 302
    assert client.session[SESSION_ACTIVATION_CODE]
    # Every page leads to the password choice until it is made.
    for url in [reverse("home"), reverse("familles:dossier"), reverse("factures:list")]:
        page = client.get(url)
        assert page.status_code == 302
        assert page.url == reverse("familles:activation")
    form = client.get(reverse("familles:activation"))
    assert "Choisissez votre mot de passe" in form.text


def test_code_is_accepted_without_dashes_and_in_lower_case(client, issued):
    response = login(client, issued.user.username, issued.code.replace("-", "").lower())

    assert response.status_code == 302
    assert client.session[SESSION_ACTIVATION_CODE]


def test_choosing_a_password_spends_the_code_and_erases_its_encrypted_copy(
    client, issued
):
    login(client, issued.user.username, issued.code)

    response = choose_password(client, NEW_PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert SESSION_ACTIVATION_CODE not in client.session
    assert client.get(reverse("home")).status_code == 200  # still logged in
    code = ActivationCode.objects.get(user=issued.user)
    assert code.used_at is not None
    assert code.code_encrypted is None
    user = User.objects.get(pk=issued.user.pk)
    assert user.check_password(NEW_PASSWORD)
    assert NEW_PASSWORD not in user.password


def test_used_code_is_refused_with_a_message_saying_how_to_get_a_new_one(
    client, issued
):
    login(client, issued.user.username, issued.code)
    choose_password(client, NEW_PASSWORD)
    client.post(reverse("account_logout"))

    response = login(client, issued.user.username, issued.code)

    assert "_auth_user_id" not in client.session
    message = error_text(response)
    assert "Ce code d'activation a déjà été utilisé." in message
    assert "Demandez un nouveau code d'activation" in message
    # The personal password works.
    login(client, issued.user.username, NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(issued.user.pk)


def test_expired_code_is_refused_with_its_own_message(client, issued):
    with time_machine.travel(issued.expires_at + datetime.timedelta(seconds=1)):
        response = login(client, issued.user.username, issued.code)

    assert "_auth_user_id" not in client.session
    assert "Ce code d'activation a expiré." in error_text(response)


def test_code_is_valid_until_its_expiry(client, issued):
    with time_machine.travel(issued.expires_at - datetime.timedelta(minutes=1)):
        login(client, issued.user.username, issued.code)

        assert client.session["_auth_user_id"] == str(issued.user.pk)


def test_issuing_a_new_code_voids_the_old_one(client, issued, staff):
    newer = activation_code_issue(user=issued.user, agent=staff)

    old_attempt = login(client, issued.user.username, issued.code)
    assert "Ce code d'activation a été remplacé" in error_text(old_attempt)
    assert ActivationCode.objects.filter(user=issued.user).open().count() == 1
    voided = ActivationCode.objects.exclude(voided_at=None).get(user=issued.user)
    assert voided.code_encrypted is None

    login(client, issued.user.username, newer.code)
    assert client.session["_auth_user_id"] == str(issued.user.pk)


def test_unusable_code_message_is_not_shown_for_a_wrong_code(client, issued):
    response = login(client, issued.user.username, "AAAA-BBBB-CCCC")

    assert "L'identifiant ou le mot de passe est incorrect." in error_text(response)


def test_a_code_only_opens_its_own_login(issued, other_family, staff):
    other = family_login_create(family=other_family, agent=staff)

    assert authenticate(username=other.user.username, password=issued.code) is None
    # The same call does open the login the code belongs to.
    assert authenticate(username=issued.user.username, password=issued.code) == (
        issued.user
    )


@pytest.mark.parametrize(
    ("password", "expected_error"),
    [
        ("court1", "Ce mot de passe est trop court"),
        ("password123", "Ce mot de passe est trop courant"),
        ("12345678901", "Ce mot de passe est entièrement numérique"),
    ],
)
def test_weak_passwords_are_refused_and_the_code_stays_usable(
    client, issued, password, expected_error
):
    login(client, issued.user.username, issued.code)

    response = choose_password(client, password)

    assert response.status_code == 200
    assert expected_error in response.text
    assert ActivationCode.objects.get(user=issued.user).used_at is None
    assert not User.objects.get(pk=issued.user.pk).has_usable_password()


def test_long_passwords_are_accepted_and_composition_is_not_imposed(client, issued):
    long_password = "les enfants mangent a la cantine de petit bourg " * 2  # 98 chars
    assert len(long_password) > 64
    login(client, issued.user.username, issued.code)

    response = choose_password(client, long_password)

    assert response.status_code == 302
    assert User.objects.get(pk=issued.user.pk).check_password(long_password)


def test_mismatched_confirmation_is_refused(client, issued):
    login(client, issued.user.username, issued.code)

    response = choose_password(client, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")

    assert response.status_code == 200
    assert "Les deux mots de passe ne correspondent pas" in response.text


def test_agent_issues_codes_from_the_admin_and_prints_the_letter(staff_client, family):
    client = staff_client
    changelist = reverse("admin:familles_family_changelist")

    page = client.post(
        changelist,
        {"action": "issue_activation_codes", "_selected_action": [family.pk]},
    )

    assert page.status_code == 200
    issued_code = page.context["issued"][0][1].code
    assert issued_code in page.text
    letter = client.get(
        reverse("admin:familles_family_credentials_letter", args=[family.pk])
    )
    assert letter["Content-Type"] == "application/pdf"
    assert "no-store" in letter["Cache-Control"]
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(letter.content)).pages
    )
    assert len(PdfReader(io.BytesIO(letter.content)).pages) == 1
    assert family.identifier in text
    assert issued_code in text
    expires = timezone.localdate(
        User.objects.get(username=family.identifier).activation_codes.get().expires_at
    )
    assert str(expires.year) in text


def test_letter_cannot_be_printed_once_the_code_is_used(staff_client, issued, family):
    ActivationCode.objects.filter(user=issued.user).update(used_at=timezone.now())
    client = staff_client

    response = client.get(
        reverse("admin:familles_family_credentials_letter", args=[family.pk]),
        follow=True,
    )

    assert response.redirect_chain
    shown = [str(m) for m in response.context["messages"]]
    assert any("pas de code d'activation valide" in m for m in shown)


def test_parents_cannot_print_letters(client, parent, family):
    client.force_login(parent)

    response = client.get(
        reverse("admin:familles_family_credentials_letter", args=[family.pk])
    )

    assert response.status_code in {302, 403}
    assert response.get("Content-Type") != "application/pdf"


def test_password_choice_page_offers_no_navigation_but_logout(client, issued):
    login(client, issued.user.username, issued.code)

    page = client.get(reverse("familles:activation")).text

    assert reverse("familles:dossier") not in page
    assert reverse("account_logout") in page


def test_purge_erases_the_encrypted_copies_of_expired_codes_only(
    issued, other_family, staff
):
    fresh = family_login_create(family=other_family, agent=staff)
    ActivationCode.objects.filter(user=issued.user).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    out = io.StringIO()

    call_command("housekeeping", stdout=out)

    assert "1 expired" in out.getvalue()
    assert ActivationCode.objects.get(user=issued.user).code_encrypted is None
    assert ActivationCode.objects.get(user=fresh.user).code_encrypted is not None


def test_agents_cannot_give_themselves_staff_rights(client, db):
    call_command("seed_demo", "--allow-without-debug", stdout=io.StringIO())
    agent = User.objects.get(username="agent")

    assert agent.has_perm("familles.change_family")
    assert agent.has_perm("paiements.add_payment")
    assert agent.has_perm("familles.change_addresschangerequest")
    assert not agent.has_perm("familles.change_user")
    assert not agent.has_perm("familles.add_user")
    assert not agent.has_perm("factures.add_invoice")  # the invoicing run


def test_a_session_opened_with_a_replaced_code_cannot_choose_the_password(
    client, family, staff
):
    issued = family_login_create(family=family, agent=staff)
    login(client, issued.user.username, issued.code)  # e.g. a stolen letter
    activation_code_issue(user=issued.user, agent=staff)  # the agent replaces the code

    response = client.post(
        reverse("familles:activation"),
        {
            "new_password1": "mot de passe du voleur",
            "new_password2": "mot de passe du voleur",
        },
        follow=True,
    )

    assert "_auth_user_id" not in client.session
    assert not User.objects.get(pk=issued.user.pk).has_usable_password()
    messages = [str(m) for m in response.context["messages"]]
    assert any("n'est plus valable" in m for m in messages)


def test_a_session_marked_for_activation_is_not_skipped_by_a_second_factor(
    client, family, staff
):
    issued = family_login_create(family=family, agent=staff)

    login(client, issued.user.username, issued.code)

    assert client.session[SESSION_ACTIVATION_CODE]
    assert client.get(reverse("home")).url == reverse("familles:activation")


def test_a_new_code_ends_the_old_password_and_sessions_unless_kept(
    family, staff, django_capture_on_commit_callbacks
):
    from django.contrib.sessions.models import Session
    from django.test import Client

    from tests.factories import PARENT_PASSWORD, ParentFactory

    login_user = ParentFactory(family=family)
    browser = Client()
    login(browser, login_user.username, PARENT_PASSWORD)
    assert Session.objects.count() == 1

    family_login_create(family=family, agent=staff, end_access=False)
    login_user.refresh_from_db()
    assert login_user.check_password(PARENT_PASSWORD)  # the agent kept it

    with django_capture_on_commit_callbacks(execute=True):
        issued = family_login_create(family=family, agent=staff)

    login_user.refresh_from_db()
    assert not login_user.has_usable_password()
    assert Session.objects.count() == 0
    assert browser.get(reverse("home")).status_code == 302
    fresh = Client()
    login(fresh, login_user.username, issued.code)
    assert fresh.session["_auth_user_id"] == str(login_user.pk)
