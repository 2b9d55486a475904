import re

import pytest
from django.core import mail
from django.urls import reverse

from familles.models import User
from tests.helpers import login

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
