"""A commune-sized, deterministic dataset for the benchmarks, on PostgreSQL.

FAMILIES families (prefix BK-) with guardians, children, a parent login each
(password `bench-2026`) and tariff brackets (one family in ten changes
bracket during the year); MONTHS months of canteen attendance from FIRST
(no canteen in July and August); every month but the last invoiced by the
real invoicing run; then the invoices put in varied states: paid by card
online, at the desk, in cash or by cheque, partly paid, unpaid, disputed,
credited. The last month is left for `bench/invoicing.py`.

Usage (an empty, migrated database):
  createdb -h 127.0.0.1 -U postgres portail_bench_data
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_data
  DJANGO_DEBUG=1 .venv/bin/python manage.py migrate
  DJANGO_DEBUG=1 .venv/bin/python manage.py createcachetable
  .venv/bin/python bench/generate.py 10000 2025-11 12

Seeded: the same arguments give the same families, meals and states.
"""

import datetime
import io
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django  # noqa: E402

PASSWORD = "bench-2026"  # noqa: S105 - benchmark logins
PRICES = [("A", "1.00"), ("B", "1.80"), ("C", "2.50"), ("D", "3.20")]
SCHOOL_DAYS = {0, 1, 3, 4}  # Monday, Tuesday, Thursday, Friday
HOLIDAY_MONTHS = {7, 8}


def months(first: datetime.date, count: int) -> list[datetime.date]:
    from factures.periods import next_month

    result = [first]
    while len(result) < count:
        result.append(next_month(result[-1]))
    return result


def school_days(period: datetime.date) -> list[datetime.date]:
    from factures.periods import month_end

    if period.month in HOLIDAY_MONTHS:
        return []
    day, end, days = period, month_end(period), []
    while day <= end:
        if day.weekday() in SCHOOL_DAYS:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def reference_data():  # noqa: ANN201
    from factures.models import Activity, Price, TariffBracket

    canteen, _ = Activity.objects.get_or_create(
        code="cantine", defaults={"label": "Restauration scolaire"}
    )
    brackets = []
    for code, price in PRICES:
        bracket, _ = TariffBracket.objects.get_or_create(
            code=code, defaults={"label": f"Tranche {code}"}
        )
        Price.objects.get_or_create(
            bracket=bracket,
            activity=canteen,
            valid_from=datetime.date(2020, 1, 1),
            defaults={"unit_price": Decimal(price)},
        )
        brackets.append(bracket)
    return canteen, brackets


def families_create(rng: random.Random, count: int, brackets, periods):  # noqa: ANN001, ANN201
    from django.contrib.auth.hashers import make_password

    from factures.models import BracketAssignment
    from familles.models import Child, Family, Guardian, User

    offset = Family.objects.filter(identifier__startswith="BK-").count()
    families = Family.objects.bulk_create(
        Family(
            identifier=f"BK-{offset + n:06d}",
            name=f"Famille{offset + n}",
            address_line1=f"{n % 90 + 1} rue Schoelcher",
            postal_code="97170",
            city="Petit-Bourg",
            paperless=rng.random() < 0.6,
        )
        for n in range(count)
    )
    assignments = []
    for family in families:
        assignments.append(
            BracketAssignment(
                family=family,
                bracket=rng.choice(brackets),
                valid_from=datetime.date(2020, 1, 1),
            )
        )
        if rng.random() < 0.1:  # a new bracket during the year
            assignments.append(
                BracketAssignment(
                    family=family,
                    bracket=rng.choice(brackets),
                    valid_from=rng.choice(periods[1:]),
                )
            )
    BracketAssignment.objects.bulk_create(assignments)
    Guardian.objects.bulk_create(
        Guardian(
            family=family,
            first_name=rng.choice(["Marie", "Josiane", "Steve", "Nadège", "Rudy"]),
            last_name=family.name,
            email=f"{family.identifier.lower()}@example.org"
            if rng.random() < 0.95
            else "",
        )
        for family in families
    )
    hashed = make_password(PASSWORD)  # one hash: hashing 10,000 would take minutes
    User.objects.bulk_create(
        User(username=family.identifier, family=family, password=hashed)
        for family in families
    )
    children = Child.objects.bulk_create(
        Child(
            family=family,
            first_name=f"Enfant{i}",
            last_name=family.name,
            birth_date=datetime.date(2014 + i, 1 + i, 1 + i),
        )
        for family in families
        for i in range(rng.choice([1, 1, 2, 2, 2, 3]))
    )
    return families, children


