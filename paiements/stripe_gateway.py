"""The Stripe edge: the only module that speaks to Stripe (or to the local
stand-in, chosen by settings alone). Amounts become integer cents here and
nowhere else."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from stripe._base_address import BaseAddresses
from stripe.params.checkout._session_create_params import SessionCreateParams

from factures.money import CENT

# The event types the webhook acts on; every other type is acknowledged and
# ignored.
HANDLED_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.expired",
}


class GatewayUnavailable(Exception):
    """Stripe could not be reached or failed: try again later."""


class UnknownSession(Exception):
    """Stripe does not know this session (not ours, or another account's):
    retrying will not help."""


@dataclass(frozen=True)
class RemoteSession:
    """What Stripe says about a Checkout Session."""

    id: str
    url: str
    status: str  # open, complete, expired
    paid: bool
    amount: Decimal
    metadata: dict[str, str]


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_value())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


def _client() -> stripe.StripeClient:
    base: BaseAddresses = (
        {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
    )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses=base, max_network_retries=1
    )


def _remote(stripe_session: Any) -> RemoteSession:
    session = stripe_session.to_dict()
    return RemoteSession(
        id=session["id"],
        url=session.get("url") or "",
        status=session["status"],
        paid=session.get("payment_status") == "paid",
        amount=from_cents(session.get("amount_total") or 0),
        metadata=dict(session.get("metadata") or {}),
    )


def session_create(
    *,
    idempotency_key: str,
    lines: list[tuple[str, Decimal]],
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    expires_at: datetime.datetime,
    email: str | None = None,
) -> RemoteSession:
    """One Checkout Session with one line per invoice. The idempotency key
    makes a repeated request (double click, retry) return the same session."""
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": to_cents(amount),
                    "product_data": {"name": label},
                },
            }
            for label, amount in lines
        ],
        "metadata": metadata,
        "client_reference_id": metadata.get("checkout", ""),
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
        "payment_method_types": ["card"],  # type: ignore[typeddict-unknown-key]
    }
    if email:
        params["customer_email"] = email
    try:
        session = _client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.StripeError as error:
        raise GatewayUnavailable(str(error)) from error
    return _remote(session)


def session_retrieve(session_id: str) -> RemoteSession:
    try:
        return _remote(_client().v1.checkout.sessions.retrieve(session_id))
    except stripe.InvalidRequestError as error:
        raise UnknownSession(str(error)) from error
    except stripe.StripeError as error:
        raise GatewayUnavailable(str(error)) from error


def session_expire(session_id: str) -> RemoteSession:
    try:
        return _remote(_client().v1.checkout.sessions.expire(session_id))
    except stripe.InvalidRequestError:
        # Already complete or expired: the caller re-reads it.
        return session_retrieve(session_id)
    except stripe.StripeError as error:
        raise GatewayUnavailable(str(error)) from error


def event_verify(payload: bytes, signature: str | None) -> Any:
    """The event, if the signature is Stripe's (or the stand-in's) for this
    body and recent; ValueError otherwise."""
    try:
        return stripe.Webhook.construct_event(
            payload, signature or "", settings.STRIPE_WEBHOOK_SECRET
        )
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise ValueError(str(error)) from error
