"""The local Stripe stand-in, driven through the official stripe library (as
the portal drives it) and through plain HTTP for the hosted page. No
database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.core.management import CommandError, call_command

from devtools.management.commands import stripe_standin as command_module
from devtools.stripe_standin import API_VERSION, StripeStandin, format_amount

SECRET = "whsec_test_standin"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 10.0


class Clock:
    """A `now` for the stand-in that tests can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Receiver:
    """A tiny webhook endpoint recording what it receives; answers with the
    queued statuses first, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[tuple[bytes, dict[str, str], int]] = []
        self.statuses = list(statuses or [])
        self.condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.condition:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append((body, dict(self.headers), status))
                    receiver.condition.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook/"

    def wait_for(self, count: int) -> list[tuple[bytes, dict[str, str], int]]:
        with self.condition:
            self.condition.wait_for(
                lambda: len(self.received) >= count, timeout=WAIT_SECONDS
            )
            assert len(self.received) >= count, self.received
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def standin(request: pytest.FixtureRequest, clock: Clock) -> StripeStandin:
    server = StripeStandin(webhook_secret=SECRET, auto_deliver=False, now=clock)
    server.start()
    request.addfinalizer(server.stop)
    return server


@pytest.fixture
def client(standin: StripeStandin) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_x", base_addresses={"api": standin.base_url}, max_network_retries=0
    )


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Receiver:
    endpoint = Receiver()
    request.addfinalizer(endpoint.close)
    return endpoint


@pytest.fixture
def delivering(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[Receiver], tuple[StripeStandin, stripe.StripeClient]]]:
    """Start a stand-in delivering webhooks to a receiver; it retries a failed
    delivery at once unless given a back-off."""

    def start(
        endpoint: Receiver, backoff: tuple[float, ...] = (0.0,)
    ) -> tuple[StripeStandin, stripe.StripeClient]:
        server = StripeStandin(
            webhook_secret=SECRET, webhook_url=endpoint.url, retry_backoff=backoff
        )
        server.start()
        request.addfinalizer(server.stop)
        api = stripe.StripeClient("sk_test_x", base_addresses={"api": server.base_url})
        return server, api

    yield start


def params(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 2,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1250,
                    "product_data": {"name": "Cantine octobre"},
                },
            },
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 340,
                    "product_data": {"name": "Garderie"},
                },
            },
        ],
        "metadata": {"checkout": "42"},
        "client_reference_id": "42",
        "success_url": "http://portal.test/ok?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://portal.test/annule",
        "payment_method_types": ["card"],
    }
    values.update(overrides)
    return values


def new_session(api: stripe.StripeClient, **overrides: Any) -> Any:
    return api.v1.checkout.sessions.create(params=params(**overrides))


def event_of(payload: bytes) -> dict[str, Any]:
    return json.loads(payload)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(url: str, form: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """Status, headers and text of a GET (or form POST), redirects not
    followed."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, data=data, timeout=WAIT_SECONDS) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read().decode()


# --- API ------------------------------------------------------------------------


def test_create_retrieve_list(standin: StripeStandin, client: stripe.StripeClient):
    session = new_session(client)

    assert session.object == "checkout.session"
    assert re.fullmatch(r"cs_test_[A-Za-z0-9]+", session.id)
    assert session.amount_total == 2 * 1250 + 340
    assert session.amount_subtotal == 2840
    assert session.currency == "eur"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.url == f"{standin.base_url}/checkout/{session.id}"
    assert session.metadata.to_dict() == {"checkout": "42"}
    assert session.client_reference_id == "42"
    assert session.payment_intent is None
    assert session.livemode is False
    assert session.expires_at - session.created == 24 * 3600

    fetched = client.v1.checkout.sessions.retrieve(session.id)
    assert fetched.id == session.id
    assert fetched.amount_total == 2840

    second, third = new_session(client), new_session(client)
    page = client.v1.checkout.sessions.list({"limit": 2})
    assert [s.id for s in page.data] == [third.id, second.id]
    assert page.has_more is True
    rest = client.v1.checkout.sessions.list({"limit": 2, "starting_after": second.id})
    assert [s.id for s in rest.data] == [session.id]
    assert rest.has_more is False
    future = int(time.time()) + 3600
    assert client.v1.checkout.sessions.list({"created": {"gte": future}}).data == []

    standin.pay(second.id)
    complete = client.v1.checkout.sessions.list({"status": "complete"})
    assert [s.id for s in complete.data] == [second.id]


