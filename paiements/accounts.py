"""A family's account: what it owes, what it has in credit, its balance, and
the statement (*relevé de compte*) of every record that made them.

Reading only; the writes that move credit are in `paiements.credit`.

- **Owed**: what its invoices still wait for (`Invoice.due`), disputed
  invoices included but told apart (they are frozen until the report is
  closed).
- **Credit**: money received and not (or no longer) allocated to an invoice,
  and not refunded: `sum(payments) - sum(their allocations) - sum(refunds)`.
  A credit note on a paid invoice takes the money off the invoice
  (`paiements.credit.allocations_release`), so what the family is owed back
  shows here.
- **Balance**: credit - owed; positive in the family's favour. It is also
  `payments - refunds - (invoices - credit notes)`: the statement's running
  balance, and a test holds the two equal.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from factures.aging import day_start
from factures.models import CreditNote, Invoice, InvoiceDispute
from factures.money import ZERO, format_euros, round_money
from factures.sql import PerInvoice, PerPayment
from familles.models import Family
from paiements.models import Allocation, Payment, Refund


def _sum(queryset: QuerySet, name: str = "amount") -> Decimal:
    return round_money(queryset.aggregate(s=Sum(name))["s"] or ZERO)


def family_credits(family_ids: Iterable[int] | None) -> dict[int, Decimal]:
    """The credit of each family that has some (three grouped queries, for
    any number of families; None: every family): the block and the
    reminders count what a family owes after it, the staff's home page
    what all families hold. Only the payments whose `left` is not zero are
    read (`has_left`, the partial index `payment_left`): the others add
    nothing, and they are nearly all of a long history."""
    payments = Payment.objects.filter(has_left=True)
    allocations = Allocation.objects.filter(payment__has_left=True)
    refunds = Refund.objects.counted().filter(payment__has_left=True)
    if family_ids is not None:
        family_ids = list(family_ids)
        payments = payments.filter(family_id__any=family_ids)
        allocations = allocations.filter(payment__family_id__any=family_ids)
        refunds = refunds.filter(family_id__any=family_ids)
    credit: dict[int, Decimal] = {}
    rows = [
        (payments, "family_id", 1),
        (allocations, "payment__family_id", -1),
        (refunds, "family_id", -1),
    ]
    for queryset, key, sign in rows:
        for pk, amount in (
            queryset.order_by()
            .values(key)
            .annotate(s=Sum("amount"))
            .values_list(key, "s")
        ):
            credit[pk] = credit.get(pk, ZERO) + sign * (amount or ZERO)
    return {pk: round_money(value) for pk, value in credit.items() if value > 0}


def family_credit(family: Family) -> Decimal:
    """One family's credit, in one query over its payments with money left
    (`family_credits` for many families at once)."""
    left = _left(family)
    return left if left > 0 else ZERO


def _money(value: object) -> Decimal:
    """A sum read by raw SQL as money: PostgreSQL gives a Decimal, SQLite a
    float or an int (its decimal columns have numeric affinity)."""
    if value is None:
        return ZERO
    return round_money(value if isinstance(value, Decimal) else Decimal(str(value)))


@cache
def _account_sql() -> tuple[str, str, str]:
    """Three sums for the account as the records stand: what the family's
    open invoices still wait for (`Invoice.due` of `owing()`), the part of it
    frozen by an open dispute, and what its payments hold (`left` of the
    payments with money left), each a scalar subquery taking the family's id.

    Written by hand: the same sums through the ORM cost every parent page
    two queries, and more time to compile than to run. Each goes through a
    partial index (`invoice_open`, `payment_left`), whatever the history's
    length. A test holds them equal to the ORM's (`owing()`, `with_left()`)
    after every test that touched the database."""
    invoice, payment = Invoice._meta.db_table, Payment._meta.db_table
    total = "COALESCE(SUM(r.total), 0)"
    amount = "COALESCE(SUM(r.amount), 0)"
    # The same sums as `with_amounts()` and `with_left()`, by the same writer.
    remaining = (
        f"i.total - {PerInvoice.sql(CreditNote, total, 'i.id')}"
        f" - {PerInvoice.sql(Allocation, amount, 'i.id')}"
    )
    due = f"CASE WHEN {remaining} > 0 THEN {remaining} ELSE 0 END"
    disputed = PerInvoice.sql(
        InvoiceDispute, "COUNT(*) > 0", "i.id", where="r.closed_at IS NULL"
    )
    left = (
        f"p.amount - {PerPayment.sql(Allocation, amount, 'p.id')}"
        f" - {PerPayment.sql(Refund, amount, 'p.id', Refund.counted_sql('r'))}"
    )
    open_invoices = f"FROM {invoice} i WHERE i.family_id = %s AND i.is_open"
    # Names and constants from the models; the family's id is a parameter.
    return (
        f"(SELECT SUM({due}) {open_invoices})",
        f"(SELECT SUM(CASE WHEN {disputed} THEN {due} ELSE 0 END) {open_invoices})",
        f"(SELECT SUM({left}) FROM {payment} p "  # noqa: S608
        f"WHERE p.family_id = %s AND p.has_left)",
    )


def _select(*sums: str, params: list) -> tuple[Decimal, ...]:
    """These scalar subqueries' sums, as money, in one query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(sums), params)
        return tuple(_money(value) for value in cursor.fetchone())


