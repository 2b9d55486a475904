"""What is still owed, read two ways in the same process: through the open
flag (`Invoice.is_open` and its partial index, as the portal does) and by
working out the state of every invoice ever issued (the derived rule alone,
as it did before the flag). Each consumer that looks for unpaid invoices is
timed both ways, interleaved, ROUNDS rounds; medians of wall time and of
CPU time (this process plus its PostgreSQL backend, read from /proc, so
that the machine's other load counts less).

Usage, after `bench/generate.py` (see there):
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_data
  .venv/bin/python bench/open_invoices.py [ROUNDS]        # 7
"""

import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import backend_pid, cpu_now, setup_django, write_results  # noqa: E402


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    setup_django()
    from django.db.models import F
    from django.utils import timezone

    from factures.models import Invoice, InvoiceQuerySet
    from familles.models import Family
    from paiements.models import ReminderSent
    from paiements.rules import block_candidates
    from portail.dashboard import _Unpaid

    backend = backend_pid()

    flagged = (InvoiceQuerySet.unpaid, InvoiceQuerySet.with_state)

    def derived_unpaid(self: InvoiceQuerySet) -> InvoiceQuerySet:
        return self.with_balance().filter(  # type: ignore[misc]
            paid__lt=F("total"), state__in=Invoice.UNPAID_STATES
        )

    def derived_with_state(self: InvoiceQuerySet, state: str) -> InvoiceQuerySet:
        return self.with_balance().filter(state=state)  # type: ignore[misc]

    @contextlib.contextmanager
    def way(name: str) -> Iterator[None]:
        if name == "derived":
            InvoiceQuerySet.unpaid = derived_unpaid  # type: ignore[method-assign]
            InvoiceQuerySet.with_state = derived_with_state  # type: ignore[method-assign]
        try:
            yield
        finally:
            InvoiceQuerySet.unpaid, InvoiceQuerySet.with_state = flagged  # type: ignore[method-assign]

    month = timezone.localdate().replace(day=1)
    consumers: dict[str, Callable[[], Any]] = {
        "block candidates": lambda: block_candidates().count(),
        "reminders' families": lambda: (
            Family.objects.filter(pk__in=Invoice.objects.unpaid().values("family_id"))
            .exclude(
                pk__in=ReminderSent.objects.filter(month=month).values("family_id")
            )
            .count()
        ),
        "invoice list, state to pay (count)": lambda: Invoice.objects.with_state(
            "to_pay"
        ).count(),
        "invoice list, state to pay (page)": lambda: [
            invoice.pk
            for invoice in Invoice.objects.with_state("to_pay").order_by(
                "-period", "-number"
            )[:100]
        ],
        "dashboard's unpaid by age": lambda: _Unpaid(timezone.localdate()).by_age,
    }

    results: dict[str, dict[str, Any]] = {}
    for name, consumer in consumers.items():
        samples: dict[str, dict[str, list[float]]] = {
            way_name: {"wall": [], "cpu": []} for way_name in ("derived", "flag")
        }
        answers = {}
        for way_name in samples:  # warm plans and caches; the same answer
            with way(way_name):
                answers[way_name] = consumer()
        if answers["derived"] != answers["flag"]:
            sys.exit(f"{name}: the two ways disagree: {answers}")
        for _round in range(rounds):
            for way_name in samples:
                with way(way_name):
                    cpu, start = cpu_now(backend), time.perf_counter()
                    consumer()
                    samples[way_name]["wall"].append(time.perf_counter() - start)
                    samples[way_name]["cpu"].append(cpu_now(backend) - cpu)
        median = {
            way_name: {k: statistics.median(v) for k, v in figures.items()}
            for way_name, figures in samples.items()
        }
        results[name] = {
            "derived wall ms": round(median["derived"]["wall"] * 1000, 1),
            "flag wall ms": round(median["flag"]["wall"] * 1000, 1),
            "derived cpu ms": round(median["derived"]["cpu"] * 1000, 1),
            "flag cpu ms": round(median["flag"]["cpu"] * 1000, 1),
            "cpu ratio flag/derived": round(
                median["flag"]["cpu"] / max(median["derived"]["cpu"], 1e-6), 3
            ),
            "answer": answers["flag"] if isinstance(answers["flag"], int) else None,
        }
    write_results(
        "open_invoices",
        {
            "families": Family.objects.count(),
            "invoices": Invoice.objects.count(),
            "open": Invoice.objects.filter(is_open=True).count(),
            "rounds": rounds,
            "consumers": results,
        },
    )


if __name__ == "__main__":
    main()
