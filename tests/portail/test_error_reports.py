"""A server error reaches the operators, without the family's data."""

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_server_error_is_mailed_to_the_operators_without_personal_data(
    settings, caplog
):
    settings.ADMINS = ["exploitation@example.org"]
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.portail.urls_failing"

    response = Client(raise_request_exception=False).post(
        "/panne/?identifiant=PB-004217",
        {"email": "josiane.dorville@example.org", "phone_mobile": "0690123456"},
        HTTP_COOKIE="sessionid=secret-session",
    )

    assert response.status_code == 500
    (report,) = [m for m in mail.outbox if m.to == ["exploitation@example.org"]]
    assert "RuntimeError" in report.body and "/panne/" in report.subject
    for personal in ("josiane", "0690123456", "PB-004217", "secret-session"):
        assert personal not in report.body and personal not in report.subject
