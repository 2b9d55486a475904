"""The admin's home page (the agent's day) on the generated dataset, against
Django's bare admin index in the same process.

Both pages are rendered for the same superuser through a RequestFactory
(no middleware, no network): the difference is what portail/dashboard.py
reads and draws. ROUNDS rounds, the two pages interleaved so that the
machine's noise falls on both; medians. Also prints each part's own time
and the queries the page makes.

Usage, after `bench/generate.py` (see there):
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_data
  .venv/bin/python bench/dashboard.py [ROUNDS]        # 15
"""

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, write_results  # noqa: E402


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    os.environ["DJANGO_STATIC_ROOT"] = tempfile.mkdtemp(prefix="portail-bench-static-")
    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from familles.models import Family, User
    from portail import dashboard, urls

    call_command("collectstatic", interactive=False, verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]
    user = User.objects.filter(is_superuser=True).first() or User.objects.create(
        username="bench-dashboard", is_staff=True, is_superuser=True
    )
    factory = RequestFactory()

    def render(view) -> float:  # noqa: ANN001
        request = factory.get("/admin/")
        request.user = user
        start = time.perf_counter()
        view(request).render()
        return time.perf_counter() - start

    pages = {"bare admin index": urls._admin_index, "agent's day": urls._agent_index}
    for view in pages.values():  # warm caches and plans
        render(view)
    times: dict[str, list[float]] = {name: [] for name in pages}
    for _round in range(rounds):
        for name, view in pages.items():
            times[name].append(render(view))
    today = timezone.localdate()
    unpaid = dashboard._Unpaid(today)
    parts = {
        "takings": lambda: dashboard._takings(today),
        "unpaid (one pass)": lambda: dashboard._Unpaid(today),
        "blocked (after it)": lambda: dashboard._blocked(unpaid),
        "credits": dashboard._credits,
        "reports": lambda: dashboard._reports(today),
        "addresses": dashboard._addresses,
        "runs": dashboard._runs,
    }
    part_times = {}
    for name, part in parts.items():
        samples = []
        for _round in range(max(3, rounds // 3)):
            start = time.perf_counter()
            part()
            samples.append(time.perf_counter() - start)
        part_times[name] = statistics.median(samples)
    request = factory.get("/admin/")
    request.user = user
    with CaptureQueriesContext(connection) as queries:
        urls._agent_index(request).render()

    bare = statistics.median(times["bare admin index"])
    day = statistics.median(times["agent's day"])
    families = Family.objects.count()
    print(f"{families} families, {rounds} rounds, medians")
    print(f"  bare admin index   {bare * 1000:8.1f} ms")
    print(f"  agent's day        {day * 1000:8.1f} ms", end="")
    print(f"   ratio bare/day {bare / day:.3f}")
    print(f"  queries            {len(queries)}")
    for name, seconds in part_times.items():
        print(f"    {name:<20} {seconds * 1000:8.1f} ms")
    write_results(
        "dashboard",
        {
            "families": families,
            "rounds": rounds,
            "bare_ms": round(bare * 1000, 1),
            "day_ms": round(day * 1000, 1),
            "queries": len(queries),
            "parts_ms": {k: round(v * 1000, 1) for k, v in part_times.items()},
        },
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        if os.environ.get("DJANGO_STATIC_ROOT", "").startswith(tempfile.gettempdir()):
            shutil.rmtree(os.environ["DJANGO_STATIC_ROOT"], ignore_errors=True)
