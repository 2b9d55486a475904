"""The month's invoicing run against a baseline, in the same process.

- run: `invoice_issue_month` over every family of the generated dataset;
- baseline: bulk-inserting the same number of invoice and line rows (what
  the run could not go faster than).

Prints wall time, peak Python memory (tracemalloc) and the ratio, and
appends them to bench/results/invoicing.jsonl. Needs `bench/generate.py`
first, on PostgreSQL (DATABASE_URL). The baseline's rows are rolled back.

Usage: python bench/invoicing.py YYYY-MM
"""

import datetime
import json
import os
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portail.settings")


def measure(action):  # noqa: ANN001, ANN201
    tracemalloc.start()
    start = time.perf_counter()
    value = action()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return value, elapsed, peak


def main(month: str) -> None:
    import django

    django.setup()
    from django.db import transaction

    from factures.models import Invoice, InvoiceLine
    from factures.periods import month_end, next_month, parse_period
    from factures.services import invoice_issue_month
    from familles.models import Family

    period = parse_period(month)
    today = next_month(period) + datetime.timedelta(days=1)
    families = list(Family.objects.filter(identifier__startswith="BK-").order_by("pk"))

    def baseline():  # noqa: ANN202
        with transaction.atomic():
            invoices = Invoice.objects.bulk_create(
                Invoice(
                    number=f"BASE-{f.pk}",
                    family=f,
                    period=period,
                    total=Decimal("1"),
                    family_identifier=f"BASE{f.pk}",
                    family_name=f.name,
                    billing_address="x",
                    paperless=False,
                )
                for f in families
            )
            from familles.models import Child

            first_child = {
                c.family_id: c for c in Child.objects.filter(family__in=families)
            }
            InvoiceLine.objects.bulk_create(
                InvoiceLine(
                    invoice=i,
                    child=first_child[i.family_id],
                    activity_id=1,
                    child_name="x",
                    label="x",
                    bracket_label="x",
                    quantity=1,
                    unit_price=Decimal("1"),
                    amount=Decimal("1"),
                )
                for i in invoices
            )
            transaction.set_rollback(True)
        return len(invoices)

    _, base_time, base_peak = measure(baseline)
    result, run_time, run_peak = measure(
        lambda: invoice_issue_month(period=period, issued_by=None, today=today)
    )
    figures = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "month": month,
        "families": len(families),
        "invoices": len(result.created),
        "errors": len(result.errors),
        "run_seconds": round(run_time, 2),
        "run_peak_mb": round(run_peak / 2**20, 1),
        "baseline_seconds": round(base_time, 2),
        "baseline_peak_mb": round(base_peak / 2**20, 1),
        "ratio": round(run_time / base_time, 1) if base_time else None,
        "month_end": month_end(period).isoformat(),
    }
    print(json.dumps(figures, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    with (out / "invoicing.jsonl").open("a") as file:
        file.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
