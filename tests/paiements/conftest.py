import contextlib
import datetime
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.urls import reverse

from devtools.payfip_standin import PayfipStandin
from devtools.stripe_standin import DECLINED_CARD, PAID_CARD, StripeStandin
from factures.models import Invoice
from paiements.models import CheckoutSession
from paiements.services import card_checkout_start, new_idempotency_key
from tests.factories import (
    FamilyFactory,
    GuardianFactory,
    InvoiceFactory,
    ParentFactory,
)

# A day inside the online window, in Guadeloupe.
IN_WINDOW = "2026-12-05 10:00 -04:00"


def start(family, invoices, key=None, today=datetime.date(2026, 12, 5)):  # noqa: ANN001, ANN201
    """Open an online payment with the commune's provider (on a day of the
    online window unless told otherwise; `today=None`: the clock's)."""
    return card_checkout_start(
        family=family,
        invoices=invoices,
        idempotency_key=key or new_idempotency_key(),
        user=None,
        return_url="http://testserver/paiements/retour/",
        cancel_url="http://testserver/paiements/annule/",
        today=today,
    )


def due(invoice) -> Decimal:  # noqa: ANN001
    return Invoice.objects.with_balance().get(pk=invoice.pk).due


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


# --- Both providers through one surface ------------------------------------------
# A payment test that takes `online` runs once with Stripe's stand-in and once
# with PayFiP's: the rules (window, block, several invoices, money recorded
# once) must not depend on the provider.

DEAD_ADDRESS = "http://127.0.0.1:9"  # nothing listens there


class StripeOnline:
    name = "stripe"

    def __init__(self, standin: StripeStandin, settings) -> None:  # noqa: ANN001
        self.standin, self.settings = standin, settings

    def pay(self, checkout: CheckoutSession, *, declined: bool = False) -> str:
        """The parent pays (or is declined) on the provider's page; returns
        "paid", "declined" or "expired"."""
        card = DECLINED_CARD if declined else PAID_CARD
        return self.standin.pay(checkout.remote_id, card_number=card)

    def take(self) -> list:
        return self.standin.take_deliveries()

    def post(self, client, delivery):  # noqa: ANN001, ANN201
        """Post one notification taken from the stand-in to the portal."""
        return post_webhook(
            client, delivery.payload, self.standin.sign(delivery.payload)
        )

    def deliver(self, client, *, duplicate: bool = False, drop: bool = False):  # noqa: ANN001, ANN201
        return deliver(client, self.standin, duplicate=duplicate, drop=drop)

    @contextlib.contextmanager
    def unreachable(self) -> Iterator[None]:
        self.settings.STRIPE_API_BASE = DEAD_ADDRESS
        try:
            yield
        finally:
            self.settings.STRIPE_API_BASE = self.standin.base_url


class PayfipOnline:
    name = "payfip"

    def __init__(self, standin: PayfipStandin, settings) -> None:  # noqa: ANN001
        self.standin, self.settings = standin, settings

    def pay(self, checkout: CheckoutSession, *, declined: bool = False) -> str:
        try:
            outcome = self.standin.pay(
                checkout.remote_id, outcome="refused" if declined else "paid"
            )
        except ValueError:  # finished or past its 15 minutes
            return "expired"
        return "declined" if outcome == "refused" else outcome

    def take(self) -> list:
        return self.standin.take_deliveries()

    def post(self, client, delivery):  # noqa: ANN001, ANN201
        return client.post(
            reverse("paiements:payfip_notification"),
            data=delivery.body,
            content_type="application/x-www-form-urlencoded",
        )

    def deliver(self, client, *, duplicate: bool = False, drop: bool = False):  # noqa: ANN001, ANN201
        deliveries = self.take()
        if drop:
            return []
        return [
            self.post(client, delivery)
            for delivery in deliveries
            for _ in range(2 if duplicate else 1)
        ]

    @contextlib.contextmanager
    def unreachable(self) -> Iterator[None]:
        self.settings.PAYFIP_SERVICE_URL = DEAD_ADDRESS + "/tpa/services/securite"
        try:
            yield
        finally:
            self.settings.PAYFIP_SERVICE_URL = self.standin.soap_url


@pytest.fixture
def payfip_standin(settings):  # noqa: ANN001, ANN201
    """The local PayFiP stand-in on a free port, chosen as the commune's
    provider; notifications are queued for the test to deliver."""
    server = PayfipStandin(auto_deliver=False)
    server.start()
    settings.PORTAIL_PAYMENT_PROVIDER = "payfip"
    settings.PAYFIP_NUMCLI = "000000"
    settings.PAYFIP_SERVICE_URL = server.soap_url
    settings.PAYFIP_PAYMENT_URL = server.payment_url
    settings.PAYFIP_TIMEOUT_SECONDS = 5
    yield server
    server.stop()


@pytest.fixture(params=["stripe", "payfip"])
def online(request, settings):  # noqa: ANN001, ANN201
    """Each provider in turn, with its stand-in, behind one surface."""
    if request.param == "stripe":
        return StripeOnline(request.getfixturevalue("standin"), settings)
    return PayfipOnline(request.getfixturevalue("payfip_standin"), settings)
