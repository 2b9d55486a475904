"""What the stand-in's parts share: the limits, the test cards, the errors
it answers and the decoding of Stripe's form-encoded parameters."""

from __future__ import annotations

import queue
import re
import secrets
import string
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.standin_http import ServedStandin

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

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
# What a refund holds of its payment until it fails or is canceled.
REFUND_COUNTED = ("pending", "requires_action", "succeeded")

DELIVERY_ATTEMPTS = 5
DELIVERY_TIMEOUT_SECONDS = 4.0
RETRY_BACKOFF_SECONDS = (0.25, 0.5, 1.0, 2.0)
REORDER_HOLD_SECONDS = 5.0
MAX_DELAY_SECONDS = 60.0

_ID_ALPHABET = string.ascii_letters + string.digits
ID_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
CURRENCY = re.compile(r"^[a-z]{3}$")
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


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def english_amount(cents: int, currency: str) -> str:
    """An amount as Stripe's error messages write it: 2840 -> "€28.40"."""
    units, rest = divmod(cents, 100)
    symbol = "€" if currency == "eur" else currency.upper() + " "
    return f"{symbol}{units}.{rest:02d}"


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


def integer_param(value: Any, param: str, minimum: int | None = None) -> int:
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


def missing_param(param: str) -> StripeError:
    return StripeError(
        f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def url_param(params: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = params.get(name)
    if value in (None, ""):
        if required:
            raise missing_param(name)
        return None
    parsed = urllib.parse.urlsplit(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise StripeError("Not a valid URL", code="url_invalid", param=name)
    return value


def created_filter(value: Any, param: str) -> Callable[[int], bool]:
    if value is None:
        return lambda created: True
    if not isinstance(value, dict):
        exact = integer_param(value, param)
        return lambda created: created == exact
    bounds = {}
    for op in ("gt", "gte", "lt", "lte"):
        if op in value:
            bounds[op] = integer_param(value[op], f"{param}[{op}]")

    def accept(created: int) -> bool:
        return (
            ("gt" not in bounds or created > bounds["gt"])
            and ("gte" not in bounds or created >= bounds["gte"])
            and ("lt" not in bounds or created < bounds["lt"])
            and ("lte" not in bounds or created <= bounds["lte"])
        )

    return accept


class StandinState(ServedStandin):
    """What the stand-in's parts share: set by `StripeStandin.__init__`, its
    methods defined there (the parts are mixins of one object); serving
    comes from `ServedStandin`."""

    webhook_secret: str
    webhook_url: str | None
    now: Callable[[], float]
    retry_backoff: tuple[float, ...]
    _lock: threading.RLock
    _sessions: dict[str, dict[str, Any]]
    _line_items: dict[str, list[dict[str, Any]]]
    _refunds: dict[str, dict[str, Any]]
    refunds_pending: bool
    _events: list[dict[str, Any]]
    _idempotency: OrderedDict[str, tuple[str, int, bytes]]
    _outbox: queue.Queue[tuple[Delivery, dict[str, Any]] | None]
    _stopping: threading.Event

    def _refresh(self, session: dict[str, Any]) -> bool:
        raise NotImplementedError

    def _close(self, session: dict[str, Any], status: str) -> None:
        raise NotImplementedError

    def _emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
    ) -> None:
        raise NotImplementedError

    def _pay(self, session_id: str, card_number: str, name: str = "") -> str:
        raise NotImplementedError