def test_expires_at_limits(client: stripe.StripeClient):
    now = int(time.time())
    # Exactly 30 minutes ahead, computed a moment before the call, is fine.
    assert new_session(client, expires_at=now + 1800).expires_at == now + 1800
    for too_soon_or_late in (now + 20 * 60, now + 25 * 3600):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            new_session(client, expires_at=too_soon_or_late)
        assert caught.value.param == "expires_at"


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"success_url": None}, "success_url"),
        ({"success_url": "javascript:alert(1)"}, "success_url"),
        ({"line_items": None}, "line_items"),
        (
            {"line_items": [{"price_data": {"currency": "eur", "unit_amount": 5}}]},
            "line_items[0][price_data][product_data][name]",
        ),
        ({"mode": "subscription"}, "mode"),
    ],
)
def test_create_rejects_bad_parameters(
    client: stripe.StripeClient, overrides: dict[str, Any], param: str
):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        new_session(client, **overrides)
    assert caught.value.http_status == 400
    assert caught.value.param == param


def test_idempotency_key(client: stripe.StripeClient):
    options: Any = {"idempotency_key": "checkout-42-attempt-1"}
    first = client.v1.checkout.sessions.create(params=params(), options=options)
    again = client.v1.checkout.sessions.create(params=params(), options=options)

    assert again.id == first.id
    assert len(client.v1.checkout.sessions.list().data) == 1

    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(
            params=params(client_reference_id="43"), options=options
        )
    assert len(client.v1.checkout.sessions.list().data) == 1


def test_expire(standin: StripeStandin, client: stripe.StripeClient):
    session = new_session(client)

    expired = client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert expired.url is None
    events = client.v1.events.list({"type": "checkout.session.expired"}).data
    assert [e.data.object.id for e in events] == [session.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
    assert standin.pay(session.id) == "expired"


def test_unknown_session(client: stripe.StripeClient):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve("cs_test_unknown")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"


def test_api_key_required(standin: StripeStandin):
    status, _, body = http(f"{standin.base_url}/v1/checkout/sessions")
    assert status == 401
    assert json.loads(body)["error"]["type"] == "invalid_request_error"

    keyless = stripe.StripeClient("", base_addresses={"api": standin.base_url})
    with pytest.raises(stripe.AuthenticationError):
        keyless.v1.checkout.sessions.list()


def test_api_version_is_the_library_one():
    from stripe._api_version import _ApiVersion

    assert API_VERSION == _ApiVersion.CURRENT


def test_module_imports_no_django():
    code = (
        "import sys, devtools.stripe_standin; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'stripe'}))"
    )
    # A fixed command with this interpreter.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


# --- Paying, events and signed deliveries ---------------------------------------


def test_pay_completes_and_signs_the_webhook(
    standin: StripeStandin, client: stripe.StripeClient
):
    session = new_session(client)

    assert standin.pay(session.id) == "paid"

    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert paid.payment_intent.startswith("pi_")
    assert paid.url is None
    events = client.v1.events.list({"type": "checkout.session.completed"}).data
    assert len(events) == 1
    assert events[0].data.object.id == session.id
    assert events[0].data.object.payment_status == "paid"
    assert events[0].api_version == API_VERSION

    [delivery] = standin.take_deliveries()
    assert standin.take_deliveries() == []
    assert delivery.event_id == events[0].id
    assert delivery.event_type == "checkout.session.completed"
    assert delivery.headers["Content-Type"] == "application/json"
    signature = delivery.headers["Stripe-Signature"]
    event = stripe.Webhook.construct_event(delivery.payload, signature, SECRET)
    assert event.type == "checkout.session.completed"
    assert event.data.object.id == session.id
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.payload, signature, "whsec_wrong")
    tampered = delivery.payload.replace(b'"paid"', b'"unpaid"')
    assert tampered != delivery.payload
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, signature, SECRET)

    assert standin.pay(session.id) == "not_open"


def test_sign_matches_the_library(standin: StripeStandin):
    payload = b'{"id": "evt_1"}'
    expected = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), SECRET, timestamp=1700000000
    )
    assert standin.sign(payload, timestamp=1700000000) == expected


def test_declined_card_keeps_the_session_open(
    standin: StripeStandin, client: stripe.StripeClient
):
    session = new_session(client)

    assert standin.pay(session.id, "4000 0000 0000 0002") == "declined"

    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert client.v1.events.list().data == []
    assert standin.take_deliveries() == []
    assert standin.pay(session.id, "4242 4242 4242 4242") == "paid"


