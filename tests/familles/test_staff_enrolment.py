"""A new staff password alone cannot set up the authenticator (issue 21):
the session first enters a code sent to the staff member's address."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import reverse

from tests.conftest import STAFF_PASSWORD
from tests.factories import StaffFactory
from tests.helpers import error_text, login

pytestmark = pytest.mark.django_db


def sent_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def sent_to_enrolment(client) -> bool:  # noqa: ANN001
    """Whether the authenticator's setup page sends this session back to
    the code (allauth may still ask for the password again: its own step)."""
    response = client.get(reverse("mfa_activate_totp"))
    return response.status_code == 302 and response.url.startswith(
        reverse("familles:staff_enrolment")
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def newcomer(client):  # noqa: ANN001, ANN201
    """A staff member logged in with the password an administrator gave."""
    user = StaffFactory(email="agent.cantine@example.org")
    login(client, user.username, STAFF_PASSWORD)
    return user


def test_the_password_alone_cannot_reach_the_authenticator_setup(client, newcomer):
    direct = client.get(reverse("mfa_activate_totp"))
    admin = client.get(reverse("admin:index"))

    assert direct.status_code == 302
    assert direct.url.startswith(reverse("familles:staff_enrolment"))
    assert admin.url.startswith(reverse("familles:staff_enrolment"))
    assert not Authenticator.objects.filter(user=newcomer).exists()


def test_the_code_sent_to_the_address_opens_the_setup(client, newcomer):
    page = client.get(reverse("familles:staff_enrolment"), {"next": "/admin/"})

    assert page.status_code == 200 and "agent.cantine@example.org" in page.text
    assert mail.outbox[-1].to == ["agent.cantine@example.org"]
    code = sent_code()
    sent = client.post(
        reverse("familles:staff_enrolment") + "?next=/admin/", {"code": code}
    )
    assert sent.status_code == 302
    assert sent.url == reverse("mfa_activate_totp") + "?next=%2Fadmin%2F"
    assert not sent_to_enrolment(client)


def test_a_wrong_code_is_refused_and_five_tries_end_the_code(client, newcomer):
    client.get(reverse("familles:staff_enrolment"))
    code = sent_code()

    first = client.post(reverse("familles:staff_enrolment"), {"code": wrong(code)})
    assert first.status_code == 200
    assert "faux" in error_text(first)
    for _ in range(4):
        client.post(reverse("familles:staff_enrolment"), {"code": wrong(code)})
    last = client.post(reverse("familles:staff_enrolment"), {"code": code})

    assert last.status_code == 200 and "nouveau" in error_text(last)
    assert sent_to_enrolment(client)


def test_the_code_is_for_this_session_and_this_user_only(client, newcomer):
    from django.test import Client

    client.get(reverse("familles:staff_enrolment"))
    code = sent_code()
    other = Client()
    login(other, newcomer.username, STAFF_PASSWORD)

    other.post(reverse("familles:staff_enrolment"), {"code": code})

    assert sent_to_enrolment(other)


def test_an_account_without_address_is_told_to_ask_an_administrator(client):
    user = StaffFactory(email="")
    login(client, user.username, STAFF_PASSWORD)

    page = client.get(reverse("familles:staff_enrolment"))

    assert page.status_code == 200 and "administrateur" in page.text
    assert not mail.outbox
    assert sent_to_enrolment(client)


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "１２３４５６", "1" * 13])
def test_a_malformed_code_gets_a_message(client, newcomer, code):
    client.get(reverse("familles:staff_enrolment"))

    response = client.post(reverse("familles:staff_enrolment"), {"code": code})

    assert response.status_code == 200 and error_text(response)
    assert sent_to_enrolment(client)


def test_parents_cannot_reach_the_page(client, parent):
    client.force_login(parent)

    assert client.get(reverse("familles:staff_enrolment")).status_code == 404
