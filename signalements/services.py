"""Reports: what a family's report does at once, and what an agent's answer
does (keyword-only functions, as every service)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from factures.models import Invoice, InvoiceDispute
from factures.numbering import next_number
from factures.services import (
    credit_note_issue,
    invoice_dispute_close,
    invoice_dispute_open,
)
from familles.models import Child, Family, User
from familles.services import new_request_key, private_document_save
from familles.tasks import send_family_email
from familles.uploads import CheckedFile
from paiements.services import payments_reconcile
from signalements.models import Report, ReportAttachment, ReportUpdate
from signalements.tasks import send_report_reply

REPORT_KINDS_NEEDING_INVOICE = {
    Report.Kind.WRONG_AMOUNT,
    Report.Kind.PAID_UNPAID,
    Report.Kind.REFUND,
    Report.Kind.WRONG_ATTENDANCE,
}
# Kinds whose resolution may take money off an invoice with a credit note.
REPORT_KINDS_FOR_CREDIT = {
    Report.Kind.REFUND,
    Report.Kind.WRONG_BRACKET,
    Report.Kind.WRONG_ATTENDANCE,
    Report.Kind.WRONG_AMOUNT,
}


def report_can_credit(*, report: Report) -> bool:
    """Whether the agent's answer to the report may issue a credit note: a
    refund, bracket, attendance or amount report (`REPORT_KINDS_FOR_CREDIT`)
    that names an invoice."""
    return report.kind in REPORT_KINDS_FOR_CREDIT and report.invoice_id is not None


@dataclass
class ReportReceipt:
    report: Report
    created: bool
    reconciled: int | None = None  # card payments found for a paid-unpaid report


def report_submit(
    *,
    family: Family,
    user: User | None,
    kind: str,
    message: str,
    request_key: str,
    invoice: Invoice | None = None,
    child: Child | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    attachments: list[CheckedFile] | tuple[()] = (),
) -> ReportReceipt:
    """Record a family's report and act on it at once:

    - a report about an invoice's amount, bracket or attendance
      (`Report.FREEZING_KINDS`) puts the invoice it names under dispute (not
      payable online, not counted towards the block) until the report is
      closed; an invoice with nothing left to pay is left alone;
    - "paid but shown unpaid" asks Stripe about the family's pending card
      payments right now;
    - "several accounts" puts the family on the agents' list of suspected
      duplicates (an open report of that kind is the flag).

    The same form sent twice (`request_key`), or the same report sent again
    while the first is still new, gives the first one back.
    """
    if not message.strip():
        raise ValidationError(_("Describe the problem in a few words."))
    if invoice is not None and invoice.family_id != family.pk:
        raise ValidationError(_("This invoice is not yours."))
    if child is not None and child.family_id != family.pk:
        raise ValidationError(_("This child is not in your family."))
    # Only the family's own reports: another family's key gives nothing back.
    previous = Report.objects.filter(
        family=family, request_key=request_key
    ).first() or (
        Report.objects.filter(
            family=family,
            kind=kind,
            invoice=invoice,
            message=message.strip(),
            status=Report.Status.NEW,
        ).first()
    )
    if previous is not None:
        return ReportReceipt(report=previous, created=False)
    if Report.objects.filter(request_key=request_key).exists():
        request_key = new_request_key()  # another family's: a new submission
    with transaction.atomic():
        Family.objects.select_for_update().get(pk=family.pk)
        report = Report.objects.create(
            reference=next_number(series="S", year=timezone.localdate().year),
            family=family,
            kind=kind,
            invoice=invoice,
            child=child,
            date_from=date_from,
            date_to=date_to,
            message=message.strip(),
            created_by=user,
            request_key=request_key,
        )
        for checked in attachments:
            private_document_save(
                ReportAttachment(report=report), checked.upload, checked
            )
        if report.freezes_invoice:
            _invoice_freeze(report=report, user=user)
        transaction.on_commit(lambda: _report_notify(report, "report_received"))
    receipt = ReportReceipt(report=report, created=True)
    if kind == Report.Kind.PAID_UNPAID:
        receipt.reconciled = len(
            payments_reconcile(family=family, older_than=datetime.timedelta(0)).recorded
        )
    return receipt


def report_update(
    *,
    report: Report,
    agent: User | None,
    status: str | None = None,
    message: str = "",
    credit_lines: list[Any] | None = None,
) -> ReportUpdate:
    """An agent answers and/or moves the report on. Closing it closes its
    dispute (another open report that freezes the same invoice then takes
    over); reopening it freezes the invoice again. For a refund, bracket,
    attendance or amount report, credit note lines given here are issued
    against the report's invoice in the same step."""
    status = status or report.status
    if status not in Report.Status.values:
        raise ValidationError(_("Unknown status."))
    if not message.strip() and status == report.status and not credit_lines:
        raise ValidationError(_("Write an answer or change the status."))
    if status in Report.CLOSED and not message.strip():
        raise ValidationError(_("Tell the family why the report is closed."))
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if credit_lines:
            if not report_can_credit(report=locked) or locked.invoice is None:
                raise ValidationError(_("This report names no invoice to credit."))
            credit_note_issue(
                invoice=locked.invoice,
                lines=credit_lines,
                reason=_("Report %(reference)s") % {"reference": locked.reference},
                agent=agent,
            )
        update = ReportUpdate.objects.create(
            report=locked,
            author=agent,
            message=message.strip(),
            status_before=locked.status,
            status_after=status,
        )
        if status != locked.status:
            was_open = locked.is_open
            locked.status = status
            locked.closed_at = timezone.now() if status in Report.CLOSED else None
            locked.save(update_fields=["status", "closed_at"])
            if was_open and not locked.is_open:
                _invoice_release(report=locked, agent=agent)
            elif locked.freezes_invoice and not was_open:
                _invoice_freeze(report=locked, user=agent)
        transaction.on_commit(lambda: _report_notify(locked, "report_updated", update))
    report.status, report.closed_at = locked.status, locked.closed_at
    return update


