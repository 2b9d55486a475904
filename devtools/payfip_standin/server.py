"""The stand-in itself: its state, served over HTTP on a local port."""

from __future__ import annotations

import copy
import queue
import signal
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: PayfipStandin


class PayfipStandin(SoapMixin, PageMixin, NotificationMixin):
    """In-memory PayFiP (its SOAP service, its payment page, its
    notifications), served over HTTP on a local port."""

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
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []

    # --- Lifecycle ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        port = self._server.server_address[1] if self._server else self.port
        return f"http://{self.host}:{port}"

    @property
    def soap_url(self) -> str:
        return self.base_url + SOAP_PATH

    @property
    def payment_url(self) -> str:
        return self.base_url + PAYMENT_PATH

    def start(self) -> None:
        """Listen, serve in a daemon thread and start the delivery thread."""
        if self._server is not None:
            raise RuntimeError("The PayFiP stand-in is already started.")
        server = _Server((self.host, self.port), _Handler)
        server.standin = self
        self._server = server
        self._stopping.clear()
        self._threads = [
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="payfip-standin-http",
                daemon=True,
            ),
            threading.Thread(
                target=self._deliver_loop,
                name="payfip-standin-notifications",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop serving and delivering; unsent notifications are discarded."""
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
        while not self._outbox.empty():
            self._outbox.get_nowait()

    def __enter__(self) -> PayfipStandin:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

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


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_in_foreground(standin: PayfipStandin, tick: Callable[[], None]) -> None:
    """Serve until Ctrl+C or SIGTERM (`tick` waits between checks), then
    stop."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = None
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while True:
            tick()
    except KeyboardInterrupt:
        pass
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        standin.stop()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "PayfipStandin/1.0"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.standin.log_requests:
            super().log_message(format, *args)

    def _dispatch(self, method: str) -> None:
        standin = self.server.standin
        split = urllib.parse.urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self._respond(413, b"Request body too large.\n", "text/plain", {})
            return
        raw = self.rfile.read(length) if length else b""
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

    def _respond(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
