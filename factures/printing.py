"""The month's paper batch: the invoices of families that did not choose
paperless invoices, printed as one PDF in the background.

A thousand invoices take some forty seconds to lay out (bench/pdf.py): more
than a web request may take. The agent asks for the batch on the invoicing
page; a task (`print_paper_batch`, below) writes the PDF to the
private file storage, and the page offers it for download once it is ready.
Housekeeping deletes the batches after `PAPER_BATCH_KEEP`.
"""

from __future__ import annotations

import datetime
import logging
import tempfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.tasks import task
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from factures.models import PAPER_BATCH_KEEP, Invoice, InvoiceQuerySet, PaperBatch
from factures.pdf import invoices_pdf_write
from factures.periods import month_label
from familles.models import User

logger = logging.getLogger("factures.printing")


def paper_invoices(period: datetime.date) -> InvoiceQuerySet:
    """The month's invoices to print and post, in the order of the families'
    identifiers: those of families without paperless invoices, but the
    cancelled ones."""
    return (
        Invoice.objects.with_balance()  # type: ignore[misc]  # an annotation
        .filter(period=period, paperless=False)
        .exclude(state=Invoice.Status.CANCELLED)
        .order_by("family_identifier")
    )


def paper_batch_request(*, period: datetime.date, requested_by: User) -> PaperBatch:
    """Queue the month's paper batch. Refused, with the reason in French,
    when the month has no paper invoice or its batch is already on its way.
    (Two agents asking in the same instant get two batches: harmless.)"""
    month = month_label(period)
    if not paper_invoices(period).exists():
        raise ValidationError(
            _("No paper invoice for %(month)s.") % {"month": month}, code="empty"
        )
    with transaction.atomic():
        on_its_way = PaperBatch.objects.on_its_way().filter(period=period).first()
        if on_its_way is not None:
            raise ValidationError(
                _(
                    "The paper invoices of %(month)s are already being printed "
                    "(asked at %(time)s): the file will appear below."
                )
                % {
                    "month": month,
                    "time": formats.time_format(
                        timezone.localtime(on_its_way.requested_at), "H:i"
                    ),
                },
                code="on_its_way",
            )
        batch = PaperBatch.objects.create(period=period, requested_by=requested_by)

        transaction.on_commit(lambda: print_paper_batch.enqueue(batch_id=batch.pk))
    return batch


def paper_batch_print(batch: PaperBatch) -> PaperBatch:
    """Print the batch's invoices into its file (the task's work). The
    invoices are those of the month when the batch is printed, not when it
    was asked for. A batch no longer waiting (a task delivered twice), or
    waiting for so long that it was taken for lost (the agent may have asked
    again), is left alone. A failure is recorded on the batch, then raised."""
    started = (
        PaperBatch.objects.on_its_way()
        .filter(pk=batch.pk, status=PaperBatch.Status.QUEUED)
        .update(status=PaperBatch.Status.RUNNING)
    )
    if not started:
        logger.warning(
            "paper batch not waiting, or lost: not printed",
            extra={"event": "paper_batch_skipped", "batch": batch.pk},
        )
        return batch
    invoices = paper_invoices(batch.period)
    PaperBatch.objects.filter(pk=batch.pk).update(invoice_total=invoices.count())

    def progress(done: int) -> None:
        PaperBatch.objects.filter(pk=batch.pk).update(printed=done)

    try:
        with tempfile.TemporaryFile() as output:
            printed = invoices_pdf_write(invoices, output, progress)
            output.seek(0)
            batch.file.save(batch.filename, File(output), save=False)
        batch.status = PaperBatch.Status.READY
        batch.invoice_count = batch.printed = printed.invoices
        batch.pages = printed.pages
        batch.finished_at = timezone.now()
        batch.save(
            update_fields=[
                "status",
                "invoice_count",
                "printed",
                "pages",
                "file",
                "finished_at",
            ]
        )
    except Exception:
        logger.exception(
            "paper batch not printed",
            extra={"event": "paper_batch_failed", "batch": batch.pk},
        )
        if batch.file:
            batch.file.delete(save=False)
        PaperBatch.objects.filter(pk=batch.pk).update(
            status=PaperBatch.Status.FAILED, file="", finished_at=timezone.now()
        )
        raise
    return batch


def paper_batches_purge() -> int:
    """Delete the batches asked for more than `PAPER_BATCH_KEEP` ago, with
    their files (housekeeping): the agent prints them at once, and they
    carry the activation codes of the families that never logged in.
    Returns how many were deleted."""
    old = list(
        PaperBatch.objects.filter(requested_at__lt=timezone.now() - PAPER_BATCH_KEEP)
    )
    for batch in old:
        if batch.file:
            batch.file.delete(save=False)
        batch.delete()
    return len(old)


@task()
def print_paper_batch(*, batch_id: int) -> int:
    """Print a month's paper batch, in French (the worker runs it).
    Returns the number of invoices printed."""
    batch = PaperBatch.objects.filter(pk=batch_id).first()
    if batch is None:  # deleted by housekeeping before the worker came
        logger.warning(
            "paper batch gone", extra={"event": "paper_batch_gone", "batch": batch_id}
        )
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        return paper_batch_print(batch).invoice_count
