"""The stand-in itself: its state, served over HTTP on a local port."""

from __future__ import annotations

import copy
import json
import queue
import re
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from devtools import standin_http
from devtools.standin_http import StandinHandler, StandinServer, page_headers
from devtools.stripe_standin.api import ApiMixin
from devtools.stripe_standin.common import (
    API_VERSION,
    DECLINED_CARD,
    DELIVERY_TIMEOUT_SECONDS,
    MAX_BODY_BYTES,
    PAID_CARD,
    RETRY_BACKOFF_SECONDS,
    Delivery,
    StripeError,
    random_id,
)
from devtools.stripe_standin.page import STYLE, STYLESHEET_PATH, PageMixin
from devtools.stripe_standin.webhooks import WebhookMixin

# The hosted page's headers: its own stylesheet only, no script, never framed.
PAGE_HEADERS = page_headers("'self'")


class _Server(StandinServer):
    standin: StripeStandin


class _Handler(StandinHandler):
    server: _Server
    server_version = "StripeStandin/1.0"

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        standin = self.server.standin
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        raw = self._read_body(MAX_BODY_BYTES)
        if raw is None:
            self._api_error(StripeError("Request body too large.", status=413))
            return
        body = raw.decode("utf-8", errors="replace")
        if path.startswith("/v1/"):
            scheme, _, key = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                self._api_error(
                    StripeError(
                        "You did not provide an API key. You need to provide your "
                        "API key in the Authorization header, using Bearer auth "
                        "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                        status=401,
                    )
                )
                return
            status, payload, headers = standin._handle_api(
                method,
                path,
                split.query,
                body,
                self.headers.get("Idempotency-Key") or "",
            )
            if status >= 400:
                headers["Stripe-Should-Retry"] = "false"
            self._respond(status, payload, "application/json", headers)
            return
        if path == STYLESHEET_PATH and method == "GET":
            self._respond(
                200, STYLE.encode(), "text/css; charset=utf-8", dict(PAGE_HEADERS)
            )
            return
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "checkout" and method in ("GET", "POST"):
            status, payload, headers = standin._handle_page(method, parts[1], body)
            headers.update(PAGE_HEADERS)
            self._respond(status, payload, "text/html; charset=utf-8", headers)
            return
        self._respond(404, b"Not found\n", "text/plain; charset=utf-8", {})

    def _api_error(self, error: StripeError) -> None:
        self._respond(
            error.status,
            json.dumps(error.body()).encode(),
            "application/json",
            {"Stripe-Should-Retry": "false"},
        )

    def _respond(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        # Every answer carries a request id, as Stripe's do.
        headers = {"Request-Id": random_id("req_", 14), **headers}
        super()._respond(status, payload, content_type, headers)


class StripeStandin(ApiMixin, PageMixin, WebhookMixin):
    """In-memory Stripe Checkout, served over HTTP on a local port."""

    label = "Stripe"
    thread_names = ("stripe-standin-http", "stripe-standin-webhooks")
    server_class = _Server
    handler_class = _Handler
    join_timeout = DELIVERY_TIMEOUT_SECONDS + 1

    def __init__(
        self,
        *,
        webhook_secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        auto_deliver: bool = True,
        now: Callable[[], float] = time.time,
        retry_backoff: Sequence[float] = RETRY_BACKOFF_SECONDS,
    ) -> None:
        if webhook_url and urllib.parse.urlsplit(webhook_url).scheme not in (
            "http",
            "https",
        ):
            raise ValueError(f"webhook_url must be an http(s) URL: {webhook_url!r}")
        self.webhook_secret = webhook_secret
        self.host = host
        self.port = port
        self.webhook_url = webhook_url
        self.auto_deliver = auto_deliver
        self.now = now
        # Seconds to wait before each retry of a failed delivery (tests give
        # zeros: Stripe's own back-off is hours, the stand-in's seconds).
        self.retry_backoff = tuple(retry_backoff)
        # Webhook faults, applied by the delivery thread (auto_deliver with a
        # webhook_url) to the events created while they are set: drop (never
        # send), duplicate (send twice), delay (seconds to wait before
        # sending), reorder (hold a delivery back, send it after the next).
        self.faults: dict[str, Any] = {
            "drop": False,
            "duplicate": False,
            "delay": 0.0,
            "reorder": False,
        }
        # Log every HTTP request to stderr (the management command sets it).
        self.log_requests = False
        # New refunds start pending (as when the bank takes its time) until a
        # test settles them with settle_refund; otherwise they succeed at once.
        self.refunds_pending = False
        self._lock = threading.RLock()
        self._sessions: dict[str, dict[str, Any]] = {}
        self._line_items: dict[str, list[dict[str, Any]]] = {}
        self._refunds: dict[str, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._pending: list[Delivery] = []
        self._idempotency: OrderedDict[str, tuple[str, int, bytes]] = OrderedDict()
        # Deliveries for the delivery thread, each with the faults in force
        # when its event was created; None tells the thread to stop.
        self._outbox: queue.Queue[tuple[Delivery, dict[str, Any]] | None] = (
            queue.Queue()
        )
        self._stopping = threading.Event()
        self._server = None
        self._threads = []

    # Lifecycle (base_url, start, stop, the with statement): `ServedStandin`.

    # --- Public helpers -------------------------------------------------------

    def pay(self, session_id: str, card_number: str = PAID_CARD) -> str:
        """What the hosted page does with a card: "paid", "declined",
        "expired", "invalid_card" or "not_open". KeyError for an unknown id."""
        return self._pay(session_id, card_number)

    def take_deliveries(self) -> list[Delivery]:
        """Pop the queued webhook deliveries, oldest first."""
        with self._lock:
            taken, self._pending = self._pending, []
        return taken

    def settle_refund(
        self, refund_id: str, status: str = "succeeded", failure_reason: str = "unknown"
    ) -> None:
        """What the bank does with a refund, later: a pending one succeeds or
        fails, and a succeeded one can still fail (a closed card account);
        a failed refund gives its amount back to the payment. Sends
        refund.updated, and refund.failed when it fails. KeyError for an
        unknown id, ValueError for a change Stripe never makes."""
        with self._lock:
            refund = self._refunds[refund_id]
            allowed = {"succeeded": ("pending",), "failed": ("pending", "succeeded")}
            if refund["status"] not in allowed.get(status, ()):
                raise ValueError(
                    f"A {refund['status']} refund cannot become {status!r}."
                )
            previous: dict[str, Any] = {"status": refund["status"]}
            refund["status"] = status
            if status == "failed":
                previous["failure_reason"] = refund["failure_reason"]
                refund["failure_reason"] = failure_reason
            self._emit("refund.updated", refund, previous)
            if status == "failed":
                self._emit("refund.failed", refund)

    def expire_due(self) -> int:
        """Expire every open session whose expires_at has passed (emitting
        checkout.session.expired); how many were expired."""
        with self._lock:
            return sum(self._refresh(s) for s in list(self._sessions.values()))

    # --- State changes (callers hold the lock) --------------------------------

    def _refresh(self, session: dict[str, Any]) -> bool:
        if session["status"] != "open" or self.now() < session["expires_at"]:
            return False
        self._close(session, "expired")
        return True

    def _close(self, session: dict[str, Any], status: str) -> None:
        session["status"] = status
        session["url"] = None
        event = "completed" if status == "complete" else status
        self._emit(f"checkout.session.{event}", session)

    def _emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
    ) -> None:
        event_id = random_id("evt_")
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            # As on Stripe's *.updated events: the changed fields' old values.
            data["previous_attributes"] = copy.deepcopy(previous)
        event: dict[str, Any] = {
            "id": event_id,
            "object": "event",
            "api_version": API_VERSION,
            "created": int(self.now()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        self._events.append(event)
        payload = json.dumps(event, indent=2).encode()
        delivery = Delivery(
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": self.sign(payload),
            },
        )
        if self.auto_deliver and self.webhook_url:
            self._outbox.put((delivery, dict(self.faults)))
        else:
            self._pending.append(delivery)

    def _pay(self, session_id: str, card_number: str, name: str = "") -> str:
        with self._lock:
            session = self._sessions[session_id]
            self._refresh(session)
            if session["status"] == "expired":
                return "expired"
            if session["status"] != "open":
                return "not_open"
            digits = re.sub(r"[\s-]", "", card_number)
            if digits == DECLINED_CARD:
                return "declined"
            if digits != PAID_CARD:
                return "invalid_card"
            session["payment_status"] = "paid"
            session["payment_intent"] = random_id("pi_")
            session["customer_details"] = {
                "email": session["customer_email"],
                "name": name.strip() or None,
            }
            self._close(session, "complete")
            return "paid"


def run_in_foreground(standin: StripeStandin, tick: Callable[[], None]) -> None:
    """Serve until Ctrl+C or SIGTERM, expiring the sessions whose time is up
    after each `tick` (their checkout.session.expired webhooks go out then,
    as Stripe sends them); then stop."""
    standin_http.run_in_foreground(standin, tick, after_tick=standin.expire_due)
