"""What every benchmark shares: production-like settings on PostgreSQL, a
timer with peak memory, percentiles and the results file."""

import datetime
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# Production-like: DEBUG off (no query log, cached templates), e-mails queued
# in the database for the worker. Secrets are placeholders: nothing leaves
# the machine.
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "portail.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuv",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "PORTAIL_TASKS_BACKEND": "database",
    "DATABASE_CONN_MAX_AGE": "60",  # as .env.example advises for production
    "PORTAIL_LOG_FORMAT": "text",
    "STRIPE_SECRET_KEY": "sk_test_bench",
    "STRIPE_WEBHOOK_SECRET": "whsec_bench",
    "PORTAIL_PUBLIC_URL": "http://127.0.0.1:8000",
    "PORTAIL_SERVICE_PHONE": "0590 00 00 00",
    "PORTAIL_SERVICE_EMAIL": "restauration@example.org",
    "PORTAIL_SERVICE_HOURS": "du lundi au vendredi, de 8 h à 12 h",
}


def setup_django() -> None:
    """Set up Django for a benchmark; refuse anything but PostgreSQL."""
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    # Whatever the shell says: with DEBUG on, every query is logged and the
    # figures are no longer production's.
    os.environ["DJANGO_DEBUG"] = "0"
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql")):
        sys.exit(
            "The benchmarks run on PostgreSQL: set DATABASE_URL, e.g.\n"
            "  createdb -h 127.0.0.1 -U postgres portail_bench\n"
            "  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench"
        )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def backend_pid() -> int:
    """The PostgreSQL backend of Django's connection (same machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def backend_cpu(pid: int) -> float:
    """CPU seconds the PostgreSQL backend `pid` has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_now(pid: int) -> float:
    """This process's CPU seconds plus its database backend's: on a shared
    machine, less moved by the other load than wall time."""
    return time.process_time() + backend_cpu(pid)


def rss() -> int:
    """The process's resident memory now, in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(action: Callable[[], Any]) -> tuple[Any, float, int]:
    """Run `action`; returns its value, the wall time in seconds and how far
    the process's resident memory rose above where it started, in bytes
    (sampled every 20 ms by a thread: tracemalloc would slow the action
    down two- or threefold and distort the time)."""
    start_rss, peak, running = rss(), [0], threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], rss() - start_rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        value = action()
    finally:
        elapsed = time.perf_counter() - start
        running.clear()
        sampler.join()
        peak[0] = max(peak[0], rss() - start_rss)
    return value, elapsed, peak[0]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def write_results(name: str, figures: dict[str, Any]) -> None:
    """Print the figures and append them, dated, to bench/results/NAME.jsonl."""
    figures = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        **figures,
    }
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / f"{name}.jsonl").open("a") as file:
        file.write(json.dumps(figures, ensure_ascii=False) + "\n")
