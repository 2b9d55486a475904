"""What the payment services ask of an online payment provider, whichever it
is: open a payment for some invoices, read its state, close it. Stripe
Checkout (`stripe_gateway`) and PayFiP (`payfip_gateway`) each answer it;
`providers.provider()` gives the one a checkout uses. The services never
speak to a provider any other way, so the rules (window, block, several
invoices in one payment, money recorded exactly once) are the same for all.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from factures.money import CENT


class GatewayUnavailable(Exception):
    """The provider could not be reached or failed: try again later."""


class UnknownSession(Exception):
    """The provider does not know this payment (not ours, or another
    account's): retrying will not help."""


@dataclass(frozen=True)
class RemoteSession:
    """What the provider says about a payment it was asked for."""

    id: str
    url: str
    status: str  # open, complete, expired (closed without money)
    paid: bool
    amount: Decimal
    metadata: dict[str, str] = field(default_factory=dict)
    currency: str = "eur"  # lower-case ISO code
    payment_intent: str = ""  # Stripe's, once paid; "" before and elsewhere


@dataclass(frozen=True)
class CheckoutRequest:
    """One online payment of some invoices, as the services ask for it."""

    idempotency_key: str
    # Stands for the group of invoices at the provider (PayFiP's refdet):
    # letters and digits only.
    reference: str
    lines: list[tuple[str, Decimal]]
    metadata: dict[str, str]
    success_url: str
    cancel_url: str
    # Where the provider tells the portal of a payment's outcome.
    notify_url: str
    expires_at: datetime.datetime
    email: str | None = None

    @property
    def total(self) -> Decimal:
        return sum((amount for _label, amount in self.lines), Decimal(0))


class Provider(Protocol):
    """An online payment provider, as the services see it."""

    # `CheckoutSession.Provider`'s value.
    name: str
    # Recorded as the payment's method (`Payment.Method`).
    payment_method: str
    # The smallest amount the provider takes, and whether it needs the
    # payer's e-mail.
    min_amount: Decimal
    email_required: bool

    @property
    def session_minutes(self) -> int:
        """How long a payment stays payable on the provider's page."""
        ...

    @property
    def min_expiry(self) -> datetime.timedelta:
        """The least time left before a payment's expiry that the provider
        accepts when the payment is opened; less, and a fresh expiry is
        chosen."""
        ...

    def session_create(self, request: CheckoutRequest) -> RemoteSession: ...

    def session_retrieve(
        self, remote_id: str, *, expires_at: datetime.datetime
    ) -> RemoteSession: ...

    def session_expire(
        self, remote_id: str, *, expires_at: datetime.datetime
    ) -> RemoteSession:
        """Close the payment if the provider can (Stripe); otherwise its
        state, which the provider closes by itself (PayFiP)."""
        ...


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)