def _left(family: Family) -> Decimal:
    """What the family's payments hold, all records counted: the sum of
    `left` over the payments whose `left` is not zero (`has_left`)."""
    return _select(_account_sql()[2], params=[family.pk])[0]


def covered_by_credit(invoices: list[Invoice], credit: Decimal) -> set[int]:
    """The invoices (oldest first in `invoices`) that the credit pays in
    full, taken in order while it lasts: they are not counted as unpaid for
    the block nor reminded, though an agent still has to allocate it."""
    covered = set()
    for invoice in invoices:
        if invoice.due > credit:
            break
        credit -= invoice.due
        covered.add(invoice.pk)
    return covered


@dataclass(frozen=True)
class FamilyAccount:
    """The account of a family at a moment (`at`)."""

    at: datetime.datetime
    owed: Decimal  # what its invoices still wait for, disputed ones included
    disputed: Decimal  # the part of `owed` frozen by an open dispute
    credit: Decimal  # received, not allocated, not refunded

    @property
    def balance(self) -> Decimal:
        """Positive: in the family's favour; negative: what it owes."""
        return self.credit - self.owed

    @property
    def payable(self) -> Decimal:
        """What the family still has to pay once its credit is used."""
        return max(self.owed - self.disputed - self.credit, ZERO)


def _until(at: datetime.datetime, name: str) -> Q:
    """Records dated up to `at` (an account as it stood)."""
    return Q(**{f"{name}__lte": at})


def _by_invoice(
    queryset: QuerySet, name: str, invoices: dict[int, Decimal]
) -> dict[int, Decimal]:
    """The sum of `name` over the rows of each of these invoices (0 if none)."""
    sums = dict.fromkeys(invoices, ZERO)
    sums.update(
        queryset.filter(invoice_id__in=list(invoices))
        .order_by()
        .values("invoice_id")
        .annotate(s=Sum(name))
        .values_list("invoice_id", "s")
    )
    return sums


