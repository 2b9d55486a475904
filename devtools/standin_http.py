"""What the local stand-ins of payment providers (`stripe_standin`,
`payfip_standin`) share to serve over HTTP: their lifecycle (an HTTP thread
next to a delivery thread), their server, the common parts of their request
handlers and pages, and the foreground loop that runs them.

Standard library only: it must never import Django, so the stand-ins run
anywhere. What differs between them (Stripe's API and hosted page, PayFiP's
SOAP service and payment page, webhooks and notifications) stays in each.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

# How long the foreground loop waits between its checks: Ctrl+C and SIGTERM
# interrupt the wait; the Stripe stand-in expires the sessions whose time is
# up after each one (their checkout.session.expired webhooks go out then).
TICK_SECONDS = 1.0


class StandinServer(ThreadingHTTPServer):
    """A stand-in's HTTP server: a daemon thread for each request, and the
    stand-in it serves (its handler reads `server.standin`)."""

    daemon_threads = True
    standin: ServedStandin


class ServedStandin:
    """Listening on host:port, serving in a daemon thread and delivering
    (webhooks, notifications) from another, until stopped.

    A stand-in's class sets the class attributes below; its __init__ sets
    host, port, log_requests, _outbox, _stopping, _server (None) and
    _threads ([]); it defines `_deliver_loop`, which returns once `_stopping`
    is set or it takes None from `_outbox`."""

    # The stand-in's name in messages ("Stripe"), the names of its HTTP and
    # delivery threads, its server and handler classes, and how long `stop`
    # waits for each thread.
    label: ClassVar[str]
    thread_names: ClassVar[tuple[str, str]]
    server_class: ClassVar[type[StandinServer]]
    handler_class: ClassVar[type[StandinHandler]]
    join_timeout: ClassVar[float]

    host: str
    port: int
    # Log every HTTP request to stderr (the management command sets it).
    log_requests: bool
    _outbox: queue.Queue[Any]
    _stopping: threading.Event
    _server: StandinServer | None
    _threads: list[threading.Thread]

    @property
    def base_url(self) -> str:
        port = self._server.server_address[1] if self._server else self.port
        return f"http://{self.host}:{port}"

    def start(self) -> None:
        """Listen, serve in a daemon thread and start the delivery thread."""
        if self._server is not None:
            raise RuntimeError(f"The {self.label} stand-in is already started.")
        server = self.server_class((self.host, self.port), self.handler_class)
        server.standin = self
        self._server = server
        self._stopping.clear()
        serving_name, delivering_name = self.thread_names
        self._threads = [
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=serving_name,
                daemon=True,
            ),
            threading.Thread(
                target=self._deliver_loop, name=delivering_name, daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop serving and delivering; what is not delivered yet is
        discarded."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self._outbox.put(None)
        server.shutdown()
        server.server_close()
        for thread in self._threads:
            thread.join(timeout=self.join_timeout)
        self._threads = []
        # Anything left (held back by a fault, or unsent) is discarded.
        while not self._outbox.empty():
            self._outbox.get_nowait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _deliver_loop(self) -> None:
        raise NotImplementedError


class StandinHandler(BaseHTTPRequestHandler):
    """What the stand-ins' request handlers share: GET and POST go to
    `_dispatch`, requests are logged only when the stand-in's log_requests
    is on, bodies are read within a limit and answers are written whole."""

    server: StandinServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.standin.log_requests:
            super().log_message(format, *args)

    def _dispatch(self, method: str) -> None:
        raise NotImplementedError

    def _read_body(self, max_bytes: int) -> bytes | None:
        """The request's body; None when its Content-Length is not a number,
        or is negative or over `max_bytes` (the caller answers 413)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > max_bytes:
            return None
        return self.rfile.read(length) if length else b""

    def _respond(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def page_headers(style_src: str) -> dict[str, str]:
    """The headers of a stand-in's HTML page: styles from `style_src` only
    (a CSP source), no script, forms posted to itself or to http(s) URLs,
    never framed, never cached."""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {style_src}; "
            "form-action 'self' http: https:; base-uri 'none'; "
            "frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def sleep_a_tick() -> None:
    """The foreground loop's wait between its checks."""
    time.sleep(TICK_SECONDS)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_in_foreground(
    standin: ServedStandin,
    tick: Callable[[], None],
    after_tick: Callable[[], object] | None = None,
) -> None:
    """Serve until Ctrl+C or SIGTERM (`tick` waits between checks, then
    `after_tick`, if given, runs), then stop."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = None
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while True:
            tick()
            if after_tick is not None:
                after_tick()
    except KeyboardInterrupt:
        pass
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        standin.stop()