def attendance_create(rng: random.Random, children, canteen, periods) -> int:  # noqa: ANN001
    """Meals, written with COPY: two million rows in bulk."""
    from django.db import connection
    from django.utils import timezone

    from factures.models import Attendance
    from factures.sql import tables_analyze

    table = Attendance._meta.db_table
    now = timezone.now().isoformat()
    rows = 0
    for period in periods:
        days = school_days(period)
        buffer = io.StringIO()
        for child in children:
            rate = 0.45 + 0.5 * ((child.pk * 7919) % 100) / 100  # the child's habit
            for day in days:
                if rng.random() < rate:
                    buffer.write(f"{child.pk}\t{canteen.pk}\t{day}\t{now}\n")
                    rows += 1
        buffer.seek(0)
        with (
            connection.cursor() as cursor,
            cursor.copy(
                f"COPY {table} (child_id, activity_id, date, created_at) FROM STDIN"
            ) as copy,
        ):
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
    # As the attendance import does: planned on an empty table's statistics,
    # the first month's run took 219 s at 100,000 families.
    tables_analyze(Attendance)
    return rows


def month_invoice(period: datetime.date) -> int:
    """Invoice the month by the real run, then date its invoices on the day
    that run would have issued them, the first of the next month at 8:00,
    not on the day the dataset is made: a statement, the invoices' ages and
    the payment windows read these dates."""
    from django.utils import timezone

    from factures.models import Invoice
    from factures.periods import next_month
    from factures.services import invoice_issue_month

    result = invoice_issue_month(
        period=period, issued_by=None, today=next_month(period)
    )
    issued_on = datetime.datetime.combine(
        next_month(period), datetime.time(8), tzinfo=timezone.get_current_timezone()
    )
    Invoice.objects.filter(pk__in=result.created_ids).update(issued_at=issued_on)
    return result.created_count


def notices_sync() -> None:
    """Record each family as told of its block state (without e-mails): the
    payments below are written in bulk, not through the services that tell
    families they are unblocked."""
    from familles.models import Family
    from paiements.models import BlockNotice
    from paiements.rules import families_blocked

    blocked = [
        pk
        for pk, is_blocked in families_blocked(
            Family.objects.values_list("pk", flat=True)
        ).items()
        if is_blocked
    ]
    BlockNotice.objects.all().delete()
    BlockNotice.objects.bulk_create(
        BlockNotice(family_id=pk, blocked=True) for pk in blocked
    )


