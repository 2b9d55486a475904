"""The staff pages of their own are code of their own: each app's
`staff_views.py`, one base (`portail.admin_tools.StaffView`), not methods
of the ModelAdmin classes."""

import ast
from pathlib import Path

import pytest
from django.urls import reverse

from portail.admin_tools import StaffView
from tests.conftest import STAFF_PASSWORD
from tests.factories import StaffFactory
from tests.helpers import give_totp, staff_login_with_totp

ROOT = Path(__file__).resolve().parents[2]
APPS = ["familles", "factures", "paiements", "signalements", "fusions"]


@pytest.mark.parametrize("app", APPS)
def test_no_admin_class_serves_a_page_of_its_own(app):
    tree = ast.parse((ROOT / app / "admin.py").read_text())
    views = [
        f"{node.name}.{item.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef) and item.name.endswith("_view")
    ]

    assert views == []


def test_every_staff_page_checks_a_permission():
    pages = []
    pending = list(StaffView.__subclasses__())
    while pending:
        page = pending.pop()
        pending += page.__subclasses__()
        pages.append(page)

    assert pages
    assert [page.__name__ for page in pages if not page.permission] == []


@pytest.mark.django_db
def test_a_staff_page_refuses_staff_without_its_permission(client):
    agent = StaffFactory()
    staff_login_with_totp(client, agent, STAFF_PASSWORD, give_totp(agent))

    for name in [
        "admin:paiements_payment_desk",
        "admin:paiements_payment_journal",
        "admin:factures_invoice_run",
        "admin:familles_family_duplicates",
        "admin:familles_family_merge",
    ]:
        assert client.get(reverse(name)).status_code == 403, name
