"""The month's paper batch: the invoices of families that did not choose
paperless invoices, printed as PDF files in the background.

A thousand invoices take some forty seconds to lay out (bench/pdf.py): more
than a web request may take. The agent asks for the batch on the invoicing
page; tasks on a queue of their own (`print_paper_batch`, then one
`print_paper_chunk` per `PRINT_CHUNK` invoices, below) write the PDFs to the
private file storage, one file per `PRINT_VOLUME_CHUNKS` chunks at most, and
the page offers them for download once the batch is ready.
A chunk per task: the batch gives news at each, and the worker that prints
lets e-mails through between two (docs/DEPLOYMENT.md).
Housekeeping deletes the batches after `PAPER_BATCH_KEEP`.
"""

from __future__ import annotations

import datetime
import logging
import tempfile
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.tasks import task
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from factures.models import PAPER_BATCH_KEEP, Invoice, InvoiceQuerySet, PaperBatch
from factures.pdf import invoices_pdf_write, pdf_join
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
    """Start printing the batch (the first task's work): the invoices of the
    month when printing starts are frozen on the batch, in order, and its
    first chunk is printed; each chunk queues the next. A batch no longer
    waiting (a task delivered twice), or without news for so long that it
    was taken for lost (the agent may have asked again), is left alone."""
    started = (
        PaperBatch.objects.on_its_way()
        .filter(pk=batch.pk, status=PaperBatch.Status.QUEUED)
        .update(status=PaperBatch.Status.RUNNING, touched_at=timezone.now())
    )
    if not started:
        logger.warning(
            "paper batch not waiting, or lost: not printed",
            extra={"event": "paper_batch_skipped", "batch": batch.pk},
        )
        return batch
    invoice_ids = list(paper_invoices(batch.period).values_list("pk", flat=True))
    PaperBatch.objects.filter(pk=batch.pk).update(
        invoice_ids=invoice_ids, invoice_total=len(invoice_ids)
    )
    return paper_batch_chunk(batch_id=batch.pk, index=0) or batch


def paper_batch_chunk(*, batch_id: int, index: int) -> PaperBatch | None:
    """Print chunk `index` of the batch (`PRINT_CHUNK` invoices, its pages
    numbered after the chunks before) into a file of its own, then queue the
    next chunk. The chunks are joined into one of the batch's files every
    `PRINT_VOLUME_CHUNKS` chunks, and after the last, which makes the batch
    ready. A chunk already printed (a task delivered twice) or of a batch no
    longer on its way is left alone. A failure is recorded on the batch, its
    files deleted, then raised."""
    batch = (
        PaperBatch.objects.on_its_way()
        .filter(pk=batch_id, status=PaperBatch.Status.RUNNING)
        .first()
    )
    if batch is None or _chunks_done(batch) != index:
        logger.warning(
            "paper batch chunk not expected: not printed",
            extra={"event": "paper_chunk_skipped", "batch": batch_id, "chunk": index},
        )
        return batch
    ids = batch.invoice_ids[index * PRINT_CHUNK : (index + 1) * PRINT_CHUNK]
    last = (index + 1) * PRINT_CHUNK >= len(batch.invoice_ids)
    try:
        by_pk = Invoice.objects.with_amounts().in_bulk(ids)
        # An invoice cannot be deleted; one gone would be a fault, not a skip.
        invoices = [by_pk[pk] for pk in ids]

        def progress(done: int) -> None:
            PaperBatch.objects.filter(pk=batch_id).update(
                printed=batch.printed + done, touched_at=timezone.now()
            )

        with tempfile.TemporaryFile() as output:
            printed = invoices_pdf_write(
                invoices, output, progress, first_page=batch.pages + 1, last=last
            )
            output.seek(0)
            with transaction.atomic():
                locked = (
                    PaperBatch.objects.select_for_update()
                    .on_its_way()
                    .filter(pk=batch_id, status=PaperBatch.Status.RUNNING)
                    .first()
                )
                if locked is None or _chunks_done(locked) != index:
                    return locked  # taken for lost meanwhile, or its twin was quicker
                part = default_storage.save(_part_name(locked, index), File(output))
                try:
                    locked.parts = [*locked.parts, part]
                    # Counted from the chunks, not from the progress a twin
                    # may still be writing: the files' ranges follow from it.
                    locked.printed = min(
                        (index + 1) * PRINT_CHUNK, len(locked.invoice_ids)
                    )
                    locked.pages = batch.pages + printed.pages
                    locked.touched_at = timezone.now()
                    locked.save(
                        update_fields=["parts", "printed", "pages", "touched_at"]
                    )
                except Exception:
                    # Not recorded on the batch: nothing else would delete it.
                    default_storage.delete(part)
                    raise
        if last or len(locked.parts) >= PRINT_VOLUME_CHUNKS:
            locked = _paper_batch_join(locked, last=last)
        if not last:
            print_paper_chunk.enqueue(batch_id=batch_id, index=index + 1)
        return locked
    except Exception:
        logger.exception(
            "paper batch not printed",
            extra={"event": "paper_batch_failed", "batch": batch_id, "chunk": index},
        )
        _paper_batch_fail(batch_id)
        raise