def states_set(  # noqa: C901
    rng: random.Random,
    period: datetime.date,
    latest: bool,
    counts: dict[str, int],
    sequences: dict[tuple[str, int], int],
) -> None:
    """Pay, part-pay, dispute and credit the month's invoices, as payments
    would have left them (by the next invoicing run, the last month's
    payment window is over; its invoices are the least paid all the same)."""
    from django.db import transaction
    from django.utils import timezone
    from simple_history.utils import bulk_create_with_history

    from factures.models import (
        CreditNote,
        CreditNoteLine,
        Invoice,
        InvoiceDispute,
    )
    from factures.numbering import CREDIT_NOTE_SERIES, RECEIPT_SERIES
    from paiements.models import Allocation, CheckoutSession, Payment

    # Named, not listed from Payment.Method: the same seed gives the same
    # payments whatever methods the portal adds (PayFiP's came later).
    GENERATED_METHODS = [  # noqa: N806
        Payment.Method.CARD_ONLINE,
        Payment.Method.CARD_DESK,
        Payment.Method.CASH,
        Payment.Method.CHEQUE,
    ]

    tz = timezone.get_current_timezone()

    def number(series: str, year: int) -> str:
        sequences[(series, year)] = sequences.get((series, year), 0) + 1
        return f"{series}{year}-{sequences[(series, year)]:06d}"

    payments, allocations, sessions = [], [], []
    notes, note_lines, disputes = [], [], []
    for invoice in Invoice.objects.filter(
        period=period, family_identifier__startswith="BK-"
    ).order_by("pk"):
        draw = rng.random()
        reliable = (invoice.family_id * 7919) % 100 < 85  # most families pay
        chance = (0.93 if latest else 0.97) if reliable else (0.4 if latest else 0.5)
        paid_share = rng.random() < chance
        paid_on = datetime.datetime.combine(
            invoice.period.replace(day=1) + datetime.timedelta(days=33),
            datetime.time(9 + rng.randrange(9), rng.randrange(60)),
            tzinfo=tz,
        ).replace(day=rng.randrange(1, 11))
        if draw < 0.02:
            disputes.append(
                InvoiceDispute(
                    invoice=invoice,
                    reason="Repas compté en trop (benchmark)",
                    opened_at=paid_on,
                )
            )
            counts["disputed"] += 1
            continue
        if draw < 0.05:
            amount = min(invoice.total, Decimal("3.60"))
            note = CreditNote(
                number=number(CREDIT_NOTE_SERIES, paid_on.year),
                invoice=invoice,
                reason="Absence justifiée (benchmark)",
                total=amount,
                issued_at=paid_on,
            )
            notes.append(note)
            note_lines.append(
                CreditNoteLine(
                    credit_note=note,
                    label="Repas non pris",
                    quantity=1,
                    unit_price=amount,
                    amount=amount,
                )
            )
            counts["credited"] += 1
            due = invoice.total - amount
        else:
            due = invoice.total
        if not paid_share or due <= 0:
            counts["unpaid"] += 1
            continue
        amount = due
        if rng.random() < 0.06:  # part of it, at the desk
            amount = (due / 2).quantize(Decimal("0.01"))
            counts["part_paid"] += 1
        else:
            counts["paid"] += 1
        method = rng.choices(GENERATED_METHODS, weights=[70, 10, 12, 8], k=1)[0]
        session = None
        if method == Payment.Method.CARD_ONLINE:
            session = CheckoutSession(
                family_id=invoice.family_id,
                idempotency_key=f"bench-{invoice.pk}",
                remote_id=f"cs_bench_{invoice.pk}",
                amount=amount,
                status=CheckoutSession.Status.COMPLETE,
                created_at=paid_on,
                expires_at=paid_on + datetime.timedelta(minutes=30),
                closed_at=paid_on,
            )
            sessions.append(session)
        payment = Payment(
            number=number(RECEIPT_SERIES, paid_on.year),
            family_id=invoice.family_id,
            method=method,
            amount=amount,
            received_at=paid_on,
            checkout=session,
            reference=f"CHQ{invoice.pk}" if method == Payment.Method.CHEQUE else "",
        )
        payments.append(payment)
        allocations.append(
            Allocation(
                payment=payment, invoice=invoice, amount=amount, created_at=paid_on
            )
        )
    with transaction.atomic():
        CheckoutSession.objects.bulk_create(sessions)
        for payment in payments:
            payment.checkout_id = payment.checkout.pk if payment.checkout else None
        bulk_create_with_history(payments, Payment)
        for allocation in allocations:
            allocation.payment_id = allocation.payment.pk
        Allocation.objects.bulk_create(allocations)
        bulk_create_with_history(notes, CreditNote)
        for line in note_lines:
            line.credit_note_id = line.credit_note.pk
        CreditNoteLine.objects.bulk_create(note_lines)
        InvoiceDispute.objects.bulk_create(disputes)
        # Written in bulk here, not through the services: the open flags
        # follow from what was written, as the services keep them.
        Invoice.objects.filter(
            period=period, family_identifier__startswith="BK-"
        ).open_flags_sync()
        Payment.objects.filter(pk__in=[p.pk for p in payments]).left_flags_sync()


def sequences_advance(sequences: dict[tuple[str, int], int]) -> None:
    """The portal's own receipt and credit note numbers follow these."""
    from django.db.models import F

    from factures.models import NumberSequence

    for (series, year), last in sequences.items():
        NumberSequence.objects.bulk_create(
            [NumberSequence(series=series, year=year)], ignore_conflicts=True
        )
        NumberSequence.objects.filter(series=series, year=year).update(
            last_number=F("last_number") + last
        )


def main(count: int, first: str, month_count: int) -> None:
    setup_django()
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from factures.periods import parse_period

    rng = random.Random(20261201)  # noqa: S311 - benchmark data
    periods = months(parse_period(first), month_count)
    start = time.perf_counter()
    canteen, brackets = reference_data()
    families, children = families_create(rng, count, brackets, periods)
    print(f"{len(families)} families, {len(children)} children", flush=True)
    rows = attendance_create(rng, children, canteen, periods)
    print(
        f"{rows} attendance rows over {month_count} months "
        f"({time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    counts = dict.fromkeys(["paid", "part_paid", "unpaid", "disputed", "credited"], 0)
    sequences: dict[tuple[str, int], int] = {}
    invoiced = [p for p in periods[:-1] if p.month not in HOLIDAY_MONTHS]
    issued = 0
    for period in invoiced:
        month_start = time.perf_counter()
        created = month_invoice(period)
        issued += created
        states_set(rng, period, period == invoiced[-1], counts, sequences)
        notices_sync()
        print(
            f"  {period:%Y-%m}: {created} invoices "
            f"({time.perf_counter() - month_start:.0f} s)",
            flush=True,
        )
    sequences_advance(sequences)
    # The "invoice available" e-mails of a year ago are not the benchmark's.
    DBTaskResult.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"{issued} invoices issued: {counts}; "
        f"{periods[-1]:%Y-%m} left to invoice; "
        f"{time.perf_counter() - start:.0f} s in all"
    )


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
