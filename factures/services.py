"""Writes of the invoices app: brackets, the monthly invoicing run, credit
notes. Every function is keyword-only and runs its money changes in a
transaction, under row locks, so that doing it twice does it once."""

from __future__ import annotations

import datetime
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from factures.models import (
    Activity,
    Attendance,
    BracketAssignment,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceDispute,
    InvoiceLine,
    Price,
    TariffBracket,
)
from factures.money import ZERO, format_euros, round_money
from factures.numbering import (
    CREDIT_NOTE_SERIES,
    INVOICE_SERIES,
    next_number,
    next_numbers,
)
from factures.periods import month_end, month_label, month_start, previous_month
from factures.signals import invoice_credited, invoices_changed
from factures.sql import (
    attendance_mark,
    history_copy,
    rows_insert,
    tables_analyze,
)
from factures.tasks import send_invoices_available
from familles.models import Child, Family, Guardian, User


def bracket_assign(
    *,
    family: Family,
    bracket: TariffBracket,
    valid_from: datetime.date,
    agent: User | None,
) -> BracketAssignment:
    """Record the family's bracket from `valid_from` on. Days already invoiced
    keep the price they were billed at (correct them with a credit note)."""
    assignment, _created = BracketAssignment.objects.update_or_create(
        family=family,
        valid_from=valid_from,
        defaults={"bracket": bracket, "created_by": agent},
    )
    return assignment


def invoicing_month_check(*, period: datetime.date, today: datetime.date) -> None:
    """A month is invoiced once it is over, on the commune's local date."""
    if period != month_start(period):
        raise ValidationError(_("A month is given by its first day."))
    if period > month_start(today) - datetime.timedelta(days=1):
        raise ValidationError(
            _("%(month)s is not over yet: it can be invoiced from %(date)s on.")
            % {
                "month": month_label(period).capitalize(),
                "date": formats.date_format(
                    month_end(period) + datetime.timedelta(days=1)
                ),
            }
        )


# Families are invoiced in batches: each batch reads its attendance, brackets
# and existing invoices in a few queries and writes its invoices and lines in
# bulk, in one transaction. Memory is bounded by the batch, not the commune.
INVOICING_BATCH = 250

# The run refreshes the invoices' statistics as the month's invoices pile
# up: after this many, then each time their number has grown fourfold.
# Planned with the counts from before the run (none of the month), "the
# month's invoices of these families" read every invoice issued so far
# through the month's index, at each batch: the run's cost grew with the
# square of the families. At 100,000 families, four ANALYZE of some 0.2 s
# (docs/PERFORMANCE.md).
REANALYZE_FROM = 2000


# Meals recorded for a month already invoiced are billed by the next run of a
# later month; it looks this many months back for them. The bound keeps the
# search on the meals' dates: without it every run would read the whole
# table's history for unbilled meals (its billed column has no index).
LATE_MEALS_MONTHS = 12


@dataclass
class InvoicingResult:
    period: datetime.date
    created_ids: list[int] = field(default_factory=list)
    already_invoiced: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # family identifier → why
    late_meals: int = 0  # billed on adjustment lines, for earlier months
    late_families: int = 0  # the families whose invoices have such lines
    total: Decimal = ZERO  # of the invoices issued

    @property
    def created(self) -> list[Invoice]:
        """The invoices issued by the run, read back when asked for."""
        return list(
            Invoice.objects.filter(pk__in=self.created_ids)
            .select_related("family")
            .order_by("number")
        )

    @property
    def created_count(self) -> int:
        return len(self.created_ids)