def _chunks_done(batch: PaperBatch) -> int:
    """The chunks printed so far: those joined into files, and the others."""
    return sum(file["chunks"] for file in batch.files) + len(batch.parts)


def _part_name(batch: PaperBatch, index: int) -> str:
    return f"impressions/parties/lot-{batch.pk}-{index:04d}.pdf"


def _paper_batch_join(batch: PaperBatch, *, last: bool) -> PaperBatch:
    """The chunks' files not yet joined, in order, as the batch's next file
    (pypdf keeps the first chunk's title and language and every chunk's
    bookmarks), then the chunks' files are deleted; after the `last` chunk,
    the batch is ready."""
    if not batch.parts:
        raise ValueError(f"paper batch {batch.pk} has no chunk to join")

    def chunk_pdfs() -> Iterator[bytes]:
        for name in batch.parts:
            with default_storage.open(name, "rb") as part:
                yield part.read()

    with tempfile.TemporaryFile() as output:
        pdf_join(chunk_pdfs(), output)
        output.seek(0)
        name = default_storage.save(
            f"impressions/lot-{batch.pk}-{len(batch.files) + 1:03d}.pdf", File(output)
        )
    try:
        batch.files = [
            *batch.files,
            {
                "name": name,
                "chunks": len(batch.parts),
                "invoices": batch.printed - sum(f["invoices"] for f in batch.files),
                "pages": batch.pages - sum(f["pages"] for f in batch.files),
            },
        ]
        parts, batch.parts = batch.parts, []
        batch.touched_at = timezone.now()
        fields = ["files", "parts", "touched_at"]
        if last:
            batch.status = PaperBatch.Status.READY
            batch.invoice_count = batch.printed
            batch.finished_at = batch.touched_at
            fields += ["status", "invoice_count", "finished_at"]
        batch.save(update_fields=fields)
    except Exception:
        # Not recorded on the batch: nothing else would delete it.
        default_storage.delete(name)
        raise
    for part in parts:
        default_storage.delete(part)
    return batch


def _paper_batch_fail(batch_id: int) -> None:
    """The batch failed: its files are deleted, its state says so."""
    batch = PaperBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        return
    for name in [*batch.parts, *(file["name"] for file in batch.files)]:
        default_storage.delete(name)
    PaperBatch.objects.filter(pk=batch_id).update(
        status=PaperBatch.Status.FAILED,
        files=[],
        parts=[],
        finished_at=timezone.now(),
    )


def paper_batches_purge() -> int:
    """Delete the batches asked for more than `PAPER_BATCH_KEEP` ago, with
    their files (housekeeping): the agent prints them at once, and they
    carry the activation codes of the families that never logged in.
    Returns how many were deleted."""
    old = list(
        PaperBatch.objects.filter(requested_at__lt=timezone.now() - PAPER_BATCH_KEEP)
    )
    for batch in old:
        # The chunks' files too: a batch taken for lost keeps those printed.
        for name in [*batch.parts, *(file["name"] for file in batch.files)]:
            default_storage.delete(name)
        batch.delete()
    return len(old)


# Invoices per task: some twenty seconds of a worker (bench/pdf.py), so that
# the batch gives news often and a worker on both queues lets e-mails
# queued meanwhile through between two chunks.
PRINT_CHUNK = 200
# Chunks per file of the batch: joining them holds all their pages in
# memory (pypdf), some 0.03 MB an invoice, so a file of 2,000 invoices keeps
# the print worker near 250 MB however large the month (docs/DEPLOYMENT.md).
PRINT_VOLUME_CHUNKS = 10
# The queue of the printing tasks (settings.TASKS), and a priority below
# the e-mails' for a worker that takes both queues (`make run`).
PRINT_QUEUE = "impressions"
PRINT_PRIORITY = -10


@task(queue_name=PRINT_QUEUE, priority=PRINT_PRIORITY)
def print_paper_batch(*, batch_id: int) -> int:
    """Start printing a month's paper batch, in French (the worker runs
    it). Returns the number of invoices printed so far."""
    batch = PaperBatch.objects.filter(pk=batch_id).first()
    if batch is None:  # deleted by housekeeping before the worker came
        logger.warning(
            "paper batch gone", extra={"event": "paper_batch_gone", "batch": batch_id}
        )
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        return paper_batch_print(batch).printed


@task(queue_name=PRINT_QUEUE, priority=PRINT_PRIORITY)
def print_paper_chunk(*, batch_id: int, index: int) -> int:
    """Print one chunk of a paper batch, in French. Returns the number of
    invoices printed so far."""
    with translation.override(settings.LANGUAGE_CODE):
        batch = paper_batch_chunk(batch_id=batch_id, index=index)
    return batch.printed if batch is not None else 0
