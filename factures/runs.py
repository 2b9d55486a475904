"""The monthly invoicing run in the background: the agent asks for it on
the invoicing page, the worker does it (`factures.tasks.run_invoicing`),
and the page follows its progress (families done / total) until its
summary: invoices issued, families already invoiced, families skipped and
why, late meals billed, the total amount.

Asking twice does the work once: one run per month may wait or run at a
time (a constraint), a task delivered twice finds its run already started,
and the run itself skips the families already invoiced."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.tasks import task
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from factures.models import RUN_PATIENCE, InvoicingRun
from factures.services import invoice_issue_month, invoicing_month_check
from familles.models import User

logger = logging.getLogger("factures.runs")


def _lost_runs_close() -> None:
    """Runs the worker stopped giving news of are failed, so that their
    month can be run again (what they issued stays: a new run skips it)."""
    InvoicingRun.objects.on_its_way().filter(
        updated_at__lte=timezone.now() - RUN_PATIENCE
    ).update(
        status=InvoicingRun.Status.FAILED,
        failure=_("Interrupted: the worker stopped during the run."),
        finished_at=timezone.now(),
    )


def invoicing_run_request(
    *,
    period: datetime.date,
    requested_by: User | None,
    today: datetime.date | None = None,
) -> tuple[InvoicingRun, bool]:
    """Queue the invoicing of `period`, or find the run already on its way.
    Returns the run and whether it is new. A month that may not be invoiced
    yet is refused at once (ValidationError, in French)."""
    invoicing_month_check(period=period, today=today or timezone.localdate())
    _lost_runs_close()
    current = InvoicingRun.objects.on_its_way().filter(period=period).first()
    if current is not None:
        return current, False
    try:
        with transaction.atomic():
            run = InvoicingRun.objects.create(period=period, requested_by=requested_by)
            transaction.on_commit(lambda: run_invoicing.enqueue(run_id=run.pk))
    except IntegrityError:  # asked in the same instant by another agent
        return InvoicingRun.objects.on_its_way().get(period=period), False
    return run, True


def invoicing_run_execute(run_id: int) -> InvoicingRun | None:
    """Do the run (the task's work) and record its summary. A run no longer
    waiting (a task delivered twice) is left alone."""
    started = InvoicingRun.objects.filter(
        pk=run_id, status=InvoicingRun.Status.QUEUED
    ).update(status=InvoicingRun.Status.RUNNING, updated_at=timezone.now())
    if not started:
        logger.warning(
            "invoicing run not waiting: not run again",
            extra={"event": "invoicing_run_skipped", "run": run_id},
        )
        return None
    run = InvoicingRun.objects.select_related("requested_by").get(pk=run_id)

    def progress(done: int, total: int) -> None:
        InvoicingRun.objects.filter(pk=run_id).update(
            families_done=done, families_total=total, updated_at=timezone.now()
        )

    try:
        result = invoice_issue_month(
            period=run.period, issued_by=run.requested_by, progress=progress
        )
    except ValidationError as error:
        _fail(run_id, " ".join(error.messages))
        return InvoicingRun.objects.get(pk=run_id)
    except Exception:
        logger.exception(
            "invoicing run failed",
            extra={"event": "invoicing_run_failed", "run": run_id},
        )
        _fail(run_id, _("An unexpected error stopped the run: tell the operator."))
        raise
    InvoicingRun.objects.filter(pk=run_id).update(
        status=InvoicingRun.Status.DONE,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
        invoices_issued=result.created_count,
        already_invoiced=result.already_invoiced,
        skipped=result.errors,
        late_meals=result.late_meals,
        total_amount=result.total,
    )
    return InvoicingRun.objects.get(pk=run_id)


def _fail(run_id: int, why: str) -> None:
    InvoicingRun.objects.filter(pk=run_id).update(
        status=InvoicingRun.Status.FAILED,
        failure=why,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


@task()
def run_invoicing(*, run_id: int) -> int:
    """The worker's side of `invoicing_run_request`, in French. Returns the
    number of invoices issued."""
    with translation.override(settings.LANGUAGE_CODE):
        run = invoicing_run_execute(run_id)
    return run.invoices_issued if run else 0
