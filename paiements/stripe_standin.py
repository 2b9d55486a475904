"""A local stand-in of the Stripe API, enough for Stripe Checkout.

The portal talks to it through the official ``stripe`` library pointed at
another API base, so card payments work offline and in tests:

* ``/v1/checkout/sessions`` (create, retrieve, list, expire) and ``/v1/events``
  (list, retrieve), form-encoded like Stripe, answering Stripe-shaped JSON;
* a hosted checkout page ``/checkout/<id>`` (in French) where test cards pay,
  are declined or are refused;
* signed webhook deliveries (``Stripe-Signature``), sent by a background
  thread with optional faults (drop, duplicate, delay, reorder), or queued for
  tests to take.

Standard library only: it must never import Django, so it runs anywhere.
Never run it in production; it keeps everything in memory and knows no card.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import html
import json
import queue
import re
import secrets
import string
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The API version of the stripe library the portal pins (its
# _ApiVersion.CURRENT); a test checks they agree.
API_VERSION = "2026-10-28.endive"

PAID_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"

DEFAULT_EXPIRY_SECONDS = 24 * 3600
MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 3600
# A client computes expires_at a moment before the request reaches us: a
# session asked for exactly 30 minutes ahead must not be refused for that.
EXPIRY_SLACK_SECONDS = 60

MAX_BODY_BYTES = 1 << 20
MAX_FORM_FIELDS = 2000
IDEMPOTENCY_CACHE_SIZE = 1000
MAX_METADATA_KEYS = 50

DELIVERY_ATTEMPTS = 5
DELIVERY_TIMEOUT_SECONDS = 4.0
RETRY_BACKOFF_SECONDS = (0.25, 0.5, 1.0, 2.0)
REORDER_HOLD_SECONDS = 5.0
MAX_DELAY_SECONDS = 60.0

_ID_ALPHABET = string.ascii_letters + string.digits
_ID_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_CURRENCY = re.compile(r"^[a-z]{3}$")
_INTEGER = re.compile(r"^-?[0-9]{1,18}$")


@dataclass
class Delivery:
    """One webhook delivery, as Stripe would POST it."""

    event_id: str
    event_type: str
    payload: bytes  # the JSON body Stripe would POST
    headers: dict[str, str]  # "Stripe-Signature" and "Content-Type"


class StripeError(Exception):
    """An API error, rendered as Stripe renders it."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def format_amount(cents: int, currency: str = "eur") -> str:
    """An amount in French style: 123450 -> "1 234,50 €" (narrow no-break
    space between thousands, no-break space before the symbol)."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    grouped = f"{units:,}".replace(",", "\u202f")
    symbol = "€" if currency == "eur" else currency.upper()
    return f"{sign}{grouped},{rest:02d}\u00a0{symbol}"


# --- Form decoding (the stripe library's nested keys) -------------------------


def _split_key(key: str) -> list[str]:
    head, bracket, _ = key.partition("[")
    if not bracket or not head:
        return [key]
    rest = key[len(head) :]
    parts = _SEGMENT.findall(rest)
    if "".join(f"[{part}]" for part in parts) != rest:
        return [key]  # not a well-formed nested key: keep it literal
    return [head, *parts]


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    children = {key: _listify(value) for key, value in node.items()}
    if children and all(key.isdigit() for key in children):
        return [children[key] for key in sorted(children, key=int)]
    return children


def parse_form(body: str) -> dict[str, Any]:
    """Decode ``a[b][0][c]=v`` pairs into nested dicts and lists."""
    try:
        pairs = urllib.parse.parse_qsl(
            body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError as error:
        raise StripeError(f"Invalid request body: {error}") from error
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for index, part in enumerate(parts):
            name = part if part != "" else str(len(node))
            if index == len(parts) - 1:
                if isinstance(node.get(name), dict):
                    raise StripeError(f"Invalid parameter: {key}", param=key)
                node[name] = value
            else:
                child = node.setdefault(name, {})
                if not isinstance(child, dict):
                    raise StripeError(f"Invalid parameter: {key}", param=key)
                node = child
    return _listify(root)


def _integer(value: Any, param: str, minimum: int | None = None) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.match(value):
        number = int(value)
    else:
        raise StripeError(
            f"Invalid integer: {value}",
            code="parameter_invalid_integer",
            param=param,
        )
    if minimum is not None and number < minimum:
        raise StripeError(
            f"This value must be greater than or equal to {minimum}.",
            code="parameter_invalid_integer",
            param=param,
        )
    return number


def _missing(param: str) -> StripeError:
    return StripeError(
        f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def _url(params: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = params.get(name)
    if value in (None, ""):
        if required:
            raise _missing(name)
        return None
    parsed = urllib.parse.urlsplit(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise StripeError("Not a valid URL", code="url_invalid", param=name)
    return value


def _created_filter(value: Any, param: str) -> Callable[[int], bool]:
    if value is None:
        return lambda created: True
    if not isinstance(value, dict):
        exact = _integer(value, param)
        return lambda created: created == exact
    bounds = {}
    for op in ("gt", "gte", "lt", "lte"):
        if op in value:
            bounds[op] = _integer(value[op], f"{param}[{op}]")

    def accept(created: int) -> bool:
        return (
            ("gt" not in bounds or created > bounds["gt"])
            and ("gte" not in bounds or created >= bounds["gte"])
            and ("lt" not in bounds or created < bounds["lt"])
            and ("lte" not in bounds or created <= bounds["lte"])
        )

    return accept


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: StripeStandin


class StripeStandin:
    """In-memory Stripe Checkout, served over HTTP on a local port."""

    def __init__(
        self,
        *,
        webhook_secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_url: str | None = None,
        auto_deliver: bool = True,
        now: Callable[[], float] = time.time,
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
        self._lock = threading.RLock()
        self._sessions: dict[str, dict[str, Any]] = {}
        self._line_items: dict[str, list[dict[str, Any]]] = {}
        self._events: list[dict[str, Any]] = []
        self._pending: list[Delivery] = []
        self._idempotency: OrderedDict[str, tuple[str, int, bytes]] = OrderedDict()
        # Deliveries for the delivery thread, each with the faults in force
        # when its event was created; None tells the thread to stop.
        self._outbox: queue.Queue[tuple[Delivery, dict[str, Any]] | None] = (
            queue.Queue()
        )
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []

    # --- Lifecycle ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        port = self._server.server_address[1] if self._server else self.port
        return f"http://{self.host}:{port}"

    def start(self) -> None:
        """Listen, serve in a daemon thread and start the delivery thread."""
        if self._server is not None:
            raise RuntimeError("The Stripe stand-in is already started.")
        server = _Server((self.host, self.port), _Handler)
        server.standin = self
        self._server = server
        self._stopping.clear()
        serving = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="stripe-standin-http",
            daemon=True,
        )
        delivering = threading.Thread(
            target=self._deliver_loop, name="stripe-standin-webhooks", daemon=True
        )
        self._threads = [serving, delivering]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop serving and delivering; undelivered webhooks are discarded."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self._outbox.put(None)
        server.shutdown()
        server.server_close()
        for thread in self._threads:
            thread.join(timeout=DELIVERY_TIMEOUT_SECONDS + 1)
        self._threads = []
        # Anything left (held back by a fault, or unsent) is discarded.
        while not self._outbox.empty():
            self._outbox.get_nowait()

    def __enter__(self) -> StripeStandin:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- Public helpers -------------------------------------------------------

    def sign(self, payload: bytes, timestamp: int | None = None) -> str:
        """The Stripe-Signature header value for this body."""
        if timestamp is None:
            timestamp = int(self.now())
        signed = f"{timestamp}.".encode() + payload
        digest = hmac.new(
            self.webhook_secret.encode("utf-8"), signed, hashlib.sha256
        ).hexdigest()
        return f"t={timestamp},v1={digest}"

    def pay(self, session_id: str, card_number: str = PAID_CARD) -> str:
        """What the hosted page does with a card: "paid", "declined",
        "expired", "invalid_card" or "not_open". KeyError for an unknown id."""
        return self._pay(session_id, card_number)

    def take_deliveries(self) -> list[Delivery]:
        """Pop the queued webhook deliveries, oldest first."""
        with self._lock:
            taken, self._pending = self._pending, []
        return taken

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

    def _emit(self, event_type: str, obj: dict[str, Any]) -> None:
        event = {
            "id": _random_id("evt_"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(self.now()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        self._events.append(event)
        payload = json.dumps(event, indent=2).encode()
        delivery = Delivery(
            event_id=event["id"],
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
            session["payment_intent"] = _random_id("pi_")
            session["customer_details"] = {
                "email": session["customer_email"],
                "name": name.strip() or None,
            }
            self._close(session, "complete")
            return "paid"

    # --- API ------------------------------------------------------------------

    def _handle_api(
        self, method: str, path: str, query: str, body: str, idempotency_key: str
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, JSON body and extra headers for one authenticated call."""
        with self._lock:
            try:
                params = parse_form(body if method == "POST" else query)
                if method == "POST" and idempotency_key:
                    return self._idempotent(method, path, params, idempotency_key)
                return 200, self._json(self._route(method, path, params)), {}
            except StripeError as error:
                return error.status, self._json(error.body()), {}

    def _idempotent(
        self, method: str, path: str, params: dict[str, Any], key: str
    ) -> tuple[int, bytes, dict[str, str]]:
        fingerprint = hashlib.sha256(
            json.dumps([method, path, params], sort_keys=True).encode()
        ).hexdigest()
        cached = self._idempotency.get(key)
        if cached is not None:
            if cached[0] != fingerprint:
                raise StripeError(
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with. Try using a key other "
                    f"than '{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            return cached[1], cached[2], {"Idempotent-Replayed": "true"}
        body = self._json(self._route(method, path, params))
        # Like Stripe, only a request that ran is remembered (not a refusal).
        self._idempotency[key] = (fingerprint, 200, body)
        while len(self._idempotency) > IDEMPOTENCY_CACHE_SIZE:
            self._idempotency.popitem(last=False)
        return 200, body, {}

    @staticmethod
    def _json(obj: dict[str, Any]) -> bytes:
        return json.dumps(obj, indent=2).encode()

    def _route(self, method: str, path: str, params: dict[str, Any]) -> dict:
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"]:
            rest = parts[3:]
            if not rest and method == "POST":
                return self._create_session(params)
            if not rest and method == "GET":
                return self._list_sessions(params)
            if len(rest) == 1 and method == "GET":
                return copy.deepcopy(self._session(rest[0]))
            if len(rest) == 2 and rest[1] == "expire" and method == "POST":
                return self._expire_session(rest[0])
        elif parts[:2] == ["v1", "events"]:
            if len(parts) == 2 and method == "GET":
                return self._list_events(params)
            if len(parts) == 3 and method == "GET":
                return self._event(parts[2])
        raise StripeError(
            f"Unrecognized request URL ({method}: {path}). The Stripe stand-in "
            "only knows Checkout Sessions and Events.",
            status=404,
        )

    def _session(self, session_id: str) -> dict[str, Any]:
        session = (
            self._sessions.get(session_id) if _ID_PATTERN.match(session_id) else None
        )
        if session is None:
            raise StripeError(
                f"No such checkout.session: '{session_id}'",
                status=404,
                code="resource_missing",
                param="session",
            )
        self._refresh(session)
        return session

    def _event(self, event_id: str) -> dict[str, Any]:
        for event in self._events:
            if event["id"] == event_id:
                return event
        raise StripeError(
            f"No such event: '{event_id}'",
            status=404,
            code="resource_missing",
            param="id",
        )

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        now = int(self.now())
        mode = params.get("mode") or "payment"
        if mode != "payment":
            raise StripeError(
                "The Stripe stand-in only supports mode=payment.", param="mode"
            )
        currency = params.get("currency") or None
        if currency is not None:
            currency = str(currency).lower()
        lines = params.get("line_items")
        if not lines:
            raise _missing("line_items")
        if not isinstance(lines, list):
            raise StripeError("Invalid array", param="line_items")
        items = []
        for index, line in enumerate(lines):
            prefix = f"line_items[{index}]"
            if not isinstance(line, dict):
                raise StripeError("Invalid object", param=prefix)
            if "price" in line:
                raise StripeError(
                    "The Stripe stand-in has no Price objects: use price_data.",
                    param=f"{prefix}[price]",
                )
            price = line.get("price_data")
            if not isinstance(price, dict):
                raise _missing(f"{prefix}[price_data]")
            line_currency = str(price.get("currency") or currency or "").lower()
            if not line_currency:
                raise _missing(f"{prefix}[price_data][currency]")
            if not _CURRENCY.match(line_currency):
                raise StripeError(
                    f"Invalid currency: {line_currency}.",
                    param=f"{prefix}[price_data][currency]",
                )
            if currency is None:
                currency = line_currency
            elif line_currency != currency:
                raise StripeError(
                    "All line items must use the same currency.",
                    param=f"{prefix}[price_data][currency]",
                )
            if "unit_amount" not in price:
                raise _missing(f"{prefix}[price_data][unit_amount]")
            unit = _integer(
                price["unit_amount"], f"{prefix}[price_data][unit_amount]", minimum=0
            )
            product = price.get("product_data")
            name = product.get("name") if isinstance(product, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise _missing(f"{prefix}[price_data][product_data][name]")
            if "quantity" not in line:
                raise _missing(f"{prefix}[quantity]")
            quantity = _integer(line["quantity"], f"{prefix}[quantity]", minimum=1)
            items.append(
                {
                    "name": name,
                    "unit_amount": unit,
                    "quantity": quantity,
                    "amount_total": unit * quantity,
                }
            )
        success_url = _url(params, "success_url", required=True)
        cancel_url = _url(params, "cancel_url", required=False)
        if params.get("expires_at") in (None, ""):
            expires_at = now + DEFAULT_EXPIRY_SECONDS
        else:
            expires_at = _integer(params["expires_at"], "expires_at")
            if expires_at < now + MIN_EXPIRY_SECONDS - EXPIRY_SLACK_SECONDS:
                raise StripeError(
                    "The `expires_at` timestamp must be at least 30 minutes from "
                    "Checkout Session creation.",
                    param="expires_at",
                )
            if expires_at > now + MAX_EXPIRY_SECONDS:
                raise StripeError(
                    "The `expires_at` timestamp must be less than 24 hours from "
                    "Checkout Session creation.",
                    param="expires_at",
                )
        metadata = self._metadata(params.get("metadata"))
        methods = params.get("payment_method_types") or ["card"]
        if not isinstance(methods, list):
            raise StripeError("Invalid array", param="payment_method_types")
        total = sum(item["amount_total"] for item in items)
        session_id = _random_id("cs_test_", 58)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": cancel_url,
            "client_reference_id": params.get("client_reference_id") or None,
            "created": now,
            "currency": currency,
            "customer_details": None,
            "customer_email": params.get("customer_email") or None,
            "expires_at": expires_at,
            "livemode": False,
            "metadata": metadata,
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": [str(method) for method in methods],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": success_url,
            "url": f"{self.base_url}/checkout/{session_id}",
        }
        self._sessions[session_id] = session
        self._line_items[session_id] = items
        return copy.deepcopy(session)

    @staticmethod
    def _metadata(value: Any) -> dict[str, str]:
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise StripeError("Invalid hash", param="metadata")
        if len(value) > MAX_METADATA_KEYS:
            raise StripeError("Metadata can have up to 50 keys.", param="metadata")
        metadata = {}
        for key, item in value.items():
            if not isinstance(item, str):
                raise StripeError("Invalid string", param=f"metadata[{key}]")
            if len(key) > 40 or len(item) > 500:
                raise StripeError(
                    "Metadata keys are limited to 40 characters and values to 500.",
                    param=f"metadata[{key}]",
                )
            if item != "":  # an empty value unsets the key, as on Stripe
                metadata[key] = item
        return metadata

    def _expire_session(self, session_id: str) -> dict[str, Any]:
        session = self._session(session_id)
        if session["status"] != "open":
            raise StripeError(
                'Only Checkout Sessions with a status in ["open"] can be expired.'
                f" This session has status {session['status']}.",
                param="session",
            )
        self._close(session, "expired")
        return copy.deepcopy(session)

    def _list(
        self,
        items: list[dict[str, Any]],
        params: dict[str, Any],
        url: str,
        noun: str,
    ) -> dict[str, Any]:
        limit = 10
        if params.get("limit") not in (None, ""):
            limit = _integer(params["limit"], "limit", minimum=1)
            if limit > 100:
                raise StripeError(
                    "This value must be less than or equal to 100.",
                    code="parameter_invalid_integer",
                    param="limit",
                )
        accept = _created_filter(params.get("created"), "created")
        items = [item for item in items if accept(item["created"])]
        after = params.get("starting_after")
        if after:
            ids = [item["id"] for item in items]
            if after not in ids:
                raise StripeError(
                    f"No such {noun}: '{after}'",
                    status=404,
                    code="resource_missing",
                    param="starting_after",
                )
            items = items[ids.index(after) + 1 :]
        return {
            "object": "list",
            "data": copy.deepcopy(items[:limit]),
            "has_more": len(items) > limit,
            "url": url,
        }

    def _list_sessions(self, params: dict[str, Any]) -> dict[str, Any]:
        for session in self._sessions.values():
            self._refresh(session)
        sessions = list(reversed(self._sessions.values()))
        status = params.get("status")
        if status:
            if status not in ("open", "complete", "expired"):
                raise StripeError(f"Invalid status: {status}", param="status")
            sessions = [s for s in sessions if s["status"] == status]
        return self._list(sessions, params, "/v1/checkout/sessions", "checkout.session")

    def _list_events(self, params: dict[str, Any]) -> dict[str, Any]:
        for session in self._sessions.values():
            self._refresh(session)
        events = list(reversed(self._events))
        types = params.get("types") or []
        if params.get("type"):
            types = [params["type"]]
        if types:
            if not isinstance(types, list):
                raise StripeError("Invalid array", param="types")

            def matches(event_type: str) -> bool:
                # Stripe allows one trailing wildcard: checkout.session.*
                return any(
                    event_type == wanted
                    or (wanted.endswith("*") and event_type.startswith(wanted[:-1]))
                    for wanted in types
                )

            events = [event for event in events if matches(event["type"])]
        return self._list(events, params, "/v1/events", "event")

    # --- Hosted checkout page -------------------------------------------------

    def _handle_page(
        self, method: str, session_id: str, body: str
    ) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                page = _page(
                    "Session introuvable",
                    "<h1>Session de paiement introuvable</h1>"
                    "<p>Ce lien de paiement n'existe pas ou plus.</p>",
                )
                return 404, page, {}
            self._refresh(session)
            error = ""
            name = ""
            if method == "POST" and session["status"] == "open":
                form = urllib.parse.parse_qs(body, max_num_fields=MAX_FORM_FIELDS)
                card = form.get("card_number", [""])[0]
                name = form.get("cardholder_name", [""])[0]
                outcome = self._pay(session_id, card, name)
                if outcome == "paid":
                    target = session["success_url"].replace(
                        "{CHECKOUT_SESSION_ID}", session_id
                    )
                    return 303, b"", {"Location": target}
                if outcome == "declined":
                    error = "Votre carte a été refusée."
                elif outcome == "invalid_card":
                    error = "Numéro de carte invalide."
            if session["status"] != "open":
                return 200, self._closed_page(session), {}
            return 200, self._checkout_page(session, error, name), {}

    def _checkout_page(self, session: dict[str, Any], error: str, name: str) -> bytes:
        esc = html.escape
        currency = session["currency"]
        total = format_amount(session["amount_total"], currency)
        rows = "".join(
            "<tr><td>{name}</td><td class=num>{qty}</td>"
            "<td class=num>{amount}</td></tr>".format(
                name=esc(item["name"]),
                qty=item["quantity"],
                amount=esc(format_amount(item["amount_total"], currency)),
            )
            for item in self._line_items[session["id"]]
        )
        alert = ""
        invalid = ""
        if error:
            alert = f"<p class=error role=alert id=card-error>{esc(error)}</p>"
            invalid = ' aria-invalid="true" aria-describedby="card-error card-help"'
        else:
            invalid = ' aria-describedby="card-help"'
        cancel = ""
        if session["cancel_url"]:
            cancel = (
                f'<p><a href="{esc(session["cancel_url"])}">'
                "Annuler et revenir au portail</a></p>"
            )
        action = esc(f"/checkout/{session['id']}")
        content = f"""<h1>Paiement par carte</h1>
<section aria-labelledby=recap>
<h2 id=recap>Récapitulatif</h2>
<table>
<thead><tr><th scope=col>Article</th><th scope=col class=num>Quantité</th>
<th scope=col class=num>Montant</th></tr></thead>
<tbody>{rows}</tbody>
<tfoot><tr><th scope=row colspan=2>Total</th>
<td class=num><strong>{esc(total)}</strong></td></tr></tfoot>
</table>
</section>
<section aria-labelledby=card>
<h2 id=card>Votre carte</h2>
{alert}
<form method=post action="{action}">
<p><label for=card_number>Numéro de carte</label>
<input id=card_number name=card_number inputmode=numeric autocomplete=cc-number
 required{invalid}>
<small id=card-help>16 chiffres, espaces acceptés.</small></p>
<p><label for=card_expiry>Date d'expiration (MM/AA)</label>
<input id=card_expiry name=card_expiry autocomplete=cc-exp placeholder=MM/AA
 required></p>
<p><label for=card_cvc>Cryptogramme (3 chiffres au dos de la carte)</label>
<input id=card_cvc name=card_cvc inputmode=numeric autocomplete=cc-csc
 maxlength=4 required></p>
<p><label for=cardholder_name>Nom du titulaire</label>
<input id=cardholder_name name=cardholder_name autocomplete=cc-name
 value="{esc(name)}" required></p>
<p><button type=submit>Payer {esc(total)}</button></p>
</form>
</section>
{cancel}"""
        return _page("Paiement par carte", content)

    @staticmethod
    def _closed_page(session: dict[str, Any]) -> bytes:
        esc = html.escape
        if session["status"] == "complete":
            title = "Paiement déjà effectué"
            text = (
                "Ce paiement a déjà été effectué. Aucun autre montant n'a été débité."
            )
        else:
            title = "Session de paiement expirée"
            text = (
                "Cette session de paiement a expiré : aucun montant n'a été "
                "débité. Revenez au portail pour payer à nouveau."
            )
        back = session["cancel_url"] or session["success_url"].replace(
            "{CHECKOUT_SESSION_ID}", session["id"]
        )
        content = (
            f"<h1>{esc(title)}</h1><p>{esc(text)}</p>"
            f'<p><a href="{esc(back)}">Revenir au portail</a></p>'
        )
        return _page(title, content)

    # --- Webhook delivery -----------------------------------------------------

    def _log(self, message: str) -> None:
        print(f"stripe-standin: {message}", file=sys.stderr, flush=True)

    def _deliver_loop(self) -> None:
        held: Delivery | None = None
        held_since = 0.0
        while not self._stopping.is_set():
            try:
                item = self._outbox.get(timeout=0.1)
            except queue.Empty:
                # A held delivery goes out on its own if nothing follows it.
                if held and time.monotonic() - held_since >= REORDER_HOLD_SECONDS:
                    self._send(held)
                    held = None
                continue
            if item is None:
                break
            delivery, faults = item
            if faults.get("drop"):
                self._log(f"{delivery.event_type} {delivery.event_id}: dropped")
                continue
            delay = min(float(faults.get("delay") or 0.0), MAX_DELAY_SECONDS)
            if delay > 0 and self._stopping.wait(delay):
                break
            if faults.get("reorder") and held is None:
                self._log(f"{delivery.event_type} {delivery.event_id}: held back")
                held, held_since = delivery, time.monotonic()
                continue
            for _ in range(2 if faults.get("duplicate") else 1):
                self._send(delivery)
            if held is not None:
                self._send(held)
                held = None

    def _send(self, delivery: Delivery) -> None:
        """POST one delivery, retrying connection errors and 5xx, bounded."""
        url = self.webhook_url
        if not url:
            return
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            # Stripe signs each attempt afresh.
            headers = dict(delivery.headers)
            headers["Stripe-Signature"] = self.sign(delivery.payload)
            headers["User-Agent"] = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
            # The URL's scheme was checked (http or https) in __init__.
            request = urllib.request.Request(  # noqa: S310
                url, data=delivery.payload, headers=headers, method="POST"
            )
            retry = False
            try:
                with urllib.request.urlopen(  # noqa: S310 - http(s) only
                    request, timeout=DELIVERY_TIMEOUT_SECONDS
                ) as response:
                    status = response.status
                result = str(status)
            except urllib.error.HTTPError as error:
                status = error.code
                error.close()
                result = str(status)
                retry = status >= 500
            except (OSError, urllib.error.URLError) as error:
                result = f"connection failed ({error})"
                retry = True
            self._log(
                f"{delivery.event_type} {delivery.event_id} -> {url} "
                f"attempt {attempt}/{DELIVERY_ATTEMPTS}: {result}"
            )
            if not retry or attempt == DELIVERY_ATTEMPTS:
                return
            backoff = RETRY_BACKOFF_SECONDS[attempt - 1]
            if self._stopping.wait(backoff):
                return


_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,sans-serif;color:#1b1b1b;background:#f6f6f6}
main{max-width:32rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}
.banner{background:#fff4ce;border:2px solid #8a6d00;padding:.5rem .75rem}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.35rem .25rem;border-bottom:1px solid #ccc;
overflow-wrap:anywhere}
.num{text-align:right;white-space:nowrap}
label{display:block;font-weight:600}
input{width:100%;font:inherit;padding:.5rem;border:1px solid #555;border-radius:4px}
input[aria-invalid=true]{border:2px solid #b00020}
small{display:block;color:#444}
button{font:inherit;font-weight:600;min-height:2.75rem;width:100%;border:0;
border-radius:4px;background:#1d3f8c;color:#fff;cursor:pointer}
:focus-visible{outline:3px solid #000;outline-offset:2px}
.error{color:#b00020;font-weight:600;border-left:4px solid #b00020;padding-left:.5rem}
a{color:#1d3f8c}
"""


def _page(title: str, content: str) -> bytes:
    document = f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} – Simulateur de paiement</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<p class=banner role=note>
<strong>Simulateur de paiement – aucune carte réelle n'est débitée.</strong>
Cartes de test : 4242 4242 4242 4242 (acceptée), 4000 0000 0000 0002 (refusée).
</p>
{content}
</main>
</body>
</html>
"""
    return document.encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "StripeStandin/1.0"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.standin.log_requests:
            super().log_message(format, *args)

    def _dispatch(self, method: str) -> None:
        standin = self.server.standin
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self._api_error(StripeError("Request body too large.", status=413))
            return
        raw = self.rfile.read(length) if length else b""
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
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "checkout" and method in ("GET", "POST"):
            status, payload, headers = standin._handle_page(method, parts[1], body)
            headers.update(
                {
                    "Content-Security-Policy": (
                        "default-src 'none'; style-src 'unsafe-inline'; "
                        "base-uri 'none'; frame-ancestors 'none'"
                    ),
                    "Cache-Control": "no-store",
                    "Referrer-Policy": "no-referrer",
                    "X-Content-Type-Options": "nosniff",
                }
            )
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
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Request-Id", _random_id("req_", 14))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