def invoice_issue_month(
    *,
    period: datetime.date,
    issued_by: User | None,
    today: datetime.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> InvoicingResult:
    """Issue one invoice per family with unbilled attendance in `period`.

    Idempotent: a family already invoiced for the month is skipped, so a run
    can be repeated (a family whose attendance arrived late gets its invoice).
    A family that cannot be invoiced (no bracket, no price) is reported and
    does not stop the others. Invoice numbers follow the families'
    identifiers.

    Meals recorded after their month was invoiced (`late_months`) and still
    unbilled are billed too, on adjustment lines that name their month, each
    meal at the price of its own day: a family with only such meals gets an
    invoice for `period`. Invoices already issued are never changed.

    `progress(done, total)` hears of the families done after each batch
    (each batch is committed on its own).
    """
    today = today or timezone.localdate()
    invoicing_month_check(period=period, today=today)
    result = InvoicingResult(period=period)
    book = PriceBook()
    activities = {activity.pk: activity for activity in Activity.objects.all()}
    late_spans = _day_spans(late_months(period))
    # One read of the unbilled meals, the month's and the late ones: the
    # families to invoice, and by their earliest day those with late meals.
    earliest = dict(
        Attendance.objects.filter(
            _on_days([*late_spans, (period, month_end(period))]),
            invoice_line__isnull=True,
        )
        .order_by()
        .values("child__family_id")
        .annotate(first=Min("date"))
        .values_list("child__family_id", "first")
    )
    family_ids = list(
        Family.objects.filter(pk__any=list(earliest), merged_into__isnull=True)
        .order_by("identifier")
        .values_list("pk", flat=True)
    )
    late_family_ids = {pk for pk, first in earliest.items() if first < period}
    if progress is not None:
        progress(0, len(family_ids))
    next_analyze = REANALYZE_FROM
    for start in range(0, len(family_ids), INVOICING_BATCH):
        batch = family_ids[start : start + INVOICING_BATCH]
        try:
            created = _invoice_families_month(
                family_ids=batch,
                period=period,
                issued_by=issued_by,
                book=book,
                activities=activities,
                late=_LateMeals(
                    family_ids=late_family_ids.intersection(batch), spans=late_spans
                ),
                result=result,
            )
        except _MealsChanged:
            # The batches before keep their invoices; a new run issues the
            # others (the families already invoiced are skipped).
            count = result.created_count
            raise ValidationError(
                ngettext(
                    "Attendance was changed while the month was being invoiced: "
                    "%(count)s invoice was issued, not the others. Run the "
                    "invoicing again.",
                    "Attendance was changed while the month was being invoiced: "
                    "%(count)s invoices were issued, not the others. Run the "
                    "invoicing again.",
                    count,
                )
                % {"count": count}
            ) from None
        result.created_ids.extend(created)
        _announce_invoices(created)
        if result.created_count >= next_analyze:
            tables_analyze(Invoice)
            next_analyze = 4 * result.created_count
        if progress is not None:
            progress(start + len(batch), len(family_ids))
    # Every family with this month's invoice from an earlier run, not only
    # those that still had meals to bill: run again, the month says so. The
    # families this run invoiced had none (they are skipped otherwise).
    result.already_invoiced = (
        Invoice.objects.filter(period=period, replaces__isnull=True)
        .values("family_id")
        .distinct()
        .count()
    ) - result.created_count
    if result.created_ids:
        tables_analyze(Attendance, Invoice, InvoiceLine)
    return result


def late_months(period: datetime.date) -> list[datetime.date]:
    """The months whose unbilled meals are late for `period`'s run: those of
    the `LATE_MEALS_MONTHS` before it that a run has already invoiced (at
    least one invoice). A month never invoiced keeps its meals for its own
    run."""
    earliest = period
    for _month in range(LATE_MEALS_MONTHS):
        earliest = previous_month(earliest)
    return sorted(
        Invoice.objects.filter(period__gte=earliest, period__lt=period)
        .order_by()
        .values_list("period", flat=True)
        .distinct()
    )


def _day_spans(
    months: list[datetime.date],
) -> list[tuple[datetime.date, datetime.date]]:
    """Months as spans of days, first to last, months that follow each other
    joined: the fewer ranges the meals' dates are compared with."""
    spans: list[tuple[datetime.date, datetime.date]] = []
    for month in sorted(months):
        if spans and spans[-1][1] + datetime.timedelta(days=1) == month:
            spans[-1] = (spans[-1][0], month_end(month))
        else:
            spans.append((month, month_end(month)))
    return spans


def _on_days(spans: list[tuple[datetime.date, datetime.date]]) -> Q:
    """Meals on a day of one of the spans (at least one)."""
    condition = Q(date__gte=spans[0][0], date__lte=spans[0][1])
    for first, last in spans[1:]:
        condition |= Q(date__gte=first, date__lte=last)
    return condition


@dataclass(frozen=True)
class _LateMeals:
    """Where a batch looks for late meals: the days of the months already
    invoiced, for the families found with some."""

    family_ids: set[int]
    spans: list[tuple[datetime.date, datetime.date]]


class PriceBook:
    """Every bracket and price, read once per run."""

    def __init__(self) -> None:
        self.brackets = TariffBracket.objects.in_bulk()
        self.prices: dict[tuple[int, int], list[Price]] = defaultdict(list)
        # The days a price starts, for each activity (in order).
        self.price_starts: dict[int, list[datetime.date]] = defaultdict(list)
        for price in Price.objects.order_by("valid_from"):
            self.prices[(price.bracket_id, price.activity_id)].append(price)
            self.price_starts[price.activity_id].append(price.valid_from)

    def price_on(
        self, bracket: TariffBracket, activity: Activity, day: datetime.date
    ) -> Price | None:
        """The price in force on `day`: the latest from that day or earlier."""
        prices = self.prices.get((bracket.pk, activity.pk), [])
        valid = [price for price in prices if price.valid_from <= day]
        return valid[-1] if valid else None


class FamilyTariffs:
    """The family's bracket history, read once per batch: the bracket in
    force on a day (the latest assignment from that day or earlier, as the
    family file reads it), and the days on which a tariff may change."""

    def __init__(
        self, assignments: list[tuple[datetime.date, int]], book: PriceBook
    ) -> None:
        self.assignments = sorted(assignments)  # (valid_from, bracket id)
        self.book = book

    def bracket_on(self, day: datetime.date) -> TariffBracket | None:
        valid = [bracket for start, bracket in self.assignments if start <= day]
        return self.book.brackets[valid[-1]] if valid else None

    def price_on(
        self, bracket: TariffBracket, activity: Activity, day: datetime.date
    ) -> Price | None:
        return self.book.price_on(bracket, activity, day)

    def changes(
        self, activity_id: int, first: datetime.date, last: datetime.date
    ) -> list[datetime.date]:
        """The days after `first`, up to `last`, on which the tariff of the
        activity may change: the family's bracket changes, or a price starts.
        Between two of them, both the bracket and the price hold."""
        starts = {start for start, _ in self.assignments}
        starts.update(self.book.price_starts.get(activity_id, ()))
        return sorted(day for day in starts if first < day <= last)


# A family's meals in the month: the days of each child and activity.
_Days = dict[tuple[int, int], list[datetime.date]]


# An invoice line: child, activity, bracket label, unit price.
_LineKey = tuple[int, int, str, Decimal]


class _Run(NamedTuple):
    """Days of meals that one line bills, the first to the last: every meal
    of the line's child and activity between them, `meals` in all."""

    first: datetime.date
    last: datetime.date
    meals: int


# The lines of a month's meals: None for the invoiced month, or the earlier
# month of late meals (adjustment lines), and its groups (`_group_meals`).
_Section = tuple[datetime.date | None, dict[_LineKey, list[_Run]]]


def _invoice_families_month(
    *,
    family_ids: list[int],
    period: datetime.date,
    issued_by: User | None,
    book: PriceBook,
    activities: dict[int, Activity],
    late: _LateMeals,
    result: InvoicingResult,
) -> list[int]:
    """Invoice a batch of families in one transaction; returns the new
    invoices' ids. A family that cannot be invoiced is left out of the writes
    and reported in `result.errors`."""
    with transaction.atomic():
        # Two overlapping runs meet here: the second waits, then finds the
        # invoices and leaves the families alone. Locked in one order.
        families = {
            family.pk: family
            for family in Family.objects.select_for_update()
            .filter(pk__any=family_ids)
            .order_by("pk")
        }
        invoiced = set(
            Invoice.objects.filter(
                family_id__any=family_ids, period=period, replaces__isnull=True
            )
            .order_by()
            .values_list("family_id", flat=True)
        )
        to_invoice = [pk for pk in family_ids if pk in families and pk not in invoiced]
        # Each child's family and name, then the days of these children's
        # meals: no join to the child per meal, and no meal's id (a meal is
        # marked by its child, activity and day, which `attendance_once_a_day`
        # makes unique). A child moved to another family meanwhile (children
        # are not locked) is billed with the family it had when read.
        children = {
            pk: (family_id, first_name, last_name)
            for pk, family_id, first_name, last_name in Child.objects.filter(
                family_id__any=to_invoice
            )
            .order_by()
            .values_list("pk", "family_id", "first_name", "last_name")
        }
        meals: dict[int, _Days] = defaultdict(lambda: defaultdict(list))
        for child_id, activity_id, day in (
            Attendance.objects.filter(
                child_id__any=list(children),
                date__gte=period,
                date__lte=month_end(period),
                invoice_line__isnull=True,
            )
            .order_by()
            .values_list("child_id", "activity_id", "date")
        ):
            meals[children[child_id][0]][(child_id, activity_id)].append(day)
        # The late meals of the families found with some, by month: read by
        # child and day, as the month's are (`attendance_once_a_day`).
        late_meals: dict[int, dict[datetime.date, _Days]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        late_children = [
            pk
            for pk, (family_id, *_name) in children.items()
            if family_id in late.family_ids
        ]
        if late_children:
            for child_id, activity_id, day in (
                Attendance.objects.filter(
                    _on_days(late.spans),
                    child_id__any=late_children,
                    invoice_line__isnull=True,
                )
                .order_by()
                .values_list("child_id", "activity_id", "date")
            ):
                of_month = late_meals[children[child_id][0]][month_start(day)]
                of_month[(child_id, activity_id)].append(day)
        assignments: dict[int, list[tuple[datetime.date, int]]] = defaultdict(list)
        for family_id, valid_from, bracket_id in (
            BracketAssignment.objects.filter(family_id__any=to_invoice)
            .order_by()
            .values_list("family_id", "valid_from", "bracket_id")
        ):
            assignments[family_id].append((valid_from, bracket_id))

        # Each family's month, then its late months, in the identifiers' order.
        drafts: list[tuple[Family, list[_Section]]] = []
        for pk in to_invoice:
            if not meals.get(pk) and not late_meals.get(pk):
                continue
            tariffs = FamilyTariffs(assignments[pk], book)
            try:
                # The late months first: an error names the earliest day.
                adjustments = [
                    (month, _group_meals(days, tariffs, activities))
                    for month, days in sorted(late_meals[pk].items())
                ]
                groups = _group_meals(meals[pk], tariffs, activities)
            except ValidationError as error:
                result.errors[families[pk].identifier] = " ".join(error.messages)
                continue
            drafts.append((families[pk], [(None, groups), *adjustments]))
        if not drafts:
            return []

        numbers = next_numbers(
            series=INVOICE_SERIES, year=period.year, count=len(drafts)
        )
        # Paperless invoices go by e-mail: a family with no address on file
        # gets paper, whatever its choice says (never neither).
        reachable = set(
            Guardian.objects.filter(family_id__any=family_ids)
            .exclude(email="")
            .values_list("family_id", flat=True)
        )
        # Rows, not model objects: `rows_insert` writes them in one statement
        # per table (docs/PERFORMANCE.md).
        now = timezone.now()
        invoices: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        runs_of_line: list[list[_Run]] = []
        billed_late = 0
        for number, (family, sections) in zip(numbers, drafts, strict=True):
            total = ZERO
            for month, groups in sections:
                for (child_id, activity_id, bracket_label, unit_price), runs in sorted(
                    groups.items(),
                    key=lambda item: (children[item[0][0]][1], item[0][1], item[0][3]),
                ):
                    activity = activities[activity_id]
                    quantity = sum(run.meals for run in runs)
                    amount = round_money(unit_price * quantity)
                    total += amount
                    if month is not None:
                        billed_late += quantity
                    lines.append(
                        {
                            "invoice_id": len(invoices),  # its id once inserted
                            "child_id": child_id,
                            "activity_id": activity_id,
                            "child_name": " ".join(children[child_id][1:]),
                            "label": _line_label(month, activity),
                            "bracket_label": bracket_label,
                            "quantity": quantity,
                            "unit_price": unit_price,
                            "amount": amount,
                        }
                    )
                    runs_of_line.append(runs)
            invoices.append(
                {
                    "number": number,
                    "family_id": family.pk,
                    "period": period,
                    "issued_at": now,
                    "issued_by_id": issued_by.pk if issued_by else None,
                    "total": total,
                    "family_identifier": family.identifier,
                    "family_name": family.name,
                    "billing_address": family.postal_address,
                    "paperless": family.paperless and family.pk in reachable,
                    "replaces_id": None,
                    "is_open": total > ZERO,  # nothing due is paid
                }
            )
        invoice_ids = rows_insert(Invoice, invoices)
        history_copy(
            Invoice,
            invoice_ids,
            user_id=issued_by.pk if issued_by else None,
            when=now,
        )
        for line in lines:
            line["invoice_id"] = invoice_ids[line["invoice_id"]]
        _attendance_link(lines, rows_insert(InvoiceLine, lines), runs_of_line)
        result.late_meals += billed_late
        result.total += sum((invoice["total"] for invoice in invoices), ZERO)
        result.late_families += sum(1 for _family, sections in drafts if sections[1:])
        # A new invoice can block card payment: the families it blocks are
        # told with it, while they are still locked.
        invoices_changed.send(
            sender=Invoice, family_ids=[invoice["family_id"] for invoice in invoices]
        )
    return invoice_ids


def _line_label(month: datetime.date | None, activity: Activity) -> str:
    """A line's label: the activity's, or for meals of an earlier month
    billed late, "Régularisation septembre 2026 – Restauration scolaire"."""
    if month is None:
        return activity.label
    return _("Adjustment for %(month)s – %(activity)s") % {
        "month": month_label(month),
        "activity": activity.label,
    }


def _group_meals(
    meals: _Days, tariffs: FamilyTariffs, activities: dict[int, Activity]
) -> dict[_LineKey, list[_Run]]:
    """One group of meals per line of the invoice: child, activity, bracket,
    price; each group as the runs of days that have its tariff. The tariff
    is looked up once per run: a child's days in an activity are cut only
    where the tariff may change (`FamilyTariffs.changes`), most months
    nowhere."""
    runs = []  # (run, child, activity)
    for (child_id, activity_id), days in meals.items():
        days.sort()
        start = 0
        cuts = [
            bisect_left(days, day)
            for day in tariffs.changes(activity_id, days[0], days[-1])
        ]
        for end in [*cuts, len(days)]:
            if end > start:
                runs.append(
                    (
                        _Run(days[start], days[end - 1], end - start),
                        child_id,
                        activity_id,
                    )
                )
                start = end
    groups: dict[_LineKey, list[_Run]] = defaultdict(list)
    # In the order of the days: a family that cannot be invoiced is told
    # about its first day without a tariff.
    for run, child_id, activity_id in sorted(runs):
        tariff = _tariff(tariffs, activities[activity_id], run.first)
        groups[(child_id, activity_id, *tariff)].append(run)
    return groups


def _tariff(
    tariffs: FamilyTariffs, activity: Activity, day: datetime.date
) -> tuple[str, Decimal]:
    """The bracket's label and the unit price of `activity` on `day`."""
    bracket = tariffs.bracket_on(day)
    if bracket is None:
        raise ValidationError(
            _("No tariff bracket on %(date)s.") % {"date": formats.date_format(day)}
        )
    price = tariffs.price_on(bracket, activity, day)
    if price is None:
        raise ValidationError(
            _("No price for %(activity)s in %(bracket)s on %(date)s.")
            % {
                "activity": activity,
                "bracket": bracket,
                "date": formats.date_format(day),
            }
        )
    return bracket.label, price.unit_price


class _MealsChanged(Exception):
    """A meal read for a batch was changed before the batch marked it."""


def _attendance_link(
    lines: list[dict[str, Any]], line_ids: list[int], runs: list[list[_Run]]
) -> None:
    """Mark each meal with the line that bills it, and check that each line
    marked as many meals as it bills.

    A line's meals are found as runs of days: every meal of its child, in its
    activity, from a run's first day to its last, that is not yet billed.
    Every day of a run has the line's tariff (runs are cut where a tariff
    may change). The meals are not locked when read: another run waits on
    the families' locks. An agent adding, deleting or moving an unbilled day
    in the admin at that very moment makes some line mark more or fewer
    meals than it bills; the batch is then cancelled with a message rather
    than billing a day that is gone or has moved. A day moved inside a run
    is billed where it now is; a day added outside every run is neither
    billed nor marked, like a day entered after the run."""
    rows = [
        (pk, line["child_id"], line["activity_id"], run.first, run.last)
        for pk, line, line_runs in zip(line_ids, lines, runs, strict=True)
        for run in line_runs
    ]
    marked = attendance_mark(Attendance, rows)
    if dict(marked) != {
        pk: line["quantity"] for pk, line in zip(line_ids, lines, strict=True)
    }:
        raise _MealsChanged  # rolls the batch back


def _announce_invoices(invoice_ids: list[int]) -> None:
    """Queue the "invoice available" e-mails of a batch of new invoices."""
    if invoice_ids:
        send_invoices_available.enqueue(invoice_ids=invoice_ids)


def _block_state_changed(family: Family) -> None:
    """A new invoice, or a dispute opened or closed, may block or unblock the
    family's card payments: it is told by e-mail."""
    transaction.on_commit(
        lambda: invoices_changed.send(sender=Invoice, family_ids=[family.pk])
    )


def invoice_dispute_open(
    *, invoice: Invoice, reason: str, user: User | None
) -> InvoiceDispute:
    """The family disputes the amount: the invoice is *contestée* until the
    dispute is closed (not payable online, not counted as unpaid)."""
    if not reason.strip():
        raise ValidationError(_("Give the reason for the dispute."))
    with transaction.atomic():
        Invoice.objects.select_for_update().get(pk=invoice.pk)
        dispute = InvoiceDispute.objects.filter(
            invoice=invoice, closed_at__isnull=True
        ).first()
        if dispute is None:
            dispute = InvoiceDispute.objects.create(
                invoice=invoice, reason=reason.strip(), opened_by=user
            )
        Invoice.objects.filter(pk=invoice.pk).open_flags_sync()
        _block_state_changed(invoice.family)
    invoice.refresh_balance()
    return dispute


def invoice_dispute_close(*, invoice: Invoice, user: User | None) -> int:
    with transaction.atomic():
        Invoice.objects.select_for_update().get(pk=invoice.pk)
        closed = InvoiceDispute.objects.filter(
            invoice=invoice, closed_at__isnull=True
        ).update(closed_at=timezone.now())
        if closed:
            Invoice.objects.filter(pk=invoice.pk).open_flags_sync()
            _block_state_changed(invoice.family)
    invoice.refresh_balance()
    return closed


@dataclass(frozen=True)
class CreditLine:
    label: str
    quantity: int
    unit_price: Decimal


def credit_note_issue(
    *,
    invoice: Invoice,
    lines: list[CreditLine],
    reason: str,
    agent: User | None,
    cancel: bool = False,
) -> CreditNote:
    """Take money off an invoice. The total of its credit notes can never
    exceed the invoice's total; a cancelled invoice takes no more."""
    if not reason.strip():
        raise ValidationError(_("Give the reason for the credit note."))
    with transaction.atomic():
        # The family first, as every money operation takes its locks
        # (`paiements.credit`): the money the credit note releases goes
        # back to payments that a reversal or an allocation may hold.
        Family.objects.select_for_update(no_key=True).get(
            pk=Invoice.objects.values_list("family_id", flat=True).get(pk=invoice.pk)
        )
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        balance = Invoice.objects.with_balance().get(pk=locked.pk)
        if balance.has_cancellation:
            raise ValidationError(
                _("This invoice is cancelled: it takes no credit note.")
            )
        creditable = locked.total - balance.credited
        if cancel:
            if creditable <= ZERO:
                raise ValidationError(_("Nothing is left to credit on this invoice."))
            lines = [
                CreditLine(
                    label=_("Cancellation of invoice %(number)s")
                    % {"number": locked.number},
                    quantity=1,
                    unit_price=creditable,
                )
            ]
        if not lines:
            raise ValidationError(_("A credit note needs at least one line."))
        for line in lines:
            if line.quantity < 1 or line.unit_price <= ZERO:
                raise ValidationError(
                    _("Each line needs a quantity of at least 1 and a positive price.")
                )
        total = sum(
            (round_money(line.unit_price * line.quantity) for line in lines), ZERO
        )
        if total > creditable:
            raise ValidationError(
                _(
                    "The credit note (%(total)s) exceeds what can still be "
                    "credited (%(left)s)."
                )
                % {"total": format_euros(total), "left": format_euros(creditable)}
            )
        note = CreditNote.objects.create(
            number=next_number(
                series=CREDIT_NOTE_SERIES, year=timezone.localdate().year
            ),
            invoice=locked,
            issued_by=agent,
            reason=reason.strip(),
            is_cancellation=cancel,
            total=total,
        )
        CreditNoteLine.objects.bulk_create(
            CreditNoteLine(
                credit_note=note,
                label=line.label,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=round_money(line.unit_price * line.quantity),
            )
            for line in lines
        )
        invoice_credited.send(sender=CreditNote, invoice_id=locked.pk)
        Invoice.objects.filter(pk=locked.pk).open_flags_sync()
        _block_state_changed(locked.family)
    invoice.refresh_balance()
    return note


def invoice_cancel(*, invoice: Invoice, reason: str, agent: User | None) -> CreditNote:
    """Cancel an invoice: a credit note for everything not yet credited."""
    return credit_note_issue(
        invoice=invoice, lines=[], reason=reason, agent=agent, cancel=True
    )
