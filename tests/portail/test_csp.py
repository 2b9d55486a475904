"""Every page carries a strict Content-Security-Policy: the portal's own
scripts, styles and images only, no inline code, never framed."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, str]:  # noqa: ANN001
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_parent_and_staff_pages_carry_the_policy(client, parent, staff_client):
    client.force_login(parent)

    responses = [
        client.get(reverse("home")),
        client.get(reverse("familles:dossier")),
        client.get(reverse("help")),
        staff_client.get(reverse("admin:index")),
        staff_client.get(reverse("admin:familles_family_changelist")),
    ]

    for response in responses:
        rules = policy(response)
        assert rules["default-src"] == "'self'"
        assert rules["script-src"] == "'self'" and rules["style-src"] == "'self'"
        assert rules["frame-ancestors"] == "'none'"