def family_account(
    family: Family, *, at: datetime.datetime | None = None
) -> FamilyAccount:
    """The family's account as its records stand (all of them), or as they
    stood at `at`. "Now" is not a moment: a record dated a little ahead of
    the clock (another server's) is counted all the same. As the records
    stand, only the open invoices are read (a settled one owes nothing) and
    only the payments with money left: what history does not change."""
    if at is None:
        # As the records stand: the open invoices and the payments with
        # money left, in one query.
        owed, disputed, left = _select(*_account_sql(), params=[family.pk] * 3)
        return FamilyAccount(
            at=timezone.now(), owed=owed, disputed=disputed, credit=left
        )
    invoices = Invoice.objects.filter(_until(at, "issued_at"), family=family)
    totals = dict(invoices.values_list("pk", "total"))
    credited = _by_invoice(
        CreditNote.objects.filter(_until(at, "issued_at")), "total", totals
    )
    paid = _by_invoice(
        Allocation.objects.filter(_until(at, "created_at")), "amount", totals
    )
    disputes = InvoiceDispute.objects.filter(
        _until(at, "opened_at"), invoice_id__in=list(totals)
    )
    disputed_ids = set(
        disputes.filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at)).values_list(
            "invoice_id", flat=True
        )
    )
    owed = disputed = ZERO
    for pk, total in totals.items():
        due = max(total - credited[pk] - paid[pk], ZERO)
        owed += due
        if pk in disputed_ids:
            disputed += due
    received = _sum(Payment.objects.filter(_until(at, "received_at"), family=family))
    allocated = _sum(
        Allocation.objects.filter(_until(at, "created_at"), payment__family=family)
    )
    refunded = _sum(
        Refund.objects.counted().filter(_until(at, "created_at"), family=family)
    )
    credit = round_money(received - allocated - refunded)
    return FamilyAccount(
        at=at,
        owed=round_money(owed),
        disputed=round_money(disputed),
        credit=credit,
    )


# --- The statement ------------------------------------------------------------------


@dataclass(frozen=True)
class StatementEntry:
    """One record of the family's account. `debit` raises what the family
    owes (an invoice, a refund, a reversed payment), `credit` lowers it (a
    payment, a credit note); an allocation moves no money and has neither."""

    when: datetime.datetime
    kind: str  # invoice, credit_note, payment, allocation, refund
    label: str
    number: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    balance: Decimal = ZERO  # running, positive in the family's favour
    url_name: str = ""
    pk: int = 0