def test_invalid_card(standin: StripeStandin, client: stripe.StripeClient):
    session = new_session(client)

    assert standin.pay(session.id, "1234 5678 9012 3456") == "invalid_card"

    retrieved = client.v1.checkout.sessions.retrieve(session.id)
    assert (retrieved.status, retrieved.payment_status) == ("open", "unpaid")
    assert client.v1.events.list().data == []


def test_session_expires_with_time(
    standin: StripeStandin, client: stripe.StripeClient, clock: Clock
):
    session = new_session(client)
    clock.offset = 24 * 3600 + 1

    assert standin.pay(session.id) == "expired"

    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    client.v1.checkout.sessions.list()
    events = client.v1.events.list().data
    assert [(e.type, e.data.object.id) for e in events] == [
        ("checkout.session.expired", session.id)
    ]
    assert [d.event_type for d in standin.take_deliveries()] == [
        "checkout.session.expired"
    ]


def test_expire_due(standin: StripeStandin, client: stripe.StripeClient, clock: Clock):
    short = new_session(client, expires_at=int(time.time()) + 1800)
    long = new_session(client)
    clock.offset = 3600

    assert standin.expire_due() == 1
    assert standin.expire_due() == 0
    assert [d.event_type for d in standin.take_deliveries()] == [
        "checkout.session.expired"
    ]
    assert client.v1.checkout.sessions.retrieve(short.id).status == "expired"
    assert client.v1.checkout.sessions.retrieve(long.id).status == "open"


# --- Hosted page ----------------------------------------------------------------


def test_format_amount():
    assert format_amount(123450) == "1\u202f234,50\u00a0€"
    assert format_amount(5) == "0,05\u00a0€"


def test_hosted_page_is_french_and_escaped(client: stripe.StripeClient):
    items = [
        {
            "quantity": 1,
            "price_data": {
                "currency": "eur",
                "unit_amount": 1000,
                "product_data": {"name": "<script>alert(1)</script>"},
            },
        },
        {
            "quantity": 1,
            "price_data": {
                "currency": "eur",
                "unit_amount": 122450,
                "product_data": {"name": "Cantine"},
            },
        },
    ]
    session = new_session(client, line_items=items)

    status, headers, page = http(session.url)

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert '<html lang="fr">' in page
    assert re.search(r"<title>[^<]+</title>", page)
    assert "Simulateur de paiement – aucune carte réelle n'est débitée." in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "1\u202f234,50\u00a0€" in page
    for field, label in [
        ("card_number", "Numéro de carte"),
        ("card_expiry", "Date d'expiration (MM/AA)"),
        ("card_cvc", "Cryptogramme"),
        ("cardholder_name", "Nom du titulaire"),
    ]:
        assert f"<label for={field}>{label}" in page
        assert f"<input id={field} name={field}" in page
    assert 'name="viewport" content="width=device-width' in page
    assert '<a href="http://portal.test/annule">' in page
    # Nothing from elsewhere: its one stylesheet is the stand-in's own.
    assert page.count("<link") == 1 and 'href="/checkout/page.css"' in page
    for external in ("src=", "@import", "url("):
        assert external not in page


def test_hosted_page_pays_and_redirects(
    standin: StripeStandin, client: stripe.StripeClient
):
    session = new_session(client)
    form = {
        "card_expiry": "12/30",
        "card_cvc": "123",
        "cardholder_name": "Josiane Dorville",
    }

    status, _, page = http(session.url, {**form, "card_number": "4000000000000002"})
    assert status == 200
    assert "Votre carte a été refusée." in page
    status, _, page = http(session.url, {**form, "card_number": "4242"})
    assert "Numéro de carte invalide." in page
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"

    status, headers, _ = http(
        session.url, {**form, "card_number": "4242 4242 4242 4242"}
    )

    assert status == 303
    assert headers["Location"] == f"http://portal.test/ok?session={session.id}"
    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert paid.payment_status == "paid"
    assert paid.customer_details.name == "Josiane Dorville"
    _, _, page = http(f"{standin.base_url}/checkout/{session.id}")
    assert "Paiement déjà effectué" in page
    assert "card_number" not in page


