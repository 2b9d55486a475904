"""Parent pages under load, against a baseline, in the same run.

The portal is served by gunicorn with the production configuration
(deploy/gunicorn.conf.py, DEBUG off, persistent database connections as in
.env.example; no worker recycling) on the generated PostgreSQL dataset.
wrk, a separate process, loads one page at a time for DURATION seconds with
CONNECTIONS connections, each request as one of 200 logged-in parents taken
in turn (each parent asks for their own pages). The baseline is a bare view
behind the same middleware and login that renders the base template
(bench/pages_urls.py); it is measured first and last, and the pages are
compared with the mean of the two.

Prints, for each page: requests per second, p50/p95/p99 latency, the ratio
to the baseline's throughput (target: at least 0.5) and the queries the
page makes for the parent with the most invoices and for one with the
fewest. Appends the figures to bench/results/pages.jsonl.

Usage, after `bench/generate.py` (see there), with wrk installed
(`apt-get install wrk`):
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_data
  .venv/bin/python bench/pages.py [DURATION] [CONNECTIONS]      # 15 s, 16
"""

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, setup_django, write_results  # noqa: E402

PARENTS = 200
LUA = """
local targets = {%(targets)s}
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  bad = 0
  n = 0
end
function request()
  n = n + 1
  local t = targets[(n * 7 + %(offset)s) %% #targets + 1]
  return wrk.format("GET", t[1], {["Cookie"] = t[2]})
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do bad_total = bad_total + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "not_200": %%d, "socket_errors": %%d, ' ..
    '"p50_us": %%d, "p95_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, bad_total,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sessions() -> list[dict]:
    """Log in PARENTS parents (the session rows the server will read) and
    note each one's pages."""
    from django.db.models import Count, Max
    from django.test import Client
    from django.urls import reverse

    from familles.models import User

    everyone = list(
        User.objects.filter(family__identifier__startswith="BK-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chosen = everyone[:: max(1, len(everyone) // PARENTS)][:PARENTS]
    parents = list(
        User.objects.filter(pk__in=chosen)
        .annotate(invoices=Count("family__invoices"), last=Max("family__invoices"))
        .filter(invoices__gt=0)
        .order_by("pk")
    )
    result = []
    for user in parents:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        result.append(
            {
                "cookie": f"sessionid={client.cookies['sessionid'].value}",
                "family": user.family_id,
                "invoices": user.invoices,
                "paths": {
                    "baseline": "/bench/baseline/",
                    "home": reverse("home"),
                    "invoice list": reverse("factures:list"),
                    "invoice detail": reverse("factures:detail", args=[user.last]),
                    "dossier": reverse("familles:dossier"),
                    "payment": reverse("paiements:home"),
                    "payment list": reverse("paiements:list"),
                },
            }
        )
    return result


def query_counts(parents: list[dict]) -> dict[str, list[int]]:
    """Queries of each page for the parent with the most invoices and the one
    with the fewest: the same count whatever the amount of data."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from familles.models import User

    chosen = [
        max(parents, key=lambda p: p["invoices"]),
        min(parents, key=lambda p: p["invoices"]),
    ]
    counts: dict[str, list[int]] = {}
    for parent in chosen:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(family_id=parent["family"]))
        for page, path in parent["paths"].items():
            client.get(path, secure=True)  # warm
            with CaptureQueriesContext(connection) as queries:
                status = client.get(path, secure=True).status_code
            if status != 200:
                sys.exit(f"{page} answered {status} to a logged-in parent")
            counts.setdefault(page, []).append(len(queries))
    return {"invoices": [p["invoices"] for p in chosen], **counts}


def serve(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "--access-logfile",
            os.devnull,
            # No worker recycling: in a 15-second window a recycled worker's
            # restart would fall on whichever page happens to be measured.
            "--max-requests",
            "0",
            "portail.wsgi",
        ],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/health/", timeout=5)  # noqa: S310 - local
            return process, url
        except urllib.error.HTTPError:  # answering (health may be degraded)
            return process, url
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                sys.exit("gunicorn did not start")
            time.sleep(0.5)


def check(url: str, parents: list[dict]) -> None:
    """Every page answers 200 to its parent before it is loaded (a redirect
    to the login page would be fast and wrong)."""
    for parent in parents[:5]:
        for page, path in parent["paths"].items():
            request = urllib.request.Request(  # noqa: S310 - local
                url + path, headers={"Cookie": parent["cookie"]}
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                if response.status != 200 or response.url != url + path:
                    sys.exit(f"{page} answered {response.status} at {response.url}")


def load(url: str, page: str, parents: list[dict], duration: int, conns: int) -> dict:
    targets = ", ".join(
        '{"%s", "%s"}' % (p["paths"][page], p["cookie"])  # noqa: UP031
        for p in parents
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"targets": targets, "offset": len(page)})
    try:
        output = subprocess.run(  # noqa: S603
            [
                shutil.which("wrk") or "wrk",
                "-t2",
                f"-c{conns}",
                f"-d{duration}s",
                "--timeout",
                "30s",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    figures = json.loads(output.strip().splitlines()[-1])
    seconds = figures["duration_us"] / 1e6
    return {
        "requests_per_s": round(figures["requests"] / seconds, 1),
        "p50_ms": round(figures["p50_us"] / 1000, 1),
        "p95_ms": round(figures["p95_us"] / 1000, 1),
        "p99_ms": round(figures["p99_us"] / 1000, 1),
        "requests": figures["requests"],
        "not_200": figures["not_200"],
        "socket_errors": figures["socket_errors"],
    }


def main(duration: int, conns: int) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.pages_settings"
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")  # no TLS proxy here
    os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
    static_root = Path(tempfile.mkdtemp(prefix="bench-static-"))
    os.environ["DJANGO_STATIC_ROOT"] = str(static_root)
    sys.path.insert(0, str(ROOT))
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("collectstatic", interactive=False, verbosity=0)
    logging.disable(logging.INFO)  # one "login" line per parent otherwise
    parents = sessions()
    counts = query_counts(parents)
    connection.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(ROOT)
    process, url = serve(env)
    results = {}
    try:
        check(url, parents)
        load(url, "baseline", parents, 3, conns)  # warm every worker
        pages = ["baseline", "home", "invoice list", "invoice detail", "dossier"]
        pages += ["payment", "payment list", "baseline"]
        for n, page in enumerate(pages):
            key = f"{page} (end)" if page == "baseline" and n else page
            results[key] = load(url, page, parents, duration, conns)
            print(f"{key:>16}: {results[key]}", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(static_root, ignore_errors=True)
    baseline = (
        results["baseline"]["requests_per_s"]
        + results["baseline (end)"]["requests_per_s"]
    ) / 2
    for page, figures in results.items():
        figures["ratio_to_baseline"] = round(figures["requests_per_s"] / baseline, 2)
        if not page.startswith("baseline"):
            figures["queries"] = counts[page]
    write_results(
        "pages",
        {
            "families": _families(),
            "duration_s": duration,
            "connections": conns,
            "gunicorn_workers": env.get("GUNICORN_WORKERS", "2 x cores + 1"),
            "queries_for_parents_with_invoices": counts["invoices"],
            "target": "each page >= 0.5 x the baseline's requests per second",
            "pages": results,
        },
    )


def _families() -> int:
    from familles.models import Family

    return Family.objects.count()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*(args + [15, 16][len(args) :]))
