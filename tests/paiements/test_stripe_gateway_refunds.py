"""The Stripe edge's refunds, driven against the local stand-in: euros in and
out, cents only on the wire; refusals and outages told apart; refund events
signed and read. No database."""

from __future__ import annotations

import datetime
import json
import secrets
import socket
from decimal import Decimal
from typing import Any

import pytest
import stripe
from django.utils import timezone

from devtools.stripe_standin import StripeStandin
from paiements import stripe_gateway
from paiements.stripe_gateway import (
    GatewayUnavailable,
    RefundRefused,
    RemoteRefund,
    RemoteSession,
    UnknownRefund,
    event_object_id,
    event_verify,
    refund_create,
    refund_retrieve,
)


def paid_session(standin: StripeStandin) -> RemoteSession:
    """A session of 28.40 € paid on the stand-in, its webhook taken."""
    session = stripe_gateway.session_create(
        idempotency_key=f"checkout-{secrets.token_hex(8)}",
        lines=[("Cantine octobre", Decimal("25.00")), ("Garderie", Decimal("3.40"))],
        metadata={"checkout": "42"},
        success_url="http://portal.test/ok",
        cancel_url="http://portal.test/annule",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    assert standin.pay(session.id) == "paid"
    standin.take_deliveries()
    return stripe_gateway.session_retrieve(session.id)


def refund(intent: str, amount: str, key: str) -> RemoteRefund:
    return refund_create(
        payment_intent=intent,
        amount=Decimal(amount),
        idempotency_key=key,
        metadata={"refund": key},
    )


def on_stripe(standin: StripeStandin) -> list[dict[str, Any]]:
    """The refunds as the stand-in holds them, newest first."""
    api = stripe.StripeClient("sk_test_x", base_addresses={"api": standin.base_url})
    return [refund.to_dict() for refund in api.v1.refunds.list().data]


def signed(body: bytes, settings: Any) -> str:
    return stripe.WebhookSignature.generate_signature_header(
        body.decode(), settings.STRIPE_WEBHOOK_SECRET
    )


def test_a_session_tells_its_currency_and_payment_intent(standin: StripeStandin):
    open_session = stripe_gateway.session_create(
        idempotency_key="checkout-open",
        lines=[("Cantine", Decimal("12.50"))],
        metadata={},
        success_url="http://portal.test/ok",
        cancel_url="http://portal.test/annule",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    assert (open_session.currency, open_session.payment_intent) == ("eur", "")

    paid = paid_session(standin)

    assert paid.paid and paid.currency == "eur"
    assert paid.payment_intent.startswith("pi_")
    # Built by hand (older callers), the new fields have their defaults.
    by_hand = RemoteSession(
        id="cs_1", url="", status="open", paid=False, amount=Decimal(0), metadata={}
    )
    assert (by_hand.currency, by_hand.payment_intent) == ("eur", "")


def test_refund_create_in_euros(standin: StripeStandin):
    session = paid_session(standin)

    created = refund(session.payment_intent, "10.05", "refund-1")

    assert created == RemoteRefund(
        id=created.id,
        status="succeeded",
        amount=Decimal("10.05"),
        currency="eur",
        payment_intent=session.payment_intent,
        metadata={"refund": "refund-1"},
    )
    [sent] = on_stripe(standin)
    assert (sent["amount"], sent["currency"]) == (1005, "eur")
    assert sent["reason"] == "requested_by_customer"
    assert refund_retrieve(created.id) == created


def test_refund_create_repeated_with_its_key_is_one_refund(standin: StripeStandin):
    session = paid_session(standin)

    first = refund(session.payment_intent, "10.00", "refund-1")
    again = refund(session.payment_intent, "10.00", "refund-1")

    assert again == first
    assert len(on_stripe(standin)) == 1
    # The key reused for another amount is a caller's mistake: refused.
    with pytest.raises(RefundRefused):
        refund(session.payment_intent, "5.00", "refund-1")


def test_partial_refunds_up_to_the_payment(standin: StripeStandin):
    session = paid_session(standin)

    refund(session.payment_intent, "20.00", "refund-1")
    refund(session.payment_intent, "8.40", "refund-2")

    with pytest.raises(RefundRefused, match="already been refunded"):
        refund(session.payment_intent, "0.01", "refund-3")
    assert [r["amount"] for r in on_stripe(standin)] == [840, 2000]


def test_refund_over_what_is_left_is_refused(standin: StripeStandin):
    session = paid_session(standin)
    refund(session.payment_intent, "20.00", "refund-1")

    with pytest.raises(RefundRefused, match=r"\(€8\.41\).*\(€8\.40\)"):
        refund(session.payment_intent, "8.41", "refund-2")


@pytest.mark.parametrize("intent", ["pi_unknown", ""])
def test_refund_of_an_unknown_or_unpaid_intent_is_refused(
    standin: StripeStandin, intent: str
):
    with pytest.raises(RefundRefused):
        refund(intent, "1.00", "refund-1")


def test_unknown_refund(standin: StripeStandin):
    with pytest.raises(UnknownRefund):
        refund_retrieve("re_unknown")


def test_stripe_out_of_reach(settings: Any):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there any more.
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"

    with pytest.raises(GatewayUnavailable):
        refund("pi_1", "1.00", "refund-1")
    with pytest.raises(GatewayUnavailable):
        refund_retrieve("re_1")


def test_pending_refund_fails_with_signed_events(standin: StripeStandin):
    session = paid_session(standin)
    standin.refunds_pending = True

    pending = refund(session.payment_intent, "28.40", "refund-1")
    assert pending.status == "pending"
    standin.settle_refund(pending.id, "failed", "lost_or_stolen_card")

    deliveries = standin.take_deliveries()
    events = [event_verify(d.payload, standin.sign(d.payload)) for d in deliveries]
    assert [e["type"] for e in events] == [
        "refund.created",
        "refund.updated",
        "refund.failed",
    ]
    assert {e["type"] for e in events} <= stripe_gateway.REFUND_EVENTS
    assert [event_object_id(e) for e in events] == [pending.id] * 3
    failed = refund_retrieve(pending.id)
    assert (failed.status, failed.failure_reason) == ("failed", "lost_or_stolen_card")
    assert failed.amount == Decimal("28.40")
    # Its amount is back: it can be refunded again.
    assert refund(session.payment_intent, "28.40", "refund-2").status == "pending"


def test_event_sets():
    assert {
        "refund.created",
        "refund.updated",
        "refund.failed",
    } == stripe_gateway.REFUND_EVENTS
    assert stripe_gateway.ALL_HANDLED_EVENTS == (
        stripe_gateway.HANDLED_EVENTS | stripe_gateway.REFUND_EVENTS
    )
    assert "checkout.session.completed" in stripe_gateway.ALL_HANDLED_EVENTS


@pytest.mark.parametrize("body", [b"[]", b"null", b'"evt"', b"1", b"{", b"\xff"])
def test_event_verify_refuses_a_signed_body_that_is_no_object(
    settings: Any, body: bytes
):
    signature = signed(body.decode(errors="replace").encode(), settings)

    with pytest.raises(ValueError):
        event_verify(body, signature)


def test_event_verify_refuses_a_bad_signature(settings: Any):
    body = b'{"id": "evt_1", "type": "refund.created"}'

    with pytest.raises(ValueError):
        event_verify(body, signed(b"{}", settings))
    with pytest.raises(ValueError):
        event_verify(body, None)


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"id": "evt_1", "data": {"object": {"id": "re_1"}}},
        {"type": "refund.created", "data": {"object": {"id": "re_1"}}},
        {"id": "evt_1", "type": "refund.created"},
        {"id": "evt_1", "type": "refund.created", "data": []},
        {"id": "evt_1", "type": "refund.created", "data": {}},
        {"id": "evt_1", "type": "refund.created", "data": {"object": ["re_1"]}},
        {"id": "evt_1", "type": "refund.created", "data": {"object": {}}},
        {"id": "evt_1", "type": "refund.created", "data": {"object": {"id": 7}}},
        {"id": "evt_1", "type": "refund.created", "data": {"object": {"id": ""}}},
        {"id": 1, "type": "refund.created", "data": {"object": {"id": "re_1"}}},
        {"id": "evt_1", "type": None, "data": {"object": {"id": "re_1"}}},
    ],
)
def test_event_object_id_of_a_malformed_signed_event(settings: Any, event: Any):
    body = json.dumps(event).encode()

    verified = event_verify(body, signed(body, settings))

    assert event_object_id(verified) is None
    assert event_object_id(event) is None


def test_event_object_id_of_a_well_formed_event(settings: Any):
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "refund.updated",
        "data": {"object": {"id": "re_1", "object": "refund"}},
    }
    body = json.dumps(event).encode()

    assert event_object_id(event_verify(body, signed(body, settings))) == "re_1"
    assert event_object_id(event) == "re_1"


@pytest.mark.parametrize("value", [None, [], "evt_1", 1])
def test_event_object_id_of_no_event(value: Any):
    assert event_object_id(value) is None
