"""Payment rush: 300 families start card payments at once through the Stripe
stand-in; every webhook arrives twice, out of order and concurrently, while
the reconciliation job runs beside them. Counts lost payments and double
allocations (both must be 0) and measures the time to record a webhook.

What runs (all local; every process is stopped on exit, also on error):

- the portal under gunicorn with deploy/gunicorn.conf.py (sync workers,
  2 x cores + 1 = 5 here) on PostgreSQL, with production settings (DEBUG
  off, JSON logs, database task backend: receipts are queued, not sent)
  except what bench/rush_settings.py changes: the Stripe stand-in as API
  base, plain HTTP, and the test suite's fast password hasher (--real-hasher
  for PBKDF2). The online window is every day (PORTAIL_ONLINE_PAYMENT_DAYS=
  1-31) and each family has its own address (X-Forwarded-For, as behind the
  proxy: allauth allows 30 logins a minute per address);
- the stand-in (StripeStandin, as the tests start it) in a process of its
  own; its webhooks are handed to this script as soon as they are emitted;
- Stripe's side of the webhooks (StripeNetwork): each event is POSTed to the
  portal twice, each copy after its own random delay (0-0.3 s; one duplicate
  in five 1-3 s late), by up to 64 concurrent senders, signed when sent,
  retried on 5xx. Copies of one event overlap or arrive reversed; events of
  different sessions arrive in any order;
- `manage.py reconcile_payments` (cron's command, job lock included) every
  15 s for sessions older than 1 minute (production: every 5 minutes, 5
  minutes), in a process of its own, racing the late webhooks;
- 300 families, a thread each: log in through the allauth form (CSRF), wait
  at a barrier, then all at once: payments page, review, "Pay" (the portal
  creates the Checkout Session), the hosted page, the card, the return page
  (reloaded every 5 s while pending, as its meta refresh does). One family
  in ten double-clicks "Pay" (two requests at once, one key); one in twenty
  starts again from a second tab (the first session is expired); one in
  twenty pays, then clicks "Pay" on a stale second tab (must be refused).

Checks, from the database and the stand-in: every session the stand-in says
is paid has exactly one Payment (otherwise: a lost payment); each invoice's
allocations add up to exactly its total (more, or two allocations: a double
allocation); no family was charged twice; money recorded == money taken.
Figures: webhook POST latency at the sender and gunicorn's own time for the
same requests (access log, %(D)s), card -> payment recorded (what a family
waits for), page times, throughput. Prints them, appends a JSON line to
bench/results/payment_rush.jsonl, exits 1 if a money check fails.

Data: families RU-000001..., each with a login and one unpaid invoice
(October 2026), created the first time. Every run first deletes the previous
run's card payments, sessions, Stripe events, queued tasks and login
sessions: a benchmark database only (its name must contain "bench").

Usage:
    createdb -h 127.0.0.1 -U postgres portail_bench_rush
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_rush
    export DJANGO_DEBUG=1  # for manage.py; the served portal runs without
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py createcachetable
    .venv/bin/python bench/payment_rush.py [--families 300] [--workers 5]
"""

from __future__ import annotations

import argparse
import datetime
import heapq
import io
import itertools
import json
import math
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import BENCH_ENV  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portail.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

PREFIX = "RU-"
PASSWORD = "une phrase de passe pour le rush"  # noqa: S105 - benchmark logins
PERIOD = datetime.date(2026, 10, 1)
STANDIN_KEY = "sk_test_standin"  # noqa: S105 - the local stand-in's
WEBHOOK_SECRET = "whsec_bench_rush"  # noqa: S105 - local stand-in only
SECRET_KEY = secrets.token_urlsafe(50)
CARD = "4242 4242 4242 4242"
HTTP_TIMEOUT = 120.0
RETURN_REFRESH_SECONDS = 5.0  # the return page's meta refresh
RETURN_PATIENCE_SECONDS = 180.0  # how long a family watches it
WEBHOOK_ATTEMPTS = 4
SETTLE_TIMEOUT = 60.0
ACCESS_FORMAT = "%(s)s %(D)s %(m)s %(U)s %({x-request-id}i)s"

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
INVOICE_BOX = re.compile(r'name="invoices" value="(\d+)"')
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([0-9a-f]{32})"')
MESSAGE = re.compile(r'<p class="message message-[^"]*">(.*?)</p>', re.S)


