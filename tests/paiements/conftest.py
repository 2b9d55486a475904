import datetime
import urllib.parse
import urllib.request

import pytest
from django.urls import reverse

from devtools.stripe_standin import StripeStandin
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    InvoiceFactory,
    ParentFactory,
)

# A day inside the online window, in Guadeloupe.
IN_WINDOW = "2026-12-05 10:00 -04:00"


@pytest.fixture
def standin(settings):  # noqa: ANN001, ANN201
    """The local Stripe stand-in on a free port; webhooks are queued for the
    test to deliver (and to drop, duplicate or reorder)."""
    server = StripeStandin(
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET, auto_deliver=False
    )
    server.start()
    settings.STRIPE_API_BASE = server.base_url
    yield server
    server.stop()


def post_webhook(client, payload: bytes, signature: str):  # noqa: ANN001, ANN201
    """Post a body to the portal's Stripe webhook with this signature (the
    stand-in's `sign(payload)` signs it as Stripe would)."""
    return client.post(
        reverse("paiements:stripe_webhook"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def deliver(client, standin, *, duplicate=False, reverse_order=False, drop=False):  # noqa: ANN001, ANN201
    """Post the stand-in's queued webhooks to the portal; returns the responses."""
    deliveries = standin.take_deliveries()
    if drop:
        return []
    if reverse_order:
        deliveries.reverse()
    responses = []
    for delivery in deliveries:
        for _ in range(2 if duplicate else 1):
            # Signed at sending time, as Stripe does for each attempt.
            responses.append(
                post_webhook(client, delivery.payload, standin.sign(delivery.payload))
            )
    return responses


def pay_on_standin_page(checkout_url: str, card: str = "4242 4242 4242 4242") -> str:
    """Submit the stand-in's hosted page as a browser would; returns where it
    redirects (or the page when it does not)."""
    data = urllib.parse.urlencode(
        {
            "card_number": card,
            "expiry": "12/30",
            "cvc": "123",
            "name": "Josiane Dorville",
        }
    ).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(checkout_url, data=data, timeout=10) as response:  # noqa: S310 - local stand-in
            return response.read().decode()
    except urllib.error.HTTPError as redirect:
        return redirect.headers.get("Location", "")


@pytest.fixture
def paying_family(db):  # noqa: ANN001, ANN201
    family = FamilyFactory(name="Dorville")
    GuardianFactory(family=family, email="josiane@example.org")
    return family


@pytest.fixture
def paying_parent(paying_family):  # noqa: ANN001, ANN201
    return ParentFactory(family=paying_family)


@pytest.fixture
def two_invoices(paying_family):  # noqa: ANN001, ANN201
    return [
        InvoiceFactory(family=paying_family, period=datetime.date(2026, 9, 1)),
        InvoiceFactory(family=paying_family, period=datetime.date(2026, 10, 1)),
    ]