def report_reply(*, report: Report, user: User, message: str) -> ReportUpdate:
    """The family answers the canteen service in the report's thread (its
    status does not change). Its agent, or the service when no agent has
    taken the report, is told by e-mail. A closed report takes no more
    answers: the family sends a new report (ValidationError, in French)."""
    message = message.strip()
    if not message:
        raise ValidationError(_("Write your answer."))
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if not locked.is_open:
            raise ValidationError(
                _("This report is closed. If the problem remains, send a new report.")
            )
        update = ReportUpdate.objects.create(
            report=locked,
            author=user,
            message=message,
            status_before=locked.status,
            status_after=locked.status,
        )
        transaction.on_commit(lambda: send_report_reply.enqueue(update_id=update.pk))
    return update


def _invoice_freeze(*, report: Report, user: User | None) -> None:
    """Put the report's invoice under a dispute held by the report (payment
    rule 5). Not when nothing is left to pay on it (paid or cancelled: there
    is nothing to hold back), nor when another report already holds its
    dispute (`_invoice_release` hands it over when that one is closed)."""
    invoice = report.invoice
    if invoice is None:
        return
    Invoice.objects.select_for_update().get(pk=invoice.pk)
    state = Invoice.objects.with_balance().get(pk=invoice.pk).state
    if state in (Invoice.Status.PAID, Invoice.Status.CANCELLED):
        return
    held = InvoiceDispute.objects.filter(
        invoice=invoice, closed_at__isnull=True, report__isnull=False
    ).exclude(report=report)
    if held.exists():
        return
    report.dispute = invoice_dispute_open(
        invoice=invoice,
        reason=_("Report %(reference)s: %(message)s")
        % {"reference": report.reference, "message": report.message},
        user=user,
    )
    report.save(update_fields=["dispute"])


def _invoice_release(*, report: Report, agent: User | None) -> None:
    """The report is closed: its dispute, if still open, is closed; the
    oldest other open report that freezes the same invoice keeps it set
    aside with a dispute of its own."""
    if report.invoice is None or report.dispute_id is None:
        return
    own_dispute_open = InvoiceDispute.objects.filter(
        pk=report.dispute_id, closed_at__isnull=True
    ).exists()
    if not own_dispute_open:
        return
    invoice_dispute_close(invoice=report.invoice, user=agent)
    successor = (
        Report.objects.open()
        .filter(invoice=report.invoice, kind__in=Report.FREEZING_KINDS)
        .exclude(pk=report.pk)
        .select_related("invoice")
        .order_by("created_at", "pk")
        .first()
    )
    if successor is not None:
        _invoice_freeze(report=successor, user=successor.created_by)


def report_assign(*, report: Report, agent: User) -> None:
    Report.objects.filter(pk=report.pk).update(assigned_to=agent)


def _report_notify(
    report: Report, template: str, update: ReportUpdate | None = None
) -> None:
    send_family_email.enqueue(
        family_id=report.family_id,
        template=template,
        context={
            "reference": report.reference,
            "kind": str(report.get_kind_display()),
            "status": str(report.get_status_display()),
            "answer": update.message if update else "",
        },
    )
