import re
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from familles.models import ActivationCode, User
from familles.services import family_login_create
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
)
from tests.helpers import error_text, login

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "un nouveau mot de passe solide"


def reset_link(message: str) -> str:
    match = re.search(r"https?://[^/\s]+(/compte/password/reset/key/\S+/)", message)
    assert match, message
    return match.group(1)


def test_parent_resets_the_password_through_the_link_sent_by_email(client, parent):
    client.post(reverse("account_reset_password"), {"email": "josiane@example.org"})

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["josiane@example.org"]
    link = reset_link(mail.outbox[0].body)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    done = client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302

    assert User.objects.get(pk=parent.pk).check_password(NEW_PASSWORD)
    login(client, parent.family.identifier, NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(parent.pk)


def test_reset_email_is_in_french(client, parent):
    client.post(reverse("account_reset_password"), {"email": "josiane@example.org"})

    message = mail.outbox[0]
    assert "mot de passe" in message.subject.lower()
    assert message.body.startswith("Bonjour,")
    assert "Service de la restauration scolaire" in message.body
    assert "Portail familles de la ville de Petit-Bourg" in message.body


def test_unknown_address_reveals_nothing_and_sends_no_link(client, parent):
    response = client.post(
        reverse("account_reset_password"), {"email": "inconnu@example.org"}
    )

    assert response.status_code == 302  # same "sent" page as a known address
    assert all("/password/reset/key/" not in m.body for m in mail.outbox)


def test_reset_link_works_only_once(client, parent):
    client.post(reverse("account_reset_password"), {"email": "josiane@example.org"})
    link = reset_link(mail.outbox[0].body)
    page = client.get(link, follow=True)
    set_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = client.get(link, follow=True)

    assert again.context["token_fail"] is True
    assert "password1" not in again.text


def test_a_password_reset_by_email_voids_the_pending_code(client, family, staff):
    issued = family_login_create(family=family, agent=staff)
    client.post(reverse("account_reset_password"), {"email": "josiane@example.org"})
    link = mail.outbox[0].body.split("http://testserver")[1].split()[0]
    page = client.get(link, follow=True)
    client.post(
        page.redirect_chain[-1][0],
        {"password1": "nouveau mot de passe", "password2": "nouveau mot de passe"},
    )

    assert ActivationCode.objects.get(user=issued.user).voided_at is not None
    response = login(client, issued.user.username, issued.code)
    assert "remplacé" in error_text(response)


def test_a_guardian_in_two_households_gets_a_reset_link_for_each(client, staff):
    first = FamilyFactory()
    second = FamilyFactory()
    for family in (first, second):
        GuardianFactory(family=family, email="parent.commun@example.org")
        family_login_create(family=family, agent=staff)
        User.objects.filter(family=family).update(password="")

    client.post(
        reverse("account_reset_password"), {"email": "parent.commun@example.org"}
    )

    bodies = " ".join(message.body for message in mail.outbox)
    assert first.identifier in bodies and second.identifier in bodies


def test_every_guardian_address_recorded_by_an_agent_can_reset(
    staff_client, client, parent, family
):
    url = reverse("admin:familles_family_change", args=[family.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and k != "identifier"
    }
    guardian = family.guardians.get()
    data.update(
        {
            "guardians-TOTAL_FORMS": "2",
            "guardians-INITIAL_FORMS": "1",
            "guardians-0-id": guardian.pk,
            "guardians-0-family": family.pk,
            "guardians-0-first_name": guardian.first_name,
            "guardians-0-last_name": guardian.last_name,
            "guardians-0-email": guardian.email,
            "guardians-1-family": family.pk,
            "guardians-1-first_name": "Frantz",
            "guardians-1-last_name": "Dorville",
            "guardians-1-email": "frantz.dorville@example.org",
            "children-TOTAL_FORMS": "0",
            "children-INITIAL_FORMS": "0",
            "bracket_assignments-TOTAL_FORMS": "0",
            "bracket_assignments-INITIAL_FORMS": "0",
            "logins-TOTAL_FORMS": "0",
            "logins-INITIAL_FORMS": "0",
            "paperless": "on",
        }
    )

    response = staff_client.post(url, data)

    assert response.status_code == 302, [
        formset.errors for formset in response.context["inline_admin_formsets"]
    ]
    family.refresh_from_db()
    assert family.paperless and family.paperless_changed_at is not None
    from familles.selectors import dossier_changes

    (change,) = [c for c in dossier_changes(family) if c.field == "paperless"]
    assert (change.old, change.new) == (False, True)
    assert change.changed_by.is_staff
    client.post(
        reverse("account_reset_password"), {"email": "frantz.dorville@example.org"}
    )
    assert mail.outbox and mail.outbox[-1].to == ["frantz.dorville@example.org"]


class BrokenMailServer(BaseEmailBackend):
    """An e-mail backend whose server is down."""

    def send_messages(self, messages):  # noqa: ANN001, ANN201
        raise smtplib.SMTPServerDisconnected("the mail server is down")


def test_every_address_gets_the_same_answer_even_with_the_mail_server_down(
    client, parent, settings
):
    settings.MAILERS = {
        "default": {"BACKEND": "tests.familles.test_password_reset.BrokenMailServer"}
    }
    url = reverse("account_reset_password")

    known = client.post(url, {"email": "josiane@example.org"})
    unknown = client.post(url, {"email": "inconnue@example.org"})

    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