def test_hosted_page_of_an_expired_session(client: stripe.StripeClient, clock: Clock):
    session = new_session(client)
    clock.offset = 25 * 3600

    status, _, page = http(session.url, {"card_number": "4242424242424242"})

    assert status == 200
    assert "Cette session de paiement a expiré" in page
    assert '<a href="http://portal.test/annule">' in page
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_hosted_page_of_an_unknown_session(standin: StripeStandin):
    status, _, page = http(f"{standin.base_url}/checkout/cs_test_nope")
    assert status == 404
    assert "introuvable" in page


# --- Automatic delivery with faults ---------------------------------------------


def session_ids(received: list[tuple[bytes, dict[str, str], int]]) -> list[str]:
    return [event_of(body)["data"]["object"]["id"] for body, _, _ in received]


def test_auto_delivery_is_signed(receiver: Receiver, delivering: Any):
    server, api = delivering(receiver)
    session = new_session(api)

    server.pay(session.id)

    [(body, headers, status)] = receiver.wait_for(1)
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    assert event.type == "checkout.session.completed"
    assert event.data.object.id == session.id
    assert headers["Content-Type"] == "application/json"
    assert server.take_deliveries() == []


def test_fault_drop(receiver: Receiver, delivering: Any):
    server, api = delivering(receiver)
    dropped, kept = new_session(api), new_session(api)

    server.faults["drop"] = True
    server.pay(dropped.id)
    server.faults["drop"] = False
    server.pay(kept.id)

    # Deliveries go out in order: once the second is in, the first was dropped.
    assert session_ids(receiver.wait_for(1)) == [kept.id]
    time.sleep(0.2)
    assert len(receiver.received) == 1


def test_fault_duplicate(receiver: Receiver, delivering: Any):
    server, api = delivering(receiver)
    session = new_session(api)
    server.faults["duplicate"] = True

    server.pay(session.id)

    received = receiver.wait_for(2)
    events = [
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
        for body, headers, _ in received
    ]
    assert events[0].id == events[1].id
    assert session_ids(received) == [session.id, session.id]


def test_fault_reorder(receiver: Receiver, delivering: Any):
    server, api = delivering(receiver)
    first, second = new_session(api), new_session(api)
    server.faults["reorder"] = True

    server.pay(first.id)
    server.pay(second.id)

    assert session_ids(receiver.wait_for(2)) == [second.id, first.id]


def test_fault_delay(receiver: Receiver, delivering: Any):
    server, api = delivering(receiver)
    session = new_session(api)
    server.faults["delay"] = 0.4

    started = time.monotonic()
    server.pay(session.id)

    assert session_ids(receiver.wait_for(1)) == [session.id]
    assert time.monotonic() - started >= 0.4


def test_retries_after_a_server_error(request: pytest.FixtureRequest, delivering: Any):
    endpoint = Receiver(statuses=[500])
    request.addfinalizer(endpoint.close)
    server, api = delivering(endpoint)
    session = new_session(api)

    server.pay(session.id)

    received = endpoint.wait_for(2)
    assert [status for _, _, status in received] == [500, 200]
    assert event_of(received[0][0])["id"] == event_of(received[1][0])["id"]
    assert session_ids(received) == [session.id, session.id]


def test_a_retry_waits_its_back_off(request: pytest.FixtureRequest, delivering: Any):
    endpoint = Receiver(statuses=[500])
    request.addfinalizer(endpoint.close)
    server, api = delivering(endpoint, backoff=(0.4,))
    session = new_session(api)

    started = time.monotonic()
    server.pay(session.id)

    assert len(endpoint.wait_for(2)) == 2
    assert time.monotonic() - started >= 0.4


def test_gives_up_after_five_attempts(request: pytest.FixtureRequest, delivering: Any):
    endpoint = Receiver(statuses=[503] * 5)
    request.addfinalizer(endpoint.close)
    server, api = delivering(endpoint)
    failing, next_one = new_session(api), new_session(api)

    server.pay(failing.id)
    server.pay(next_one.id)

    # Deliveries go out in order: the sixth request is already the next event.
    assert session_ids(endpoint.wait_for(6)) == [failing.id] * 5 + [next_one.id]


# --- Management command ---------------------------------------------------------


def test_command_refused_without_debug(settings: Any):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("stripe_standin")


def test_command_refuses_a_non_http_base(settings: Any):
    settings.DEBUG = True
    settings.STRIPE_API_BASE = "https://api.stripe.com"

    with pytest.raises(CommandError, match="http://"):
        call_command("stripe_standin")