# --- Small helpers -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def summary(seconds: list[float]) -> dict[str, Any] | None:
    """Nearest-rank percentiles, in milliseconds."""
    if not seconds:
        return None
    ordered = sorted(seconds)

    def rank(p: float) -> float:
        index = max(0, math.ceil(p / 100 * len(ordered)) - 1)
        return round(ordered[index] * 1000, 1)

    return {
        "n": len(ordered),
        "p50_ms": rank(50),
        "p95_ms": rank(95),
        "p99_ms": rank(99),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


class Processes:
    """The servers this run started, each in its own process group, so that
    gunicorn's workers go with their master."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[int, tuple[str, subprocess.Popen, Any]] = {}
        self.lock = threading.Lock()

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Any:
        log = (self.logs / f"{name}.log").open("ab")
        # Fixed arguments: this interpreter and the project's own commands.
        process = subprocess.Popen(  # noqa: S603
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        with self.lock:
            self.running[process.pid] = (name, process, log)
        return process

    def stop(self, process: subprocess.Popen, timeout: float = 15.0) -> None:
        with self.lock:
            entry = self.running.pop(process.pid, None)
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        if entry is not None:
            entry[2].close()

    def stop_all(self) -> None:
        with self.lock:
            processes = [process for _, process, _ in self.running.values()]
        for process in reversed(processes):
            self.stop(process)


def wait_for_http(url: str, alive: Any, name: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if not alive():
            raise RuntimeError(f"{name} stopped")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


# --- Data --------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    identifier: str
    invoice_id: int
    total: Decimal


def prepare(count: int, password_hash: str) -> list[Target]:
    """The families, logins and unpaid invoices (created when missing), after
    deleting what the previous run recorded."""
    from django.contrib.sessions.models import Session
    from django.core.cache import cache
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    from factures.models import BracketAssignment, Invoice, TariffBracket
    from familles.models import Family, Guardian, User
    from paiements.models import (
        Allocation,
        BlockNotice,
        CheckoutItem,
        CheckoutSession,
        Payment,
        WebhookEvent,
    )

    with transaction.atomic():
        ours = Family.objects.filter(identifier__startswith=PREFIX)
        Allocation.objects.filter(payment__family__in=ours).delete()
        Payment.history.filter(family__in=ours).delete()
        Payment.objects.filter(family__in=ours).delete()
        CheckoutItem.objects.filter(checkout__family__in=ours).delete()
        CheckoutSession.objects.filter(family__in=ours).delete()
        BlockNotice.objects.filter(family__in=ours).delete()
        WebhookEvent.objects.all().delete()
        DBTaskResult.objects.all().delete()
        Session.objects.all().delete()
    cache.clear()

    identifiers = [f"{PREFIX}{n:06d}" for n in range(1, count + 1)]
    with transaction.atomic():
        bracket, _ = TariffBracket.objects.get_or_create(
            code="B",
            defaults={
                "label": "Tranche B",
                "qf_min": Decimal("450.01"),
                "qf_max": Decimal("800.00"),
            },
        )
        known = set(
            Family.objects.filter(identifier__in=identifiers).values_list(
                "identifier", flat=True
            )
        )
        new = Family.objects.bulk_create(
            Family(
                identifier=identifier,
                name=f"Rush{identifier[-6:]}",
                address_line1=f"{int(identifier[-6:]) % 90 + 1} rue Schoelcher",
                postal_code="97170",
                city="Petit-Bourg",
            )
            for identifier in identifiers
            if identifier not in known
        )
        BracketAssignment.objects.bulk_create(
            BracketAssignment(
                family=f, bracket=bracket, valid_from=datetime.date(2026, 9, 1)
            )
            for f in new
        )
        Guardian.objects.bulk_create(
            Guardian(
                family=f,
                first_name="Marie",
                last_name=f.name,
                email=f"{f.identifier.lower()}@example.org",
            )
            for f in new
        )
        User.objects.bulk_create(
            User(username=f.identifier, family=f, password=password_hash) for f in new
        )
        # One stored hash for every login (the hasher of this run's server).
        User.objects.filter(username__in=identifiers).exclude(
            password=password_hash
        ).update(password=password_hash)
        families = {
            f.identifier: f for f in Family.objects.filter(identifier__in=identifiers)
        }
        invoiced = set(
            Invoice.objects.filter(
                family__in=families.values(), period=PERIOD
            ).values_list("family__identifier", flat=True)
        )
        Invoice.objects.bulk_create(
            Invoice(
                number=f"FRU-{identifier[-6:]}",
                family=families[identifier],
                period=PERIOD,
                # 8 to 19 meals at 1.80 EUR.
                total=Decimal("1.80") * (8 + int(identifier[-6:]) % 12),
                family_identifier=identifier,
                family_name=families[identifier].name,
                billing_address="1 rue Schoelcher\n97170 Petit-Bourg",
                paperless=False,
            )
            for identifier in identifiers
            if identifier not in invoiced
        )
        # Their payments were deleted above: open again, as they are.
        Invoice.objects.filter(
            family__in=families.values(), period=PERIOD
        ).open_flags_sync()
    unpaid = {
        invoice.family_identifier: invoice
        for invoice in Invoice.objects.unpaid().filter(
            family__in=families.values(), period=PERIOD
        )
    }
    missing = [i for i in identifiers if i not in unpaid]
    if missing:
        raise RuntimeError(f"No unpaid invoice for {len(missing)} families.")
    return [
        Target(identifier, unpaid[identifier].pk, unpaid[identifier].total)
        for identifier in identifiers
    ]


# --- Stripe's side of the webhooks -------------------------------------------


@dataclass
class Post:
    event_id: str
    event_type: str
    session_id: str
    copy: int
    attempt: int
    request_id: str
    started: float  # wall clock
    seconds: float
    status: int | None
    outcome: str


class StripeNetwork:
    """Stripe's side of the webhooks: takes each event the stand-in emits and
    POSTs it to the portal twice, after random delays, from a pool of
    concurrent senders; retries 5xx and connection errors as Stripe does."""

    def __init__(self, portal_url: str, seed: int, senders: int) -> None:
        from devtools.stripe_standin import StripeStandin

        self.portal_url = portal_url
        self.signer = StripeStandin(webhook_secret=WEBHOOK_SECRET)
        self.rng = random.Random(seed)
        self.condition = threading.Condition()
        self.queue: list[tuple[float, int, dict[str, Any]]] = []
        self.sequence = itertools.count()
        self.in_flight = 0
        self.received = 0
        # session id -> wall times its completed event was emitted by the
        # stand-in and reached this process
        self.completed: dict[str, tuple[float, float]] = {}
        self.posts: list[Post] = []
        self.stopping = False
        self.pool = ThreadPoolExecutor(senders, thread_name_prefix="webhook")
        self.local = threading.local()
        self.thread = threading.Thread(target=self._schedule, daemon=True)
        self.thread.start()

    def feed(self, deliveries: Any) -> None:
        """Take the stand-in's deliveries from its queue until told to stop
        (None)."""
        while (item := deliveries.get()) is not None:
            emitted, payload = item
            self.deliver(payload, emitted)

    def deliver(self, payload: bytes, emitted: float) -> None:
        event = json.loads(payload)
        now = time.monotonic()
        with self.condition:
            self.received += 1
            if event["type"] == "checkout.session.completed":
                session_id = event["data"]["object"]["id"]
                self.completed[session_id] = (emitted, time.time())
            for copy in (1, 2):
                late = copy == 2 and self.rng.random() < 0.2
                delay = self.rng.uniform(1.0, 3.0) if late else self.rng.uniform(0, 0.3)
                job = {"payload": payload, "event": event, "copy": copy}
                heapq.heappush(self.queue, (now + delay, next(self.sequence), job))
            self.condition.notify_all()

    def _schedule(self) -> None:
        with self.condition:
            while not self.stopping:
                if not self.queue:
                    self.condition.wait(0.5)
                    continue
                due = self.queue[0][0] - time.monotonic()
                if due > 0:
                    self.condition.wait(due)
                    continue
                _, _, job = heapq.heappop(self.queue)
                self.in_flight += 1
                self.pool.submit(self._send, job)

    def _send(self, job: dict[str, Any]) -> None:
        try:
            session = getattr(self.local, "http", None)
            if session is None:
                session = self.local.http = requests.Session()
            event = job["event"]
            for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
                post = self._post(session, job, event, attempt)
                with self.condition:
                    self.posts.append(post)
                if (post.status is not None and post.status < 500) or self.stopping:
                    return
                time.sleep(0.5 * attempt)
        finally:
            with self.condition:
                self.in_flight -= 1
                self.condition.notify_all()

    def _post(
        self,
        session: requests.Session,
        job: dict[str, Any],
        event: dict[str, Any],
        attempt: int,
    ) -> Post:
        payload = job["payload"]
        request_id = f"wh{event['id'].replace('_', '')}c{job['copy']}a{attempt}"
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": self.signer.sign(payload),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "X-Request-ID": request_id,
        }
        started, clock = time.time(), time.perf_counter()
        try:
            response = session.post(
                self.portal_url, data=payload, headers=headers, timeout=HTTP_TIMEOUT
            )
            status, outcome = response.status_code, response.text[:80]
        except requests.RequestException as error:
            status, outcome = None, f"connection error: {error}"[:80]
        return Post(
            event_id=event["id"],
            event_type=event["type"],
            session_id=event["data"]["object"]["id"],
            copy=job["copy"],
            attempt=attempt,
            request_id=request_id,
            started=started,
            seconds=time.perf_counter() - clock,
            status=status,
            outcome=outcome,
        )

    def idle(self) -> bool:
        with self.condition:
            return not self.queue and self.in_flight == 0

    def close(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
        self.pool.shutdown(wait=True, cancel_futures=True)


# --- The families -----------------------------------------------------------


class Retry(Exception):
    """This attempt failed the way a family would see it: start again."""


@dataclass
class Household:
    target: Target
    variant: str
    address: str
    portal: str
    standin: str
    http: requests.Session = field(default_factory=requests.Session)
    steps: list[tuple[str, float, int | None]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # (session id, wall time the card was submitted)
    paid: list[tuple[str, float]] = field(default_factory=list)
    saw_paid_after: float | None = None
    refused_stale_tab: bool | None = None

    def call(self, step: str, method: str, url: str, **kwargs: Any) -> Any:
        return self._call(self.http, step, method, url, **kwargs)

    def _call(
        self, http: requests.Session, step: str, method: str, url: str, **kwargs: Any
    ) -> Any:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        headers = kwargs.setdefault("headers", {})
        if url.startswith(self.portal):
            headers["X-Forwarded-For"] = self.address
        clock = time.perf_counter()
        try:
            response = http.request(method, url, **kwargs)
        except requests.RequestException as error:
            self.steps.append((step, time.perf_counter() - clock, None))
            raise Retry(f"{step}: {type(error).__name__}") from error
        self.steps.append((step, time.perf_counter() - clock, response.status_code))
        if response.status_code >= 500:
            raise Retry(f"{step}: HTTP {response.status_code}")
        return response

    def log_in(self) -> None:
        page = self.call("login page", "GET", f"{self.portal}/compte/login/")
        token = CSRF.search(page.text).group(1)
        response = self.call(
            "login",
            "POST",
            f"{self.portal}/compte/login/",
            data={
                "csrfmiddlewaretoken": token,
                "login": self.target.identifier,
                "password": PASSWORD,
            },
        )
        if response.status_code != 302:
            raise Retry(f"login: HTTP {response.status_code}")

    def pay_invoice(self) -> None:
        for _ in range(3):
            try:
                self._journey()
                break
            except Retry as reason:
                self.problems.append(str(reason))
            except Exception as error:  # noqa: BLE001 - a bench bug, reported
                self.problems.append(f"unexpected: {error!r}")
                break

    def _journey(self) -> None:
        home = self.call("payments page", "GET", f"{self.portal}/paiements/")
        if home.status_code != 200:
            raise Retry(f"payments page: HTTP {home.status_code}")
        token = CSRF.search(home.text).group(1)
        if str(self.target.invoice_id) not in INVOICE_BOX.findall(home.text):
            self.problems.append("invoice not offered on the payments page")
            return
        key = self._review(token)
        if self.variant == "double click":
            twin = requests.Session()
            twin.cookies.update(self.http.cookies)
            urls: list[str] = []
            errors: list[BaseException] = []

            def click(http: requests.Session) -> None:
                try:
                    urls.append(self._checkout(token, key, http=http))
                except BaseException as error:  # noqa: BLE001 - kept for below
                    errors.append(error)

            clicks = [
                threading.Thread(target=click, args=(http,))
                for http in (self.http, twin)
            ]
            for thread in clicks:
                thread.start()
            for thread in clicks:
                thread.join()
            if errors:
                raise errors[0]
            if len(set(urls)) != 1:
                self.problems.append("double click opened two sessions")
            url = urls[0]
        elif self.variant == "second tab":
            second = self._review(token)
            first_url = self._checkout(token, key)
            url = self._checkout(token, second)
            if url == first_url:
                self.problems.append("second tab got the first session again")
        else:
            url = self._checkout(token, key)
        if self.variant == "stale tab":
            # A second tab, opened before paying, still shows the review page.
            stale = self._review(token)
        back = self._pay(url)
        if self.variant == "stale tab":
            response = self.call(
                "checkout",
                "POST",
                f"{self.portal}/paiements/payer/",
                data={
                    "csrfmiddlewaretoken": token,
                    "idempotency_key": stale,
                    "invoices": self.target.invoice_id,
                },
            )
            location = response.headers.get("Location", "")
            self.refused_stale_tab = not location.startswith(self.standin)
            if not self.refused_stale_tab:
                self.problems.append("stale tab: a second session was opened")
                self._pay(location)  # what a family would do
        self._watch_return(back)

    def _review(self, token: str) -> str:
        response = self.call(
            "review",
            "POST",
            f"{self.portal}/paiements/verification/",
            data={"csrfmiddlewaretoken": token, "invoices": self.target.invoice_id},
        )
        found = IDEMPOTENCY.search(response.text) if response.ok else None
        if response.status_code != 200 or found is None:
            raise Retry(f"review: HTTP {response.status_code}, {self._message()}")
        return found.group(1)

    def _checkout(
        self, token: str, key: str, http: requests.Session | None = None
    ) -> str:
        response = self._call(
            http or self.http,
            "checkout",
            "POST",
            f"{self.portal}/paiements/payer/",
            data={
                "csrfmiddlewaretoken": token,
                "idempotency_key": key,
                "invoices": self.target.invoice_id,
            },
        )
        location = response.headers.get("Location", "")
        if response.status_code != 302 or not location.startswith(
            f"{self.standin}/checkout/"
        ):
            raise Retry(f"checkout refused: {self._message(http)}")
        return location

    def _message(self, http: requests.Session | None = None) -> str:
        """The message the payments page shows after a refusal."""
        page = self._call(
            http or self.http, "payments page", "GET", f"{self.portal}/paiements/"
        )
        return " / ".join(m.strip() for m in MESSAGE.findall(page.text)) or "-"

    def _pay(self, url: str) -> str:
        page = self.call("hosted page", "GET", url)
        if "card_number" not in page.text:
            raise Retry("hosted page: the session cannot be paid")
        submitted = time.time()
        response = self.call(
            "card",
            "POST",
            url,
            data={
                "card_number": CARD,
                "card_expiry": "12/30",
                "card_cvc": "123",
                "cardholder_name": f"Marie {self.target.identifier}",
            },
        )
        if response.status_code != 303:
            raise Retry("card: the session could not be paid (expired?)")
        self.paid.append((url.rsplit("/", 1)[1], submitted))
        return response.headers["Location"]

    def _watch_return(self, url: str) -> None:
        paid_at = self.paid[-1][1]
        while time.time() - paid_at < RETURN_PATIENCE_SECONDS:
            page = self.call("return page", "GET", url)
            if "status-paid" in page.text:
                self.saw_paid_after = time.time() - paid_at
                return
            if "status-cancelled" in page.text:
                self.problems.append("return page: expired")
                return
            time.sleep(RETURN_REFRESH_SECONDS)
        self.problems.append("return page: still pending after 3 minutes")


def variant_of(index: int) -> str:
    return {0: "double click", 1: "double click", 2: "second tab"}.get(
        index % 20, "stale tab" if index % 20 == 3 else "plain"
    )


def run_threads(actions: list[Any], name: str) -> None:
    threads = [
        threading.Thread(target=action, name=f"{name}-{n}", daemon=True)
        for n, action in enumerate(actions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- The stand-in and the reconciliation job, each in a process of its own ---


def standin_child(port: int, deliveries: Any, stop: Any) -> None:
    """The stand-in (as the tests start it), its webhooks handed to this
    script's StripeNetwork as soon as they are emitted: Stripe sends them
    concurrently, not one at a time as the stand-in's own sender does."""
    from devtools.stripe_standin import StripeStandin

    standin = StripeStandin(
        webhook_secret=WEBHOOK_SECRET, port=port, auto_deliver=False
    )
    standin.start()
    try:
        for tick in itertools.count():
            if stop.wait(0.01):
                break
            for delivery in standin.take_deliveries():
                deliveries.put((time.time(), delivery.payload))
            if tick % 100 == 0:
                standin.expire_due()  # as `manage.py stripe_standin` does
    finally:
        standin.stop()
        deliveries.put(None)


def reconcile_child(env: dict[str, str], every: float, runs: Any, stop: Any) -> None:
    """`manage.py reconcile_payments` (its job lock included) every few
    seconds, as cron runs it, in one process (no start-up cost per run)."""
    import logging

    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("stripe").setLevel(logging.WARNING)
    while not stop.wait(every):
        out, clock = io.StringIO(), time.perf_counter()
        try:
            call_command("reconcile_payments", stdout=out)
            found = re.search(r"(\d+) payment\(s\) recorded", out.getvalue())
            recorded: int | str = int(found.group(1)) if found else out.getvalue()
        except Exception as error:  # noqa: BLE001 - reported
            recorded = repr(error)
        runs.put(
            {"seconds": round(time.perf_counter() - clock, 1), "recorded": recorded}
        )


class Children:
    """The stand-in and the reconciliation job (multiprocessing, spawn)."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.stop = self.context.Event()
        self.deliveries = self.context.Queue()
        self.runs = self.context.Queue()
        self.processes: list[Any] = []

    def start(self, target: Any, *args: Any) -> None:
        process = self.context.Process(
            target=target, args=(*args, self.stop), daemon=True
        )
        process.start()
        self.processes.append(process)

    def reconcile_runs(self) -> list[dict[str, Any]]:
        runs = []
        while not self.runs.empty():
            runs.append(self.runs.get())
        return runs

    def stop_all(self) -> None:
        self.stop.set()
        for process in self.processes:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)


# --- Checks ------------------------------------------------------------------


def standin_state(base: str) -> tuple[list[Any], list[Any]]:
    import stripe

    api = stripe.StripeClient(STANDIN_KEY, base_addresses={"api": base})
    sessions = list(
        api.v1.checkout.sessions.list(params={"limit": 100}).auto_paging_iter()
    )
    events = list(api.v1.events.list(params={"limit": 100}).auto_paging_iter())
    return sessions, events


def check_money(targets: list[Target], sessions: list[Any]) -> dict[str, Any]:
    from django.db.models import Count, Sum

    from factures.models import Invoice
    from paiements.models import CheckoutSession, Payment, WebhookEvent

    paid = [
        s for s in sessions if s.status == "complete" and s.payment_status == "paid"
    ]
    payments = list(
        Payment.objects.filter(family__identifier__startswith=PREFIX)
        .select_related("family")
        .annotate(allocated_sum=Sum("allocations__amount"))
    )
    per_session = Counter(p.reference for p in payments)
    per_family_payments = Counter(p.family.identifier for p in payments)
    per_family_charges = Counter(s.metadata["family"] for s in paid)
    invoices = list(
        Invoice.objects.filter(pk__in=[t.invoice_id for t in targets]).annotate(
            allocated=Sum("allocations__amount"), allocations_n=Count("allocations")
        )
    )
    over = {i.pk for i in invoices if (i.allocated or 0) > i.total}
    twice = {i.pk for i in invoices if i.allocations_n > 1}
    under = [i.pk for i in invoices if (i.allocated or 0) < i.total]
    taken = sum(Decimal(s.amount_total) for s in paid) / 100
    recorded = sum((p.amount for p in payments), Decimal(0))
    unallocated = sum((p.amount - (p.allocated_sum or 0) for p in payments), Decimal(0))
    expected = sum((t.total for t in targets), Decimal(0))
    remote_status = {s.id: s.status for s in sessions}
    paid_ids = {s.id for s in paid}
    stale_open = CheckoutSession.objects.filter(
        family__identifier__startswith=PREFIX, status=CheckoutSession.Status.OPEN
    ).values_list("remote_id", flat=True)
    outcomes = Counter(
        (kind, re.sub(r"^payment \S+$", "payment", outcome))
        for kind, outcome in WebhookEvent.objects.values_list("type", "outcome")
    )
    return {
        "paid_sessions": len(paid),
        "payments": len(payments),
        "lost_payments": sum(1 for s in paid if per_session[s.id] == 0),
        "payments_without_paid_session": sum(
            1 for p in payments if p.reference not in paid_ids
        ),
        "double_allocations": len(over | twice),
        "double_charges": sum(1 for n in per_family_charges.values() if n > 1),
        "families_with_several_payments": sum(
            1 for n in per_family_payments.values() if n > 1
        ),
        "invoices_not_fully_paid": len(under),
        "expected_eur": str(expected),
        "taken_eur": str(taken),
        "recorded_eur": str(recorded),
        "unallocated_eur": str(unallocated),
        "sessions_open_in_db_closed_at_stripe": sum(
            1 for sid in stale_open if remote_status.get(sid) not in (None, "open")
        ),
        "webhook_events_recorded": sum(outcomes.values()),
        "webhook_event_outcomes": {f"{k} -> {o}": n for (k, o), n in outcomes.items()},
        "payment_reference_received": {
            p.reference: p.received_at.timestamp() for p in payments
        },
    }


def server_times(access_log: Path) -> dict[str, float]:
    """gunicorn's request time (%(D)s, microseconds) by request id."""
    times = {}
    for line in access_log.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[4].startswith("wh"):
            times[parts[4]] = int(parts[1]) / 1e6
    return times


def access_statuses(access_log: Path) -> Counter:
    statuses: Counter = Counter()
    for line in access_log.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 4:
            path = re.sub(r"/\d+/", "/N/", parts[3])
            statuses[f"{parts[0]} {parts[2]} {path}"] += 1
    return statuses


# --- The run -----------------------------------------------------------------


def server_env(args: argparse.Namespace, logs: Path, standin: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DJANGO_", "STRIPE_", "PORTAIL_"))
    }
    (logs / "var" / "staticfiles").mkdir(parents=True, exist_ok=True)
    env.update(
        # Production settings (DEBUG off), see bench/rush_settings.py.
        DJANGO_SETTINGS_MODULE="bench.rush_settings",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        PAYMENT_RUSH_STRIPE_API_BASE=standin,
        PAYMENT_RUSH_HASHER="production" if args.real_hasher else "fast",
        PORTAIL_TASKS_BACKEND="database",
        PORTAIL_ONLINE_PAYMENT_DAYS="1-31",
        PORTAIL_TRUSTED_PROXY_COUNT="1",
        PORTAIL_VAR_DIR=str(logs / "var"),
        PORTAIL_PUBLIC_URL="http://127.0.0.1",
        STRIPE_SECRET_KEY=STANDIN_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    # The service's contact details, without which production refuses to
    # start: the other benchmarks' placeholders.
    env.update({k: v for k, v in BENCH_ENV.items() if k.startswith("PORTAIL_SERVICE_")})
    return env


def start_servers(
    processes: Processes, children: Children, args: argparse.Namespace
) -> tuple[str, str]:
    """The stand-in and gunicorn; their base URLs, once both answer."""
    portal_port, standin_port = free_port(), free_port()
    portal = f"http://127.0.0.1:{portal_port}"
    standin = f"http://127.0.0.1:{standin_port}"
    children.start(standin_child, standin_port, children.deliveries)
    env = server_env(args, processes.logs, standin)
    gunicorn = processes.start(
        "gunicorn",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "portail.wsgi",
            "--bind",
            f"127.0.0.1:{portal_port}",
            "--workers",
            str(args.workers),
            "--access-logfile",
            str(processes.logs / "access.log"),
            "--access-logformat",
            ACCESS_FORMAT,
            # Not the shared ~/.gunicorn/gunicorn.ctl of another server.
            "--no-control-socket",
        ],
        env,
    )
    wait_for_http(
        f"{standin}/checkout/x", children.processes[0].is_alive, "the stand-in"
    )
    wait_for_http(f"{portal}/health/", lambda: gunicorn.poll() is None, "gunicorn")
    return portal, standin


def log_in_all(families: list[Household]) -> float:
    failures: list[str] = []

    def log_in(family: Household) -> None:
        try:
            family.log_in()
        except (Retry, AttributeError) as error:
            failures.append(f"{family.target.identifier}: {error}")

    clock = time.perf_counter()
    run_threads([lambda f=f: log_in(f) for f in families], "login")
    if failures:
        raise RuntimeError(f"{len(failures)} logins failed: {failures[:3]}")
    return time.perf_counter() - clock


def rush(families: list[Household]) -> float:
    """Every family at once, from a barrier; the seconds until the last one
    is done."""
    barrier = threading.Barrier(len(families))

    def go(family: Household) -> None:
        barrier.wait()
        family.pay_invoice()

    clock = time.perf_counter()
    run_threads([lambda f=f: go(f) for f in families], "family")
    return time.perf_counter() - clock


def settle(network: StripeNetwork, standin: str) -> float:
    """Wait until every event of the stand-in was relayed and both copies
    posted (bounded); the seconds waited."""
    clock = time.perf_counter()
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        _, events = standin_state(standin)
        if network.received >= len(events) and network.idle():
            break
        time.sleep(0.5)
    return time.perf_counter() - clock


def figures_of(
    *,
    args: argparse.Namespace,
    hasher: str,
    families: list[Household],
    network: StripeNetwork,
    events: list[Any],
    money: dict[str, Any],
    seconds: dict[str, float],
    rush_started: float,
    reconcile_runs: list[dict[str, Any]],
    access_log: Path,
) -> dict[str, Any]:
    posts = network.posts
    served = server_times(access_log)
    statuses = access_statuses(access_log)
    recording = [p for p in posts if p.outcome.startswith("payment ")]
    received = money.pop("payment_reference_received")
    submitted = {sid: at for f in families for sid, at in f.paid}
    to_record = [received[sid] - at for sid, at in submitted.items() if sid in received]
    first_post: dict[str, float] = {}
    for post in posts:
        if post.event_type == "checkout.session.completed":
            known = first_post.get(post.session_id, post.started)
            first_post[post.session_id] = min(known, post.started)
    steps: dict[str, list[float]] = {}
    for family in families:
        for step, elapsed, _ in family.steps:
            steps.setdefault(step, []).append(elapsed)
    problems = Counter(
        re.sub(r"R\d{4}-\d+|cs_test_\w+|'[0-9a-f]{32}'", "…", p)
        for f in families
        for p in f.problems
    )
    span = (
        max(p.started + p.seconds for p in posts) - min(p.started for p in posts)
        if posts
        else 0
    )
    last_payment = max(received.values(), default=rush_started)
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "families": len(families),
        "gunicorn_workers": args.workers,
        "password_hasher": hasher,
        "webhook_senders": args.webhook_senders,
        "reconcile_every_s": args.reconcile_every,
        "reconcile_after_min": args.reconcile_after,
        **{f"{name}_s": round(value, 1) for name, value in seconds.items()},
        **money,
        "families_paid": sum(1 for f in families if f.paid),
        "families_saw_paid": sum(1 for f in families if f.saw_paid_after is not None),
        "variants": Counter(f.variant for f in families),
        "stale_tabs_refused": sum(1 for f in families if f.refused_stale_tab),
        "family_problems": dict(problems),
        "family_problem_examples": [
            f"{f.target.identifier} ({f.variant}): {p}"
            for f in families
            for p in f.problems
        ][:5],
        "standin_events": Counter(e.type for e in events),
        "webhook_deliveries": len({(p.event_id, p.copy) for p in posts}),
        "webhook_posts": len(posts),
        "webhook_statuses": Counter(str(p.status) for p in posts),
        "webhook_outcomes": Counter(
            re.sub(r"^payment \S+$", "payment", p.outcome) for p in posts
        ),
        "webhook_post": summary([p.seconds for p in posts]),
        "webhook_post_recording": summary([p.seconds for p in recording]),
        "webhook_server": summary(
            [served[p.request_id] for p in posts if p.request_id in served]
        ),
        "webhook_server_recording": summary(
            [served[p.request_id] for p in recording if p.request_id in served]
        ),
        "card_to_event_emitted": summary(
            [
                network.completed[sid][0] - at
                for sid, at in submitted.items()
                if sid in network.completed
            ]
        ),
        "event_emitted_to_sender": summary(
            [
                emitted_at_sender[1] - emitted_at_sender[0]
                for emitted_at_sender in network.completed.values()
            ]
        ),
        "card_to_first_webhook_post": summary(
            [first_post[sid] - at for sid, at in submitted.items() if sid in first_post]
        ),
        "card_to_payment_recorded": summary(to_record),
        "card_to_return_page_paid": summary(
            [f.saw_paid_after for f in families if f.saw_paid_after is not None]
        ),
        "pages": {step: summary(values) for step, values in steps.items()},
        "payments_per_s": round(len(received) / (last_payment - rush_started), 1)
        if last_payment > rush_started
        else None,
        "webhook_posts_per_s": round(len(posts) / span, 1) if span else None,
        "portal_requests": sum(statuses.values()),
        "portal_5xx": {k: n for k, n in statuses.items() if k.startswith("5")},
        "reconcile_runs": reconcile_runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=300)
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn sync workers (deploy/gunicorn.conf.py's 2 x cores + 1)",
    )
    parser.add_argument(
        "--webhook-senders",
        type=int,
        default=64,
        help="webhook POSTs Stripe's side may have in flight at once",
    )
    parser.add_argument(
        "--reconcile-every",
        type=float,
        default=15.0,
        help="seconds between reconciliation runs (0: none; production: 300)",
    )
    parser.add_argument(
        "--reconcile-after",
        type=int,
        default=1,
        help="PORTAIL_RECONCILE_AFTER_MINUTES of those runs (production: 5)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--real-hasher", action="store_true", help="PBKDF2 logins (slow)"
    )
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()

    import logging

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.hashers import MD5PasswordHasher, PBKDF2PasswordHasher

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql" or "bench" not in str(
        database["NAME"]
    ):
        sys.exit("Needs DATABASE_URL=postgres://.../<a database named *bench*>.")
    # This process prepares and checks: its warnings only.
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("stripe").setLevel(logging.WARNING)
    hasher = PBKDF2PasswordHasher() if args.real_hasher else MD5PasswordHasher()
    seconds: dict[str, float] = {}

    clock = time.perf_counter()
    targets = prepare(args.families, hasher.encode(PASSWORD, hasher.salt()))
    seconds["prepare"] = time.perf_counter() - clock

    logs = Path(tempfile.mkdtemp(prefix="payment_rush-"))
    processes = Processes(logs)
    children = Children()
    network: StripeNetwork | None = None

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        portal, standin = start_servers(processes, children, args)
        network = StripeNetwork(
            f"{portal}/paiements/webhook/stripe/", args.seed, args.webhook_senders
        )
        threading.Thread(
            target=network.feed, args=(children.deliveries,), daemon=True
        ).start()
        families = [
            Household(
                target=target,
                variant=variant_of(n),
                address=f"10.{n // 250}.{n % 250}.{n % 7 + 1}",
                portal=portal,
                standin=standin,
            )
            for n, target in enumerate(targets)
        ]
        print(
            f"{len(families)} families, gunicorn {args.workers} workers, "
            f"logs in {logs}",
            flush=True,
        )
        seconds["login"] = log_in_all(families)
        print(f"logged in in {seconds['login']:.1f} s; the rush starts", flush=True)
        if args.reconcile_every > 0:
            # Cron's job, run more often and sooner: it races late webhooks.
            children.start(
                reconcile_child,
                {
                    **server_env(args, logs, standin),
                    "PORTAIL_RECONCILE_AFTER_MINUTES": str(args.reconcile_after),
                },
                args.reconcile_every,
                children.runs,
            )
        rush_started = time.time()
        seconds["rush"] = rush(families)
        seconds["settle"] = settle(network, standin)
        sessions, events = standin_state(standin)
        money = check_money(targets, sessions)
    finally:
        children.stop_all()
        processes.stop_all()
        if network is not None:
            network.close()

    figures = figures_of(
        args=args,
        hasher=hasher.algorithm,
        families=families,
        network=network,
        events=events,
        money=money,
        seconds=seconds,
        rush_started=rush_started,
        reconcile_runs=children.reconcile_runs(),
        access_log=logs / "access.log",
    )
    checks_ok = (
        money["lost_payments"] == 0
        and money["double_allocations"] == 0
        and money["double_charges"] == 0
        and money["invoices_not_fully_paid"] == 0
        and money["payments"] == len(families)
        and Decimal(money["recorded_eur"]) == Decimal(money["expected_eur"])
    )
    figures["money_checks"] = "ok" if checks_ok else "FAILED"
    post, served = figures["webhook_post"] or {}, figures["webhook_server"] or {}
    waited = figures["card_to_payment_recorded"] or {}
    print(
        f"lost payments {money['lost_payments']}, double allocations "
        f"{money['double_allocations']}, double charges {money['double_charges']}; "
        f"{money['payments']} payments for {len(families)} families, "
        f"{money['recorded_eur']} EUR recorded of {money['expected_eur']} EUR\n"
        f"webhooks: {figures['webhook_posts']} POSTs ({len(events)} events, each "
        f"twice): at the sender p50 {post.get('p50_ms')} / p95 {post.get('p95_ms')}"
        f" / p99 {post.get('p99_ms')} / max {post.get('max_ms')} ms; in gunicorn "
        f"p50 {served.get('p50_ms')} / p95 {served.get('p95_ms')} / p99 "
        f"{served.get('p99_ms')} / max {served.get('max_ms')} ms\n"
        f"card -> payment recorded: p50 {waited.get('p50_ms')} / p95 "
        f"{waited.get('p95_ms')} / max {waited.get('max_ms')} ms\n"
        f"rush {seconds['rush']:.1f} s, {figures['payments_per_s']} payments/s, "
        f"{figures['webhook_posts_per_s']} webhook POSTs/s, "
        f"{figures['portal_requests']} portal requests, portal 5xx: "
        f"{sum(figures['portal_5xx'].values())}",
        flush=True,
    )
    print(json.dumps(figures, indent=2, default=str))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    with (out / "payment_rush.jsonl").open("a") as file:
        file.write(json.dumps(figures, default=str) + "\n")
    if checks_ok and not args.keep_logs:
        shutil.rmtree(logs, ignore_errors=True)
    else:
        print(f"logs kept in {logs}")
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
