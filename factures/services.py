"""Writes of the invoices app: brackets, the monthly invoicing run, credit
notes. Every function is keyword-only and runs its money changes in a
transaction, under row locks, so that doing it twice does it once."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

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
from factures.numbering import CREDIT_NOTE_SERIES, INVOICE_SERIES, next_number
from factures.periods import month_end, month_start
from familles.models import Family, User


def month_label(period: datetime.date) -> str:
    return formats.date_format(period, "F Y")


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


def price_on(
    *, bracket: TariffBracket, activity: Activity, day: datetime.date
) -> Price | None:
    return (
        Price.objects.filter(bracket=bracket, activity=activity, valid_from__lte=day)
        .order_by("-valid_from")
        .first()
    )


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


@dataclass
class InvoicingResult:
    period: datetime.date
    created: list[Invoice] = field(default_factory=list)
    already_invoiced: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # family identifier → why


def invoice_issue_month(
    *, period: datetime.date, issued_by: User | None, today: datetime.date | None = None
) -> InvoicingResult:
    """Issue one invoice per family with unbilled attendance in `period`.

    Idempotent: a family already invoiced for the month is skipped, so a run
    can be repeated (a family whose attendance arrived late gets its invoice).
    Each family is invoiced in its own transaction: a family that cannot be
    invoiced (no bracket, no price) is reported and does not stop the others.
    """
    today = today or timezone.localdate()
    invoicing_month_check(period=period, today=today)
    result = InvoicingResult(period=period)
    prices = FamilyTariffs.load_prices()
    family_ids = (
        Attendance.objects.filter(
            date__gte=period, date__lte=month_end(period), invoice_line__isnull=True
        )
        .values_list("child__family_id", flat=True)
        .distinct()
    )
    for family in Family.objects.filter(
        pk__in=list(family_ids), merged_into__isnull=True
    ).order_by("identifier"):
        try:
            invoice = _invoice_family_month(
                family=family, period=period, issued_by=issued_by, prices=prices
            )
        except ValidationError as error:
            result.errors[family.identifier] = " ".join(error.messages)
            continue
        if invoice is None:
            result.already_invoiced += 1
        else:
            result.created.append(invoice)
    for invoice in result.created:
        _announce_invoice(invoice)
    return result


class FamilyTariffs:
    """The family's bracket history and every price, read once per family
    instead of twice per meal (the same rules as `Family.bracket_on` and
    `price_on`)."""

    def __init__(
        self, family: Family, prices: dict[tuple[int, int], list[Price]]
    ) -> None:
        self.assignments = list(
            family.bracket_assignments.select_related("bracket").order_by("valid_from")
        )
        self.prices = prices

    @staticmethod
    def load_prices() -> dict[tuple[int, int], list[Price]]:
        book: dict[tuple[int, int], list[Price]] = defaultdict(list)
        for price in Price.objects.order_by("valid_from"):
            book[(price.bracket_id, price.activity_id)].append(price)
        return book

    def bracket_on(self, day: datetime.date) -> TariffBracket | None:
        valid = [a for a in self.assignments if a.valid_from <= day]
        return valid[-1].bracket if valid else None

    def price_on(
        self, bracket: TariffBracket, activity: Activity, day: datetime.date
    ) -> Price | None:
        valid = [
            p
            for p in self.prices.get((bracket.pk, activity.pk), [])
            if p.valid_from <= day
        ]
        return valid[-1] if valid else None


def _invoice_family_month(
    *,
    family: Family,
    period: datetime.date,
    issued_by: User | None,
    prices: dict[tuple[int, int], list[Price]] | None = None,
) -> Invoice | None:
    with transaction.atomic():
        # Two overlapping runs meet here: the second waits, then finds the
        # invoice and leaves the family alone.
        family = Family.objects.select_for_update().get(pk=family.pk)
        if Invoice.objects.filter(
            family=family, period=period, replaces__isnull=True
        ).exists():
            return None
        attendances = list(
            Attendance.objects.select_for_update(of=("self",))
            .filter(
                child__family=family,
                date__gte=period,
                date__lte=month_end(period),
                invoice_line__isnull=True,
            )
            .select_related("child", "activity")
            .order_by("date")
        )
        if not attendances:
            return None
        tariffs = FamilyTariffs(
            family, prices if prices is not None else FamilyTariffs.load_prices()
        )
        groups: dict[tuple, list[Attendance]] = defaultdict(list)
        for attendance in attendances:
            bracket = tariffs.bracket_on(attendance.date)
            if bracket is None:
                raise ValidationError(
                    _("No tariff bracket on %(date)s.")
                    % {"date": formats.date_format(attendance.date)}
                )
            price = tariffs.price_on(bracket, attendance.activity, attendance.date)
            if price is None:
                raise ValidationError(
                    _("No price for %(activity)s in %(bracket)s on %(date)s.")
                    % {
                        "activity": attendance.activity,
                        "bracket": bracket,
                        "date": formats.date_format(attendance.date),
                    }
                )
            key = (
                attendance.child,
                attendance.activity,
                bracket.label,
                price.unit_price,
            )
            groups[key].append(attendance)
        invoice = Invoice.objects.create(
            number=next_number(series=INVOICE_SERIES, year=period.year),
            family=family,
            period=period,
            issued_by=issued_by,
            total=ZERO,
            family_identifier=family.identifier,
            family_name=family.name,
            billing_address=family.postal_address,
            paperless=family.paperless,
        )
        total = ZERO
        for (child, activity, bracket_label, unit_price), rows in sorted(
            groups.items(),
            key=lambda item: (item[0][0].first_name, item[0][1].pk, item[0][3]),
        ):
            amount = round_money(unit_price * len(rows))
            line = InvoiceLine.objects.create(
                invoice=invoice,
                child=child,
                activity=activity,
                child_name=f"{child.first_name} {child.last_name}",
                label=activity.label,
                bracket_label=bracket_label,
                quantity=len(rows),
                unit_price=unit_price,
                amount=amount,
            )
            Attendance.objects.filter(pk__in=[row.pk for row in rows]).update(
                invoice_line=line
            )
            total += amount
        invoice.total = total
        invoice.save(update_fields=["total"])
    return invoice


def _announce_invoice(invoice: Invoice) -> None:
    from factures.tasks import send_invoice_available
    from familles.tasks import family_addresses

    if family_addresses(invoice.family):
        transaction.on_commit(
            lambda: send_invoice_available.enqueue(invoice_id=invoice.pk)
        )
    _block_state_changed(invoice.family)


def _block_state_changed(family: Family) -> None:
    """A new invoice, or a dispute opened or closed, may block or unblock the
    family's card payments: it is told by e-mail."""
    from paiements.services import block_state_notify

    transaction.on_commit(lambda: block_state_notify(family=family))


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
    invoice.refresh_balance()
    return note


def invoice_cancel(*, invoice: Invoice, reason: str, agent: User | None) -> CreditNote:
    """Cancel an invoice: a credit note for everything not yet credited."""
    return credit_note_issue(
        invoice=invoice, lines=[], reason=reason, agent=agent, cancel=True
    )