def test_command_runs_until_interrupted(settings: Any, monkeypatch: Any):
    settings.DEBUG = False
    settings.STRIPE_API_BASE = "http://127.0.0.1:0"
    settings.STRIPE_STANDIN_WEBHOOK_URL = "http://127.0.0.1:9/webhook/"
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(command_module, "_tick", tick)
    out = StringIO()

    call_command("stripe_standin", "--allow-without-debug", stdout=out)

    output = out.getvalue()
    assert re.search(r"listening on http://127\.0\.0\.1:[1-9]\d*,", output)
    assert "http://127.0.0.1:9/webhook/" in output
    assert "stopped" in output
    assert len(ticks) == 2


def test_hosted_page_runs_no_inline_style_or_script(
    standin: StripeStandin, client: stripe.StripeClient
):
    session = new_session(client)

    status, headers, page = http(f"{standin.base_url}/checkout/{session.id}")
    css_status, css_headers, css = http(f"{standin.base_url}/checkout/page.css")

    assert status == 200 and "<style" not in page and "<script" not in page
    policy = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert css_status == 200 and css_headers["Content-Type"].startswith("text/css")
    assert "button{" in css


# --- Refunds --------------------------------------------------------------------


def paid_intent(standin: StripeStandin, api: stripe.StripeClient) -> str:
    """A paid session's payment intent (28.40 €), its webhook taken."""
    session = new_session(api)
    standin.pay(session.id)
    standin.take_deliveries()
    return api.v1.checkout.sessions.retrieve(session.id).payment_intent


def test_a_session_has_a_payment_intent_once_paid(
    standin: StripeStandin, client: stripe.StripeClient
):
    session = new_session(client)
    assert (session.payment_intent, session.currency) == (None, "eur")

    standin.pay(session.id)

    paid = client.v1.checkout.sessions.retrieve(session.id)
    assert re.fullmatch(r"pi_[A-Za-z0-9]+", paid.payment_intent)
    assert paid.currency == "eur"


def test_refund_succeeds_at_once_and_sends_refund_created(
    standin: StripeStandin, client: stripe.StripeClient
):
    intent = paid_intent(standin, client)

    refund = client.v1.refunds.create(
        params={
            "payment_intent": intent,
            "amount": 1000,
            "reason": "requested_by_customer",
            "metadata": {"refund": "7"},
        }
    )

    assert re.fullmatch(r"re_[A-Za-z0-9]+", refund.id)
    assert refund.object == "refund"
    assert (refund.amount, refund.currency, refund.status) == (1000, "eur", "succeeded")
    assert refund.payment_intent == intent
    assert refund.reason == "requested_by_customer"
    assert refund.metadata.to_dict() == {"refund": "7"}
    assert refund.failure_reason is None
    assert client.v1.refunds.retrieve(refund.id).to_dict() == refund.to_dict()
    [delivery] = standin.take_deliveries()
    event = stripe.Webhook.construct_event(
        delivery.payload, delivery.headers["Stripe-Signature"], SECRET
    )
    assert event.type == "refund.created"
    assert event.data.object.to_dict() == refund.to_dict()
    listed = client.v1.events.list({"type": "refund.created"}).data
    assert [e.id for e in listed] == [event.id]


def test_partial_refunds_up_to_the_payment_then_refused(
    standin: StripeStandin, client: stripe.StripeClient
):
    intent = paid_intent(standin, client)
    other = paid_intent(standin, client)
    client.v1.refunds.create(params={"payment_intent": intent, "amount": 2000})

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 841})
    assert caught.value.http_status == 400
    assert caught.value.param == "amount"
    assert "(€8.41) is greater than unrefunded amount on charge (€8.40)" in str(
        caught.value
    )

    # Without an amount, what is left.
    rest = client.v1.refunds.create(params={"payment_intent": intent})
    assert rest.amount == 840
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 1})
    assert caught.value.code == "charge_already_refunded"
    assert client.v1.refunds.create(params={"payment_intent": other}).amount == 2840
    listed = client.v1.refunds.list({"payment_intent": intent}).data
    assert [r.amount for r in listed] == [840, 2000]


