"""The monthly jobs and the staff's lists on a generated dataset, in one
process: what grows with the families and with history, outside the
parent pages (bench/inprocess.py) and the run (bench/invoicing.py).

Each job runs ROUNDS times inside a transaction rolled back (nothing stays),
the jobs interleaved; medians of wall time and of CPU time (this process
plus its PostgreSQL backend, read from /proc). A job that only reads is
run again within one measurement until it spans 0.2 s, and the figures
divided by its runs: the backend's CPU time comes in ticks of 10 ms.
Run on the one-year and the five-year datasets, or on the 100,000-family
one, to see how each grows (docs/PERFORMANCE.md).

- reminders: `payment_reminders_send` on the reminder day, tasks queued in
  the database as in production (the choosing, recording and queuing; the
  e-mails are the worker's);
- block candidates: the families the rules may block;
- paper selection: the last invoiced month's paper invoices, as a batch
  freezes them;
- invoice list, state "to pay": the admin's filtered list, count and page;
- agent's day: the admin's home page's figures (`portail.dashboard`);
- credits, every family: `family_credits(None)`, which reads the payments
  whose `left` is not zero (`Payment.has_left`), beside "credits, derived":
  the same sums over every payment, allocation and refund, as it read
  before the flag. The two must give the same answer (checked).

Usage, after `bench/generate.py` (see there):
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_data
  .venv/bin/python bench/jobs.py [ROUNDS]        # 5
"""

import datetime
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import backend_pid, cpu_now, setup_django, write_results  # noqa: E402

MIN_SPAN = 0.2  # seconds


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    os.environ["PORTAIL_TASKS_BACKEND"] = "database"
    setup_django()
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from factures.models import Invoice
    from factures.printing import paper_invoices
    from familles.models import Family, User
    from paiements.accounts import family_credits
    from paiements.rules import block_candidates
    from paiements.services import payment_reminders_send
    from portail.dashboard import agent_day

    today = timezone.localdate()
    reminder_day = datetime.date(today.year, today.month, settings.PORTAIL_REMINDER_DAY)
    last_month = Invoice.objects.order_by("-period").values_list("period", flat=True)[0]
    staff = User.objects.filter(is_superuser=True).first() or User.objects.create(
        username="bench-jobs", is_staff=True, is_superuser=True
    )
    jobs: dict[str, Callable[[], Any]] = {
        "reminders": lambda: payment_reminders_send(today=reminder_day),
        "block candidates": lambda: block_candidates().count(),
        "paper selection": lambda: len(
            paper_invoices(last_month).values_list("pk", flat=True)
        ),
        "invoice list, to pay": lambda: (
            Invoice.objects.with_state("to_pay").count(),
            [
                invoice.pk
                for invoice in Invoice.objects.with_state("to_pay").order_by(
                    "-period", "-number"
                )[:100]
            ],
        )[0],
        "agent's day": lambda: len(agent_day(staff, today=today)),
        "credits, every family": lambda: family_credits(None),
        "credits, derived": credits_derived,
    }
    # Jobs that only read are run again within one measurement until it
    # spans MIN_SPAN: the backend's CPU time comes from /proc in ticks of
    # 10 ms, which a 20 ms job alone cannot be read with. A job that writes
    # (the reminders) runs once: a second run would find the first's rows.
    reads_only = {
        "block candidates",
        "paper selection",
        "invoice list, to pay",
        "agent's day",
        "credits, every family",
        "credits, derived",
    }
    backend = backend_pid()
    wall: dict[str, list[float]] = {name: [] for name in jobs}
    cpu: dict[str, list[float]] = {name: [] for name in jobs}
    answers: dict[str, Any] = {}
    for _round in range(rounds + 1):  # the first warms plans and caches
        for name, job in jobs.items():
            with transaction.atomic():
                cpu_start, start = cpu_now(backend), time.perf_counter()
                runs = 0
                while not runs or (
                    name in reads_only and time.perf_counter() - start < MIN_SPAN
                ):
                    answers[name] = job()
                    runs += 1
                elapsed = (time.perf_counter() - start) / runs
                used = (cpu_now(backend) - cpu_start) / runs
                transaction.set_rollback(True)
            if _round:
                wall[name].append(elapsed * 1000)
                cpu[name].append(used * 1000)
    figures: dict[str, Any] = {
        "families": Family.objects.count(),
        "invoices": Invoice.objects.count(),
        "open invoices": Invoice.objects.filter(is_open=True).count(),
        "months invoiced": Invoice.objects.values("period").distinct().count(),
        "rounds": rounds,
        "jobs": {},
    }
    if answers["credits, every family"] != answers["credits, derived"]:
        raise SystemExit("the flag's credits differ from the derived ones")
    for name in ("credits, every family", "credits, derived"):
        credits = answers[name]
        answers[name] = f"{len(credits)} families, {sum(credits.values())} €"
    from paiements.models import Payment

    figures["payments"] = Payment.objects.count()
    figures["payments with left"] = Payment.objects.filter(has_left=True).count()
    for name in jobs:
        figures["jobs"][name] = {
            "ms": round(statistics.median(wall[name]), 1),
            "cpu_ms": round(statistics.median(cpu[name]), 1),
            "answer": answers[name],
        }
        print(
            f"{name:>22}: {statistics.median(wall[name]):8.1f} ms, "
            f"CPU {statistics.median(cpu[name]):8.1f} ms  ({answers[name]})",
            flush=True,
        )
    write_results("jobs", figures)


def credits_derived() -> dict[int, Any]:
    """`family_credits(None)` without the flag: the three sums over every
    payment, allocation and refund ever recorded."""
    from django.db.models import Sum

    from factures.money import ZERO, round_money
    from paiements.models import Allocation, Payment, Refund

    credit: dict[int, Any] = {}
    for queryset, key, sign in (
        (Payment.objects.all(), "family_id", 1),
        (Allocation.objects.all(), "payment__family_id", -1),
        (Refund.objects.counted(), "family_id", -1),
    ):
        for pk, amount in (
            queryset.order_by()
            .values(key)
            .annotate(s=Sum("amount"))
            .values_list(key, "s")
        ):
            credit[pk] = credit.get(pk, ZERO) + sign * (amount or ZERO)
    return {pk: round_money(value) for pk, value in credit.items() if value > 0}


if __name__ == "__main__":
    main()
