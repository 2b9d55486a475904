"""Every URL of the portal and the admin, walked with hostile values in its
path, its query and its form fields, by every kind of visitor: no answer is
a server error. New URLs are walked without editing this test."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import STAFF_PASSWORD
from tests.factories import (
    InvoiceFactory,
    PaymentFactory,
    ReportFactory,
    StaffFactory,
)
from tests.helpers import give_totp, staff_login_with_totp

pytestmark = pytest.mark.django_db

# Values that broke pages before: a digit that is not ASCII, a NUL, a number
# past any integer, a far date, a long text.
HOSTILE = ["²", "\x00", "9" * 25, "9999-12-31", "x" * 3000]
# The names of the parameters the portal and the admin read.
NAMES = [
    "q",
    "p",
    "o",
    "e",
    "ids",
    "keep",
    "jour",
    "month",
    "facture",
    "paiement",
    "type",
    "identifier",
    "invoices",
    "amount",
    "method",
    "reference",
    "kind",
    "message",
    "invoice",
    "child",
    "date_from",
    "date_to",
    "request_key",
    "paperless",
    "email",
    "phone_mobile",
    "address_line1",
    "postal_code",
    "city",
    "status",
    "family",
    "state",
    "reason",
    "login",
    "password",
    "code",
    "new_password1",
    "new_password2",
    "action",
    "_selected_action",
    "confirm",
    "run",
    "file",
    "payload",
    "reste",
    "age",
    "doublon",
    "acces",
    "du",
    "received_at__year",
    "created_at__year",
    "period__year",
    "date__year",
]
SKIP = re.compile(r"logout|webhook/stripe")  # ends the session; signed alone


def routes() -> list[str]:
    def walk(patterns: list, prefix: str = ""):  # noqa: ANN202
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return sorted(set(walk(get_resolver().url_patterns)))


def concrete(route: str) -> list[str]:
    """The route with each parameter made odd: the largest id, zero, and for
    free text a non-ASCII digit and a very long word."""
    if route.startswith("^") or "(?P" in route:
        route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<str:\1>", route).strip("^$")
    paths = []
    for odd_id, odd_text in [("999999999999999999", "%C2%B2"), ("0", "x" * 300)]:
        path = re.sub(r"<(int|id):\w+>", odd_id, route)
        path = re.sub(r"<(?:str|path|slug|uuid)?:?\w+>", odd_text, path)
        paths.append("/" + path.replace("\\", ""))
    return paths


@pytest.fixture
def visitors(parent, db) -> dict[str, Client]:  # noqa: ANN001
    invoice = InvoiceFactory(family=parent.family)
    PaymentFactory(family=parent.family, allocations={invoice: "5.00"})
    ReportFactory(family=parent.family, invoice=invoice)
    clients = {"anonymous": Client(raise_request_exception=False)}
    family = Client(raise_request_exception=False)
    family.force_login(parent)
    clients["family"] = family
    for name, superuser in [("agent", False), ("administrator", True)]:
        user = StaffFactory(is_superuser=superuser)
        if not superuser:
            from django.contrib.auth.models import Group

            from familles.roles import AGENT_GROUP

            user.groups.add(Group.objects.get(name=AGENT_GROUP))
        staff = Client(raise_request_exception=False)
        staff_login_with_totp(staff, user, STAFF_PASSWORD, give_totp(user))
        clients[name] = staff
    return clients


def test_no_hostile_request_is_a_server_error(visitors):
    errors, count = [], 0
    paths = [path for route in routes() for path in concrete(route)]
    paths = [path for path in paths if not SKIP.search(path)]
    for who, client in visitors.items():
        for path in paths:
            for value in HOSTILE:
                data = dict.fromkeys(NAMES, value)
                for method in ("get", "post"):
                    response = getattr(client, method)(path, data)
                    count += 1
                    # /health/ answers 503 when the portal is not ready: by design.
                    unready = path == "/health/" and response.status_code == 503
                    if response.status_code >= 500 and not unready:
                        errors.append(
                            f"{response.status_code} {who} {method.upper()} {path} "
                            f"{value[:12]!r}"
                        )
            count += 1
            if client.put(path).status_code >= 500:
                errors.append(f"{who} PUT {path}")

    print(f"{count} hostile requests, {len(errors)} server errors")
    assert count > 1000
    assert errors == []