@pytest.mark.parametrize(
    ("refund_params", "param"),
    [
        ({"payment_intent": "pi_unknown", "amount": 100}, "payment_intent"),
        ({"amount": 100}, "payment_intent"),
        ({"payment_intent": "PAID", "amount": 0}, "amount"),
        ({"payment_intent": "PAID", "amount": -5}, "amount"),
        ({"payment_intent": "PAID", "reason": "changed_my_mind"}, "reason"),
        ({"charge": "ch_1"}, "charge"),
    ],
)
def test_refund_refusals(
    standin: StripeStandin,
    client: stripe.StripeClient,
    refund_params: dict[str, Any],
    param: str,
):
    intent = paid_intent(standin, client)
    if refund_params.get("payment_intent") == "PAID":
        refund_params = {**refund_params, "payment_intent": intent}

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params=refund_params)

    assert caught.value.http_status == 400
    assert caught.value.json_body["error"]["type"] == "invalid_request_error"
    assert caught.value.param == param
    assert client.v1.refunds.list().data == []
    assert standin.take_deliveries() == []


def test_an_unpaid_session_has_nothing_to_refund(
    standin: StripeStandin, client: stripe.StripeClient
):
    session = new_session(client)
    standin.pay(session.id, "4000 0000 0000 0002")  # declined: still unpaid

    assert client.v1.checkout.sessions.retrieve(session.id).payment_intent is None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": "", "amount": 100})


def test_refund_idempotency_key(standin: StripeStandin, client: stripe.StripeClient):
    intent = paid_intent(standin, client)
    options: Any = {"idempotency_key": "refund-7"}
    refund_params: Any = {"payment_intent": intent, "amount": 2000}

    first = client.v1.refunds.create(params=refund_params, options=options)
    again = client.v1.refunds.create(params=refund_params, options=options)

    assert again.id == first.id
    assert len(client.v1.refunds.list().data) == 1
    assert [d.event_type for d in standin.take_deliveries()] == ["refund.created"]
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(
            params={"payment_intent": intent, "amount": 100}, options=options
        )


def test_unknown_refund(client: stripe.StripeClient):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.retrieve("re_unknown")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"


def test_pending_refund_then_succeeded(
    standin: StripeStandin, client: stripe.StripeClient
):
    intent = paid_intent(standin, client)
    standin.refunds_pending = True

    refund = client.v1.refunds.create(params={"payment_intent": intent})
    assert refund.status == "pending"
    # A pending refund holds its amount.
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 1})

    standin.settle_refund(refund.id)

    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    created, updated = (event_of(d.payload) for d in standin.take_deliveries())
    assert (created["type"], created["data"]["object"]["status"]) == (
        "refund.created",
        "pending",
    )
    assert updated["type"] == "refund.updated"
    assert updated["data"]["object"]["status"] == "succeeded"
    assert updated["data"]["previous_attributes"] == {"status": "pending"}
    with pytest.raises(ValueError, match="succeeded refund cannot become"):
        standin.settle_refund(refund.id, "succeeded")
    with pytest.raises(KeyError):
        standin.settle_refund("re_unknown")


@pytest.mark.parametrize("first_status", ["pending", "succeeded"])
def test_refund_fails_later_and_gives_its_amount_back(
    standin: StripeStandin, client: stripe.StripeClient, first_status: str
):
    intent = paid_intent(standin, client)
    standin.refunds_pending = first_status == "pending"
    refund = client.v1.refunds.create(params={"payment_intent": intent})
    standin.take_deliveries()

    standin.settle_refund(refund.id, "failed", "expired_or_canceled_card")

    failed = client.v1.refunds.retrieve(refund.id)
    assert (failed.status, failed.failure_reason) == (
        "failed",
        "expired_or_canceled_card",
    )
    deliveries = standin.take_deliveries()
    events = [
        stripe.Webhook.construct_event(d.payload, d.headers["Stripe-Signature"], SECRET)
        for d in deliveries
    ]
    assert [e.type for e in events] == ["refund.updated", "refund.failed"]
    assert {e.data.object.id for e in events} == {refund.id}
    assert events[0].data.previous_attributes.to_dict() == {
        "status": first_status,
        "failure_reason": None,
    }
    listed = client.v1.events.list({"types": ["refund.*"]}).data
    assert [e.type for e in listed] == [
        "refund.failed",
        "refund.updated",
        "refund.created",
    ]
    # The failed refund's amount can be refunded again.
    assert client.v1.refunds.create(params={"payment_intent": intent}).amount == 2840
    with pytest.raises(ValueError, match="failed refund cannot become"):
        standin.settle_refund(refund.id, "succeeded")
