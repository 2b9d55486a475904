"""The invoicing run and the paper batch in the worker: progress while they
run, a summary at the end, and the work done once however often it is
asked for."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from factures.models import RUN_PATIENCE, Invoice, InvoicingRun, PaperBatch
from factures.pdf import invoices_pdf_write
from factures.printing import paper_batch_print
from factures.runs import invoicing_run_execute, invoicing_run_request
from factures.services import invoice_issue_month
from tests.factories import ChildFactory, FamilyFactory
from tests.factures.conftest import attend

pytestmark = [pytest.mark.django_db, pytest.mark.now("2026-11-26 10:00 -04:00")]

OCTOBER = datetime.date(2026, 10, 1)


@pytest.fixture
def october(prices, canteen):  # noqa: ANN001, ANN201
    """Three families with October meals, one of them without a bracket."""
    families = [
        FamilyFactory(name=f"Famille{n}", bracket=prices["B"]) for n in range(2)
    ]
    families.append(FamilyFactory(name="SansTranche", bracket=False))
    for family in families:
        attend(ChildFactory(family=family), canteen, 1, 2, 5)
    return families


def queued(period=OCTOBER, **fields):  # noqa: ANN001, ANN003, ANN201
    return InvoicingRun.objects.create(period=period, **fields)


def test_the_run_records_its_progress_batch_by_batch(october, monkeypatch):
    monkeypatch.setattr("factures.services.INVOICING_BATCH", 2)
    run = queued()
    rows = []

    def watched(**kwargs):  # noqa: ANN003, ANN202
        told = kwargs["progress"]

        def progress(done, total):  # noqa: ANN001, ANN202
            told(done, total)
            rows.append(
                InvoicingRun.objects.values_list(
                    "status", "families_done", "families_total"
                ).get(pk=run.pk)
            )

        return invoice_issue_month(**{**kwargs, "progress": progress})

    monkeypatch.setattr("factures.runs.invoice_issue_month", watched)
    invoicing_run_execute(run.pk)

    assert rows == [("running", 0, 3), ("running", 2, 3), ("running", 3, 3)]


def test_the_run_ends_with_its_summary(october):
    done = invoicing_run_execute(queued().pk)

    assert done.status == InvoicingRun.Status.DONE
    assert (done.families_done, done.families_total) == (3, 3)
    assert done.invoices_issued == 2
    assert done.already_invoiced == 0
    assert done.total_amount == Decimal("10.80")  # 2 families x 3 meals x 1,80
    assert list(done.skipped) == [october[2].identifier]
    assert done.late_meals == 0
    assert done.finished_at is not None


def test_a_task_delivered_twice_runs_once(october):
    run = queued()

    first = invoicing_run_execute(run.pk)
    second = invoicing_run_execute(run.pk)

    assert first.invoices_issued == 2
    assert second is None
    assert Invoice.objects.count() == 2
    assert InvoicingRun.objects.get(pk=run.pk).invoices_issued == 2


def test_asking_while_a_run_is_on_its_way_finds_it(october, staff):
    running = queued(status=InvoicingRun.Status.RUNNING)

    run, new = invoicing_run_request(period=OCTOBER, requested_by=staff)

    assert (run, new) == (running, False)
    assert InvoicingRun.objects.count() == 1
    assert Invoice.objects.count() == 0


def test_one_run_per_month_at_a_time_is_a_constraint(october):
    queued()
    with pytest.raises(IntegrityError), transaction.atomic():
        queued()
    queued(period=datetime.date(2026, 9, 1))  # another month may run beside


def test_a_lost_run_is_closed_and_the_month_can_run_again(
    october, staff, django_capture_on_commit_callbacks
):
    lost = queued(
        status=InvoicingRun.Status.RUNNING,
        updated_at=timezone.now() - RUN_PATIENCE - datetime.timedelta(minutes=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        run, new = invoicing_run_request(period=OCTOBER, requested_by=staff)

    lost.refresh_from_db()
    assert new and run != lost
    assert lost.status == InvoicingRun.Status.FAILED and lost.failure
    run.refresh_from_db()  # the immediate backend ran it on commit
    assert run.status == InvoicingRun.Status.DONE


def test_a_month_not_over_is_refused_at_once(october, staff):
    with pytest.raises(ValidationError):
        invoicing_run_request(period=datetime.date(2026, 11, 1), requested_by=staff)
    assert InvoicingRun.objects.count() == 0


def test_the_page_says_a_run_is_already_under_way(staff_client, october):
    queued(status=InvoicingRun.Status.RUNNING, families_total=40, families_done=15)
    url = reverse("admin:factures_invoice_run")

    page = staff_client.post(url, {"month": "2026-10", "run": "1"}, follow=True)

    text = page.text
    assert "déjà en cours" in text
    assert "<span data-done>15</span> sur <span data-total>40</span> familles" in text
    assert "js/progress.js" in text  # the page follows the run by itself
    assert InvoicingRun.objects.count() == 1


def test_the_progress_endpoint_gives_runs_and_batches(staff_client, october):
    run = queued(
        status=InvoicingRun.Status.RUNNING, families_total=40, families_done=15
    )
    batch = PaperBatch.objects.create(
        period=OCTOBER, status=PaperBatch.Status.RUNNING, invoice_total=100, printed=50
    )

    data = json.loads(
        staff_client.get(reverse("admin:factures_invoice_run_progress")).content
    )

    assert data["runs"] == [
        {"id": run.pk, "status": "running", "done": 15, "total": 40}
    ]
    assert data["batches"] == [
        {"id": batch.pk, "status": "running", "done": 50, "total": 100}
    ]


def test_a_finished_page_does_not_poll(staff_client, october):
    invoicing_run_execute(queued().pk)

    page = staff_client.get(reverse("admin:factures_invoice_run")).text

    assert "js/progress.js" not in page
    assert "2 factures émises" in page
    assert "1 famille écartée" in page


def test_the_paper_batch_counts_what_it_printed(october, monkeypatch):
    invoicing_run_execute(queued().pk)
    Invoice.objects.update(paperless=False)
    monkeypatch.setattr("factures.pdf.CHUNK_SIZE", 1)
    batch = PaperBatch.objects.create(period=OCTOBER)
    rows = []

    def watched(invoices, output, progress, **part):  # noqa: ANN001, ANN003, ANN202
        def told(printed):  # noqa: ANN001, ANN202
            progress(printed)
            rows.append(
                PaperBatch.objects.values_list("invoice_total", "printed").get(
                    pk=batch.pk
                )
            )

        return invoices_pdf_write(invoices, output, told, **part)

    monkeypatch.setattr("factures.printing.invoices_pdf_write", watched)
    paper_batch_print(batch)

    batch.refresh_from_db()
    assert rows == [(2, 1), (2, 2)]
    assert (batch.status, batch.printed, batch.invoice_count) == ("ready", 2, 2)