@dataclass
class Statement:
    family: Family
    start: datetime.date
    end: datetime.date
    opening: Decimal
    entries: list[StatementEntry] = field(default_factory=list)
    closing: Decimal = ZERO

    @property
    def total_debit(self) -> Decimal:
        return sum((entry.debit for entry in self.entries), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((entry.credit for entry in self.entries), ZERO)


def _records(
    family: Family, first: datetime.datetime, after: datetime.datetime
) -> list[StatementEntry]:
    """The records of the family's account from `first` to before `after`,
    unordered, without balances. Each query reads the fields an entry
    shows, as tuples: compiling and reading whole models, with the rows
    they point to, was most of the statement's time."""
    entries = [
        StatementEntry(
            when=issued_at,
            kind="invoice",
            label=_("Invoice for %(month)s") % {"month": period.strftime("%m/%Y")},
            number=number,
            debit=total,
            pk=pk,
        )
        for issued_at, period, number, total, pk in Invoice.objects.filter(
            family_id=family.pk, issued_at__gte=first, issued_at__lt=after
        )
        .order_by()
        .values_list("issued_at", "period", "number", "total", "pk")
    ]
    entries += [
        StatementEntry(
            when=issued_at,
            kind="credit_note",
            label=(
                _("Cancellation of invoice %(number)s")
                if is_cancellation
                else _("Credit note on invoice %(number)s")
            )
            % {"number": invoice_number},
            number=number,
            credit=total,
            pk=pk,
        )
        for issued_at, is_cancellation, invoice_number, number, total, pk in (
            CreditNote.objects.filter(
                invoice__family_id=family.pk, issued_at__gte=first, issued_at__lt=after
            )
            .order_by()
            .values_list(
                "issued_at",
                "is_cancellation",
                "invoice__number",
                "number",
                "total",
                "pk",
            )
        )
    ]
    for received_at, method, reversed_number, number, amount, pk in (
        Payment.objects.filter(
            family_id=family.pk, received_at__gte=first, received_at__lt=after
        )
        .order_by()
        .values_list(
            "received_at", "method", "reverses__number", "number", "amount", "pk"
        )
    ):
        if reversed_number is not None:
            entries.append(
                StatementEntry(
                    when=received_at,
                    kind="payment",
                    label=_("Reversal of payment %(number)s")
                    % {"number": reversed_number},
                    number=number,
                    debit=-amount,
                    pk=pk,
                )
            )
        else:
            entries.append(
                StatementEntry(
                    when=received_at,
                    kind="payment",
                    label=_("Payment (%(method)s)")
                    % {"method": Payment.Method(method).label},
                    number=number,
                    credit=amount,
                    pk=pk,
                )
            )
    entries += [
        StatementEntry(
            when=created_at,
            kind="allocation",
            label=(
                _("%(amount)s of payment %(payment)s allocated to invoice %(invoice)s")
                if amount > 0
                else _(
                    "%(amount)s of payment %(payment)s taken back off invoice "
                    "%(invoice)s"
                )
            )
            % {
                "amount": format_euros(abs(amount)),
                "payment": payment_number,
                "invoice": invoice_number,
            },
            number="",
            pk=pk,
        )
        for created_at, amount, payment_number, invoice_number, pk in (
            Allocation.objects.filter(
                payment__family_id=family.pk,
                created_at__gte=first,
                created_at__lt=after,
                # A reversal's allocations are part of the reversal.
                payment__reverses__isnull=True,
            )
            .order_by()
            .values_list(
                "created_at", "amount", "payment__number", "invoice__number", "pk"
            )
        )
    ]
    entries += [
        StatementEntry(
            when=created_at,
            kind="refund",
            label=_("Refund (%(method)s)") % {"method": Refund.Method(method).label},
            number=number,
            debit=amount,
            pk=pk,
        )
        for created_at, method, number, amount, pk in Refund.objects.counted()
        .filter(family_id=family.pk, created_at__gte=first, created_at__lt=after)
        .order_by()
        .values_list("created_at", "method", "number", "amount", "pk")
    ]
    return entries


@cache
def _before_sql() -> tuple[str, str, str, str]:
    """The four sums of `_balance_before`, each a scalar subquery taking the
    family's id and the first moment of the statement: payments (a
    reversal's amount is negative), credit notes, invoices and the refunds
    `Refund.objects.counted()` keeps, dated before it."""
    payment, refund = Payment._meta.db_table, Refund._meta.db_table
    invoice, note = Invoice._meta.db_table, CreditNote._meta.db_table
    # Names and constants from the models; the id and moment are parameters.
    return (
        f"(SELECT SUM(amount) FROM {payment} "  # noqa: S608
        f"WHERE family_id = %s AND received_at < %s)",
        f"(SELECT SUM(c.total) FROM {note} c "  # noqa: S608
        f"JOIN {invoice} i ON i.id = c.invoice_id "
        f"WHERE i.family_id = %s AND c.issued_at < %s)",
        f"(SELECT SUM(total) FROM {invoice} "  # noqa: S608
        f"WHERE family_id = %s AND issued_at < %s)",
        f"(SELECT SUM(amount) FROM {refund} "  # noqa: S608
        f"WHERE family_id = %s AND created_at < %s "
        f"AND {Refund.counted_sql(refund)})",
    )


def _balance_before(family: Family, first: datetime.datetime) -> Decimal:
    """The family's balance on the eve of the statement, by four sums in one
    query: what a statement reads does not grow with the years before it.
    Positive in the family's favour: payments and credit notes, less
    invoices and refunds."""
    moment = connection.ops.adapt_datetimefield_value(first)
    paid, credited, invoiced, refunded = _select(
        *_before_sql(), params=[family.pk, moment] * 4
    )
    return paid + credited - invoiced - refunded


_ORDER = {"invoice": 0, "credit_note": 1, "payment": 2, "allocation": 3, "refund": 4}


def family_statement(
    family: Family, *, start: datetime.date, end: datetime.date
) -> Statement:
    """Every invoice, credit note, payment, allocation and refund of the
    family from `start` to `end` (local dates, both included), in order,
    with the running balance from the balance on the eve of `start`."""
    first, after = day_start(start), day_start(end + datetime.timedelta(days=1))
    records = sorted(
        _records(family, first, after),
        key=lambda entry: (entry.when, _ORDER[entry.kind], entry.pk),
    )
    opening = _balance_before(family, first)
    statement = Statement(family=family, start=start, end=end, opening=opening)
    balance = opening
    for entry in records:
        balance += entry.credit - entry.debit
        statement.entries.append(
            StatementEntry(**{**entry.__dict__, "balance": balance})
        )
    statement.closing = balance
    return statement
