"""The stand-in itself: its state, served over HTTP on a local port."""

from __future__ import annotations

import copy
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from devtools.payfip_standin.common import (
    DELIVERY_TIMEOUT_SECONDS,
    IDOP_LIFETIME_SECONDS,
    MAX_BODY_BYTES,
    MAX_SLOW_SECONDS,
    NUMCLI_PATTERN,
    OUTCOMES,
    PAYMENT_PATH,
    RESULTRANS,
    SOAP_PATH,
    Notification,
    new_numauto,
    paris_stamp,
)
from devtools.payfip_standin.notifications import NotificationMixin
from devtools.payfip_standin.page import PageMixin
from devtools.payfip_standin.soap import SoapMixin
from devtools.standin_http import StandinHandler, StandinServer
from devtools.standin_http import run_in_foreground as run_in_foreground


class _Server(StandinServer):
    standin: PayfipStandin


class _Handler(StandinHandler):
    server: _Server
    server_version = "PayfipStandin/1.0"

    def _dispatch(self, method: str) -> None:
        standin = self.server.standin
        split = urllib.parse.urlsplit(self.path)
        raw = self._read_body(MAX_BODY_BYTES)
        if raw is None:
            self._respond(413, b"Request body too large.\n", "text/plain", {})
            return
        if split.path == SOAP_PATH and method == "POST":
            slow = min(max(float(standin.slow_seconds), 0.0), MAX_SLOW_SECONDS)
            if slow:
                standin._stopping.wait(slow)
            status, payload = standin._handle_soap(raw)
            self._respond(status, payload, "text/xml; charset=utf-8", {})
            return
        if split.path == SOAP_PATH:
            text = b"PayFiP stand-in: POST SOAP 1.1 envelopes here.\n"
            self._respond(200, text, "text/plain; charset=utf-8", {})
            return
        if split.path == PAYMENT_PATH:
            body = raw.decode("utf-8", errors="replace")
            status, page, headers = standin._handle_page(method, split.query, body)
            self._respond(status, page, "text/html; charset=utf-8", headers)
            return
        self._respond(404, b"Not found\n", "text/plain; charset=utf-8", {})


class PayfipStandin(SoapMixin, PageMixin, NotificationMixin):
    """In-memory PayFiP (its SOAP service, its payment page, its
    notifications), served over HTTP on a local port."""

    label = "PayFiP"
    thread_names = ("payfip-standin-http", "payfip-standin-notifications")
    server_class = _Server
    handler_class = _Handler
    join_timeout = DELIVERY_TIMEOUT_SECONDS + 1

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_deliver: bool = True,
        now: Callable[[], float] = time.time,
        *,
        numcli: str | None = None,
    ) -> None:
        if numcli is not None and not NUMCLI_PATTERN.match(numcli):
            raise ValueError(f"numcli must be 6 digits: {numcli!r}")
        self.host = host
        self.port = port
        # Send notifications from a background thread; otherwise queue them
        # for take_deliveries.
        self.auto_deliver = auto_deliver
        self.now = now
        # The one client number PayFiP knows (others answer T2), or None to
        # accept any 6 digits.
        self.numcli = numcli
        # Faults, settable at any time: a notification is never sent nor
        # queued, or sent (queued) twice; each SOAP answer waits that long.
        self.lose_notifications = False
        self.duplicate_notifications = False
        self.slow_seconds = 0.0
        # Log every HTTP request to stderr (the management command sets it).
        self.log_requests = False
        self._lock = threading.RLock()
        self._operations: dict[str, dict[str, Any]] = {}
        self._pending: list[Notification] = []
        # Notifications for the delivery thread; None tells it to stop.
        self._outbox: queue.Queue[Notification | None] = queue.Queue()
        self._stopping = threading.Event()
        self._server = None
        self._threads = []

    # Lifecycle (base_url, start, stop, the with statement): `ServedStandin`.

    @property
    def soap_url(self) -> str:
        return self.base_url + SOAP_PATH

    @property
    def payment_url(self) -> str:
        return self.base_url + PAYMENT_PATH

    # --- Test API -------------------------------------------------------------

    def pay(self, idop: str, outcome: str = "paid") -> str:
        """What the payment page does: "paid" (P), "refused" (R) or
        "abandoned" (A); the notification goes out as from the page.
        ValueError for an unknown, finished or expired idop."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}.")
        with self._lock:
            operation = self._operations.get(idop)
            if operation is None:
                raise ValueError(f"Unknown idop {idop!r}.")
            if operation["status"] != "pending":
                raise ValueError(f"The operation {idop} is already finished.")
            if self._expired(operation):
                raise ValueError(f"The operation {idop} has expired.")
            return self._finish(idop, outcome)

    def operation(self, idop: str) -> dict[str, Any]:
        """A copy of one operation's state (KeyError for an unknown idop):
        its request's fields, created_at, status ("pending", "paid",
        "refused", "abandoned"), resultrans, numauto, finished_at, dattrans
        and heurtrans."""
        with self._lock:
            return copy.deepcopy(self._operations[idop])

    @property
    def operations(self) -> dict[str, dict[str, Any]]:
        """A copy of every operation's state, by idop, oldest first."""
        with self._lock:
            return copy.deepcopy(self._operations)

    def take_deliveries(self) -> list[Notification]:
        """Pop the queued notifications (auto_deliver off), oldest first."""
        with self._lock:
            taken, self._pending = self._pending, []
        return taken

    # --- State changes (callers hold the lock) --------------------------------

    def _expired(self, operation: dict[str, Any]) -> bool:
        return self.now() - operation["created_at"] > IDOP_LIFETIME_SECONDS

    def _finish(self, idop: str, outcome: str) -> str:
        operation = self._operations[idop]
        finished_at = self.now()
        dattrans, heurtrans = paris_stamp(finished_at)
        operation.update(
            status=outcome,
            resultrans=RESULTRANS[outcome],
            numauto=new_numauto() if outcome == "paid" else None,
            finished_at=finished_at,
            dattrans=dattrans,
            heurtrans=heurtrans,
        )
        self._notify(operation)
        return outcome
