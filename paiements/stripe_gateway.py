"""The Stripe edge: the only module that speaks to Stripe (or to the local
stand-in, chosen by settings alone). Amounts become integer cents here and
in the other provider's edge (`payfip_gateway`), nowhere else. `PROVIDER`
answers the services' provider interface (`paiements.remote.Provider`)."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from stripe._base_address import BaseAddresses
from stripe.params._refund_create_params import RefundCreateParams
from stripe.params.checkout._session_create_params import SessionCreateParams

from paiements.models import Payment
from paiements.remote import (
    CheckoutRequest,
    GatewayUnavailable,
    RemoteSession,
    UnknownSession,
    from_cents,
    to_cents,
)

__all__ = [
    "GatewayUnavailable",
    "RemoteSession",
    "UnknownSession",
    "PROVIDER",
]

# The Checkout event types the webhook acts on; every other type is
# acknowledged and ignored.
HANDLED_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.expired",
    }
)
# The refund event types (their data.object is a refund). Since API version
# 2024-10-28.acacia Stripe sends them for every refund; the older
# charge.refund.updated would only be a second trigger for the same change.
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed"})
ALL_HANDLED_EVENTS = HANDLED_EVENTS | REFUND_EVENTS


class RefundRefused(Exception):
    """Stripe refused the refund (more than is left to refund, unknown or
    unpaid payment intent…): retrying will not help."""


class UnknownRefund(Exception):
    """Stripe does not know this refund: retrying will not help."""


@dataclass(frozen=True)
class RemoteRefund:
    """What Stripe says about a refund."""

    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    amount: Decimal
    currency: str  # lower-case ISO code
    payment_intent: str
    metadata: dict[str, str]
    failure_reason: str = ""  # when failed: expired_or_canceled_card…


def _client() -> stripe.StripeClient:
    base: BaseAddresses = (
        {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
    )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses=base, max_network_retries=1
    )


def _id_of(value: Any) -> str:
    """The id of a reference that may be expanded into its object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _remote(stripe_session: Any) -> RemoteSession:
    session = stripe_session.to_dict()
    return RemoteSession(
        id=session["id"],
        url=session.get("url") or "",
        status=session["status"],
        paid=session.get("payment_status") == "paid",
        amount=from_cents(session.get("amount_total") or 0),
        metadata=dict(session.get("metadata") or {}),
        currency=(session.get("currency") or "").lower(),
        payment_intent=_id_of(session.get("payment_intent")),
    )


def _remote_refund(stripe_refund: Any) -> RemoteRefund:
    refund = stripe_refund.to_dict()
    return RemoteRefund(
        id=refund["id"],
        status=refund.get("status") or "",
        amount=from_cents(refund.get("amount") or 0),
        currency=(refund.get("currency") or "").lower(),
        payment_intent=_id_of(refund.get("payment_intent")),
        metadata=dict(refund.get("metadata") or {}),
        failure_reason=refund.get("failure_reason") or "",
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


# Stripe refuses a Checkout Session that expires in less than 30 minutes; one
# more for the request to reach it.
STRIPE_MIN_EXPIRY = datetime.timedelta(minutes=31)
# Stripe's smallest charge in euros.
STRIPE_MIN_AMOUNT = Decimal("0.50")


class StripeProvider:
    """Stripe Checkout behind the services' provider interface."""

    name = "stripe"
    payment_method = Payment.Method.CARD_ONLINE.value
    min_amount = STRIPE_MIN_AMOUNT
    email_required = False

    @property
    def session_minutes(self) -> int:
        return int(settings.STRIPE_SESSION_MINUTES)

    @property
    def min_expiry(self) -> datetime.timedelta:
        return STRIPE_MIN_EXPIRY

    def session_create(self, request: CheckoutRequest) -> RemoteSession:
        # Read from the module at each call, so that a test may stand in.
        return session_create(
            idempotency_key=request.idempotency_key,
            lines=request.lines,
            metadata=request.metadata,
            success_url=request.success_url,
            cancel_url=request.cancel_url,
            expires_at=request.expires_at,
            email=request.email,
        )

    def session_retrieve(
        self, remote_id: str, *, expires_at: datetime.datetime
    ) -> RemoteSession:
        return session_retrieve(remote_id)

    def session_expire(
        self, remote_id: str, *, expires_at: datetime.datetime
    ) -> RemoteSession:
        return session_expire(remote_id)


PROVIDER = StripeProvider()


def refund_create(
    *,
    payment_intent: str,
    amount: Decimal,
    idempotency_key: str,
    metadata: dict[str, str],
) -> RemoteRefund:
    """Refund part or all of a card payment to the card it came from. The
    idempotency key makes a repeated request return the same refund; a
    refusal (more than is left to refund, unknown payment intent, the key
    reused for another amount) raises RefundRefused."""
    params: RefundCreateParams = {
        "payment_intent": payment_intent,
        "amount": to_cents(amount),
        "metadata": metadata,
        "reason": "requested_by_customer",
    }
    try:
        refund = _client().v1.refunds.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    except stripe.InvalidRequestError as error:
        # Another request holds the payment for a moment: a retry will pass.
        if error.code == "lock_timeout":
            raise GatewayUnavailable(str(error)) from error
        raise RefundRefused(error.user_message or str(error)) from error
    except stripe.IdempotencyError as error:
        raise RefundRefused(error.user_message or str(error)) from error
    except stripe.StripeError as error:
        raise GatewayUnavailable(str(error)) from error
    return _remote_refund(refund)


def refund_retrieve(refund_id: str) -> RemoteRefund:
    try:
        return _remote_refund(_client().v1.refunds.retrieve(refund_id))
    except stripe.InvalidRequestError as error:
        raise UnknownRefund(str(error)) from error
    except stripe.StripeError as error:
        raise GatewayUnavailable(str(error)) from error


def event_verify(payload: bytes, signature: str | None) -> Any:
    """The event (a stripe Event), if the signature is Stripe's (or the
    stand-in's) for this body and recent and the body is a JSON object;
    ValueError otherwise."""
    try:
        stripe.WebhookSignature.verify_header(
            payload,
            signature or "",
            settings.STRIPE_WEBHOOK_SECRET,
            stripe.Webhook.DEFAULT_TOLERANCE,
        )
        body = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise ValueError(str(error)) from error
    # stripe.Webhook.construct_event fails with AttributeError on a signed
    # `[]` or `null`: the shape is checked here instead.
    if not isinstance(body, dict):
        raise ValueError("The event is not a JSON object.")
    return stripe.Event.construct_from(body, None)


def event_object_id(event: Any) -> str | None:
    """The id of the event's object, if the event has the shape of one (a
    str type and id, a data.object with a str id); None otherwise."""
    if isinstance(event, stripe.StripeObject):
        # A stripe object is not a dict (its .get raises): read its data.
        event = event.to_dict()
    if not isinstance(event, dict):
        return None
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    object_id = obj.get("id") if isinstance(obj, dict) else None
    if not all(
        isinstance(value, str) and value
        for value in (event.get("type"), event.get("id"), object_id)
    ):
        return None
    return object_id
