"""The month's invoicing run against a baseline, in the same process.

- baseline: bulk-inserting as many invoice and line rows as the run writes
  (what the run could not go faster than), their foreign keys checked as a
  commit would check them (SET CONSTRAINTS ALL IMMEDIATE on PostgreSQL,
  where Django's constraints are deferred to the commit), then rolled back.
  The same without the checks, as measured before 27 Nov 2026, is printed
  too ("unchecked"): rolled back unchecked, rows cost less than any commit
  of them;
- run: `invoice_issue_month` over every family with meals in the month,
  production settings (DEBUG off, e-mails queued in the database);

Prints wall time, how far resident memory rose, and the ratio, and
appends them to bench/results/invoicing.jsonl. The run's invoices stay: run
it on a copy of the generated database, which PostgreSQL makes in seconds.

`--parts` runs the month alone, with timers around its parts (history rows,
meals marked, inserts, block notices...), and prints where the time went,
with the CPU time of the process and of its PostgreSQL backend; the timers
cost some 10 %, so its total is not the run's figure.

Usage, after `bench/generate.py` (see there) into portail_bench_data:
  dropdb -h 127.0.0.1 -U postgres --if-exists portail_bench_run
  createdb -h 127.0.0.1 -U postgres -T portail_bench_data portail_bench_run
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_run \
    .venv/bin/python bench/invoicing.py 2026-10 [--parts]
"""

import functools
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    backend_cpu,
    backend_pid,
    measure,
    setup_django,
    write_results,
)


def parts(month: str) -> None:
    """The run alone, its parts timed (see the module's docstring)."""
    setup_django()
    from django.db.models import QuerySet

    from factures import services
    from factures.periods import next_month, parse_period

    spent: Counter[str] = Counter()

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start

        return wrapper

    bulk_create = QuerySet.bulk_create

    def bulk_create_timed(self: QuerySet, objs: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return bulk_create(self, objs, *args, **kwargs)
        finally:
            spent[f"insert {self.model.__name__}"] += time.perf_counter() - start

    QuerySet.bulk_create = bulk_create_timed
    for name, attribute in [
        ("batches in all (reads, writes, commits)", "_invoice_families_month"),
        ("invoices and lines inserted (rows_insert)", "rows_insert"),
        ("history rows (history_copy)", "history_copy"),
        ("meals marked with their line", "_attendance_link"),
        ("grouping meals into lines", "_group_meals"),
        ("invoice numbers", "next_numbers"),
        ("ANALYZE", "tables_analyze"),
        ("e-mails queued", "_announce_invoices"),
    ]:
        setattr(services, attribute, timed(name, getattr(services, attribute)))
    services.invoices_changed.send = timed(
        "block notices", services.invoices_changed.send
    )
    period = parse_period(month)
    backend = backend_pid()
    backend_start, cpu_start = backend_cpu(backend), time.process_time()
    start = time.perf_counter()
    result = services.invoice_issue_month(
        period=period, issued_by=None, today=next_month(period)
    )
    print(
        f"{result.created_count} invoices in {time.perf_counter() - start:.1f} s; "
        f"CPU {time.process_time() - cpu_start:.1f} s in Python, "
        f"{backend_cpu(backend) - backend_start:.1f} s in PostgreSQL"
    )
    for name, seconds in spent.most_common():
        print(f"{seconds:8.2f} s  {name}")


def main(month: str) -> None:
    setup_django()
    from django.db import connection, transaction
    from django.db.models import Count

    from factures.models import Attendance, Invoice, InvoiceLine
    from factures.periods import month_end, next_month, parse_period
    from factures.services import invoice_issue_month
    from familles.models import Family

    period = parse_period(month)
    today = next_month(period)
    meals = Attendance.objects.filter(
        date__gte=period, date__lte=month_end(period), invoice_line__isnull=True
    )
    lines_per_family = dict(
        meals.values("child__family_id")
        .annotate(n=Count("child_id", distinct=True))
        .values_list("child__family_id", "n")
    )
    families = list(Family.objects.filter(pk__in=lines_per_family).order_by("pk"))
    if not families:
        sys.exit(f"No meal left to invoice in {month}: run bench/generate.py first.")
    child_of = dict(meals.values_list("child__family_id", "child_id").distinct())
    activity_id = meals.values_list("activity_id", flat=True).first()

    def baseline(checked: bool = True) -> int:
        with transaction.atomic():
            if checked:
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            invoices = Invoice.objects.bulk_create(
                Invoice(
                    number=f"BASE-{family.pk}",
                    family=family,
                    period=period,
                    total=Decimal("1"),
                    family_identifier=f"BASE{family.pk}",
                    family_name=family.name,
                    billing_address="x",
                    paperless=False,
                )
                for family in families
            )
            lines = InvoiceLine.objects.bulk_create(
                InvoiceLine(
                    invoice=invoice,
                    child_id=child_of[invoice.family_id],
                    activity_id=activity_id,
                    child_name="x",
                    label="x",
                    bracket_label="x",
                    quantity=1,
                    unit_price=Decimal("1"),
                    amount=Decimal("1"),
                )
                for invoice in invoices
                for _ in range(lines_per_family[invoice.family_id])
            )
            transaction.set_rollback(True)
        return len(lines)

    def run() -> object:
        return invoice_issue_month(period=period, issued_by=None, today=today)

    # The run first: the baseline's allocations would otherwise raise the
    # process's memory before the run is measured.
    result, run_time, run_peak = measure(run)
    baseline_lines, base_time, base_peak = measure(baseline)
    _, unchecked_time, _ = measure(lambda: baseline(checked=False))
    write_results(
        "invoicing",
        {
            "month": month,
            "families": len(families),
            "invoices": result.created_count,
            "lines": baseline_lines,
            "errors": len(result.errors),
            "run_seconds": round(run_time, 2),
            "run_memory_rise_mb": round(run_peak / 2**20, 1),
            "baseline_seconds": round(base_time, 2),
            "baseline_memory_rise_mb": round(base_peak / 2**20, 1),
            "ratio_to_baseline": round(run_time / base_time, 2),
            "unchecked_baseline_seconds": round(unchecked_time, 2),
            "ratio_to_unchecked_baseline": round(run_time / unchecked_time, 2),
            "targets": "run <= 60 s for 100,000 families (issue 22), ratio <= 4",
        },
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[2] == "--parts":
        parts(sys.argv[1])
    elif len(sys.argv) == 2:
        main(sys.argv[1])
    else:
        sys.exit(__doc__)
