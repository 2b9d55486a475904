"""Parent pages in-process, against the same baseline as bench/pages.py.

Where bench/pages.py measures the pages under load through gunicorn, this
one asks Django's test client for each page, in one process, with no
network and no concurrency: the page's own cost, which is what a change to
a view or a template moves. The parent with the most invoices asks for
each page ROUNDS x 100 times, pages interleaved so that the machine's noise
falls on all of them; medians. Under load the ratios come out a few
hundredths to a tenth lower than here.

Prints, for each page: the median time, the ratio to the baseline (the
baseline's time over the page's) in wall time and in CPU time (this process
plus its PostgreSQL backend, less moved by the machine's other load) and
the queries it makes, and the Python function calls of one request
(cProfile's count): the same on any machine and under any load, it shows
what a change to a page moved where the machine's noise hides it (times
on a shared machine vary by a third from one run to the next). Appends
the figures to bench/results/inprocess.jsonl.
Run on the one-year and the five-year datasets (bench/generate.py), the
ratios give each page's growth with history (docs/PERFORMANCE.md).

Usage, after `bench/generate.py` (see there):
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_data
  .venv/bin/python bench/inprocess.py [ROUNDS]        # 5
"""

import cProfile
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import backend_pid, cpu_now, setup_django, write_results  # noqa: E402

PER_ROUND = 100


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.pages_settings"
    static_root = tempfile.mkdtemp(prefix="portail-bench-static-")
    os.environ["DJANGO_STATIC_ROOT"] = static_root
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    parent, client, pages = parent_pages()
    backend = backend_pid()
    times: dict[str, list[float]] = {name: [] for name in pages}
    cpu: dict[str, list[float]] = {name: [] for name in pages}
    for _round in range(rounds):
        for name, path in pages.items():
            start, cpu_start = time.perf_counter(), cpu_now(backend)
            for _ in range(PER_ROUND):
                client.get(path, secure=True)
            times[name].append((time.perf_counter() - start) / PER_ROUND * 1000)
            cpu[name].append((cpu_now(backend) - cpu_start) / PER_ROUND * 1000)
    baseline = statistics.median(times["baseline"])
    baseline_cpu = statistics.median(cpu["baseline"])
    figures = {"parent_invoices": parent.invoices, "rounds": rounds, "pages": {}}
    calls = {name: calls_per_request(client, path) for name, path in pages.items()}
    for name, path in pages.items():
        with CaptureQueriesContext(connection) as queries:
            client.get(path, secure=True)
        median = statistics.median(times[name])
        median_cpu = statistics.median(cpu[name])
        figures["pages"][name] = {
            "ms": round(median, 2),
            "ratio_to_baseline": round(baseline / median, 2),
            "cpu_ms": round(median_cpu, 2),
            "cpu_ratio_to_baseline": round(baseline_cpu / median_cpu, 2),
            "queries": len(queries),
            "calls": calls[name],
            "calls_ratio_to_baseline": round(calls["baseline"] / calls[name], 2),
        }
        print(
            f"{name:>16}: {median:6.2f} ms, ratio {baseline / median:.2f}; "
            f"CPU {median_cpu:6.2f} ms, ratio {baseline_cpu / median_cpu:.2f}; "
            f"{len(queries)} queries; {calls[name]} calls, "
            f"ratio {calls['baseline'] / calls[name]:.2f}",
            flush=True,
        )
    write_results("inprocess", figures)
    shutil.rmtree(static_root, ignore_errors=True)


def parent_pages() -> tuple[Any, Any, dict[str, str]]:
    """The parent with the most invoices, a test client logged in as them,
    and the pages to measure (each answered 200 once, which warms it), with
    the static files collected as in production. After `setup_django()`,
    with bench.pages_settings and DJANGO_STATIC_ROOT set."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from factures.models import Invoice
    from familles.models import User

    call_command("collectstatic", interactive=False, verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]
    parent = (
        User.objects.filter(family__isnull=False)
        .annotate(invoices=Count("family__invoices"))
        .order_by("-invoices", "pk")
        .first()
    )
    last = Invoice.objects.filter(family=parent.family).order_by("-period").first()
    pages = {
        "baseline": "/bench/baseline/",
        "home": reverse("home"),
        "invoice list": reverse("factures:list"),
        "invoice detail": reverse("factures:detail", args=[last.pk]),
        "dossier": reverse("familles:dossier"),
        "payment": reverse("paiements:home"),
        "payment list": reverse("paiements:list"),
        "report list": reverse("signalements:report_list"),
        "statement": reverse("paiements:statement"),
    }
    client = Client()
    client.force_login(parent, backend="familles.auth_backends.AccountBackend")
    for name, path in pages.items():  # warm, and a redirect would be wrong
        status = client.get(path, secure=True).status_code
        if status != 200:
            sys.exit(f"{name} ({path}) answered {status}, not 200")
    return parent, client, pages


def calls_per_request(client: Any, path: str) -> int:
    """The Python function calls one request for `path` makes (cProfile)."""
    profile = cProfile.Profile()
    profile.enable()
    client.get(path, secure=True)
    profile.disable()
    return pstats.Stats(profile).total_calls


if __name__ == "__main__":
    main()
