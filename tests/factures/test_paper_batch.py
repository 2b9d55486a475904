"""The month's paper batch, printed in the background (factures.printing)
and downloaded from the invoicing page."""

import datetime
import io

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from factures import pdf, printing
from factures.models import Invoice, PaperBatch
from factures.printing import paper_batch_print
from factures.services import invoice_cancel, invoice_issue_month
from tests.conftest import STAFF_PASSWORD
from tests.factories import ChildFactory, FamilyFactory, GuardianFactory, StaffFactory
from tests.factures.conftest import OCTOBER, attend
from tests.helpers import give_totp, staff_login_with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _late_november():  # noqa: ANN202
    with time_machine.travel("2026-11-26 10:00 -04:00", tick=False):
        yield


@pytest.fixture
def october(prices, canteen):  # noqa: ANN001, ANN201
    """Three families invoiced for October: two on paper, one paperless."""
    families = {
        "paper": FamilyFactory(name="Papier", bracket=prices["B"]),
        "second": FamilyFactory(name="Second", bracket=prices["B"]),
        "online": FamilyFactory(name="Numerique", bracket=prices["B"], paperless=True),
    }
    # Paperless invoices need an address to go to.
    GuardianFactory(family=families["online"], email="numerique@example.org")
    for family in families.values():
        attend(ChildFactory(family=family), canteen, 1, 2)
    invoice_issue_month(period=OCTOBER, issued_by=None)
    return families


def ask(client, month="2026-10"):  # noqa: ANN001, ANN201
    return client.post(
        reverse("admin:factures_invoice_run"), {"month": month, "print": "1"}
    )


def message(response) -> str:  # noqa: ANN001
    """The last message the agent is shown (the first is the login's)."""
    return [str(m) for m in response.wsgi_request._messages][-1]


def test_the_batch_is_printed_in_the_background_then_downloaded(
    staff_client, october, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(pdf, "CHUNK_SIZE", 1)  # two chunks, joined

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = ask(staff_client)

    assert len(queued) == 1  # the task, once the request is recorded
    assert response.status_code == 302
    assert message(response) == (
        "L’impression des factures papier (octobre 2026) est lancée\u00a0: le "
        "fichier apparaîtra ci-dessous, prêt à télécharger."
    )
    batch = PaperBatch.objects.get()
    assert batch.status == PaperBatch.Status.READY
    assert (batch.invoice_count, batch.pages) == (2, 2)
    page = staff_client.get(response["Location"]).content.decode()
    download_url = reverse("admin:factures_paperbatch_download", args=[batch.pk, 1])
    assert download_url in page
    assert "factures-papier-2026-10.pdf" in page
    assert "2 factures, 2 pages" in page

    download = staff_client.get(download_url)

    assert download["Content-Type"] == "application/pdf"
    assert "factures-papier-2026-10.pdf" in download["Content-Disposition"]
    reader = PdfReader(io.BytesIO(b"".join(download.streaming_content)), strict=True)
    text = " ".join(page.extract_text() for page in reader.pages)
    assert [item.title for item in reader.outline] == [
        f"Facture {invoice.number}"
        for invoice in Invoice.objects.filter(paperless=False).order_by(
            "family_identifier"
        )
    ]
    assert october["paper"].identifier in text
    assert october["second"].identifier in text
    assert october["online"].identifier not in text  # paperless: not printed
    assert len(reader.pages) == 2


def test_a_batch_on_its_way_is_not_asked_for_twice(staff_client, october):
    # Without running the queued task: the batch is still waiting.
    first = ask(staff_client)
    page = staff_client.get(first["Location"]).content.decode()

    again = ask(staff_client)

    assert PaperBatch.objects.count() == 1
    assert message(again) == (
        "L’impression des factures papier (octobre 2026) est déjà en cours "
        "(demandée à 10:00)\u00a0: le fichier apparaîtra ci-dessous."
    )
    assert "En attente" in page


def test_each_chunk_is_a_task_of_its_own_joined_at_the_end(
    staff_client, october, django_capture_on_commit_callbacks, monkeypatch
):
    """One invoice per task: the first task prints the first and queues the
    second, which joins both into the batch's file, numbered through, and
    deletes the chunks' files."""
    monkeypatch.setattr(printing, "PRINT_CHUNK", 1)
    chunks = []
    chunk = printing.paper_batch_chunk

    def watched(**task):  # noqa: ANN003, ANN202
        chunks.append(task["index"])
        return chunk(**task)

    monkeypatch.setattr(printing, "paper_batch_chunk", watched)

    with django_capture_on_commit_callbacks(execute=True):
        ask(staff_client)

    batch = PaperBatch.objects.get()
    assert chunks == [0, 1]
    assert (batch.status, batch.invoice_count, batch.pages) == ("ready", 2, 2)
    assert batch.parts == []
    assert [file["invoices"] for file in batch.files] == [2]
    assert default_storage.listdir("impressions/parties")[1] == []
    with default_storage.open(batch.files[0]["name"], "rb") as file:
        reader = PdfReader(io.BytesIO(file.read()), strict=True)
    footers = [page.extract_text().splitlines()[-1] for page in reader.pages]
    assert [footer.rsplit("– ", 1)[-1] for footer in footers] == ["1", "2"]
    assert len(reader.outline) == 2


def test_a_long_batch_is_printed_as_several_files_in_order(
    staff_client,
    october,
    prices,
    canteen,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    """A file every two chunks of one invoice: five paper invoices make
    three files (2, 2 and 1 invoices), each joined as soon as its chunks
    are printed, numbered through the batch; the page offers each."""
    for name in ("Trois", "Quatre", "Cinq"):
        attend(
            ChildFactory(family=FamilyFactory(name=name, bracket=prices["B"])),
            canteen,
            1,
        )
    invoice_issue_month(period=OCTOBER, issued_by=None)  # the three new ones
    monkeypatch.setattr(printing, "PRINT_CHUNK", 1)
    monkeypatch.setattr(printing, "PRINT_VOLUME_CHUNKS", 2)
    files_when_printed = []
    chunk = printing.paper_batch_chunk

    def watched(**task):  # noqa: ANN003, ANN202
        batch = chunk(**task)
        files_when_printed.append((len(batch.files), len(batch.parts)))
        return batch

    monkeypatch.setattr(printing, "paper_batch_chunk", watched)

    with django_capture_on_commit_callbacks(execute=True):
        response = ask(staff_client)

    batch = PaperBatch.objects.get()
    # Joined every second chunk: never more than two chunks' files waiting.
    # (The tests' backend runs the next chunk inside this one: the last
    # chunk returns first.)
    assert files_when_printed[::-1] == [(0, 1), (1, 0), (1, 1), (2, 0), (3, 0)]
    assert (batch.status, batch.invoice_count, batch.pages) == ("ready", 5, 5)
    assert [(f["chunks"], f["invoices"], f["pages"]) for f in batch.files] == [
        (2, 2, 2),
        (2, 2, 2),
        (1, 1, 1),
    ]
    assert default_storage.listdir("impressions/parties")[1] == []
    page = staff_client.get(response["Location"]).content.decode()
    assert "5 factures en 3 fichiers, à imprimer dans l’ordre\u00a0:" in page
    assert "factures 3 à 4, 2 pages" in page
    assert "facture 5, 1 page" in page
    numbers = list(
        Invoice.objects.filter(paperless=False)
        .order_by("family_identifier")
        .values_list("number", flat=True)
    )
    footers, titles = [], []
    for part, expected in [(1, numbers[:2]), (2, numbers[2:4]), (3, numbers[4:])]:
        url = reverse("admin:factures_paperbatch_download", args=[batch.pk, part])
        assert url in page
        download = staff_client.get(url)
        assert (
            f"factures-papier-2026-10-{part}-sur-3.pdf"
            in (download["Content-Disposition"])
        )
        reader = PdfReader(
            io.BytesIO(b"".join(download.streaming_content)), strict=True
        )
        assert [item.title for item in reader.outline] == [
            f"Facture {number}" for number in expected
        ]
        titles += expected
        footers += [p.extract_text().splitlines()[-1] for p in reader.pages]
    assert titles == numbers
    assert [footer.rsplit("– ", 1)[-1] for footer in footers] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    beyond = reverse("admin:factures_paperbatch_download", args=[batch.pk, 4])
    assert staff_client.get(beyond).status_code == 404


def test_a_failure_after_a_file_is_joined_leaves_no_file(
    staff_client, october, monkeypatch
):
    """The joined file is written before the batch records it: when that
    record fails, the file is deleted with the chunks' files."""
    ask(staff_client)  # queued, not yet printed
    save = PaperBatch.save

    def joining_fails(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if "files" in kwargs.get("update_fields", ()):
            raise OSError("database gone")
        return save(self, *args, **kwargs)

    monkeypatch.setattr(PaperBatch, "save", joining_fails)
    with pytest.raises(OSError):
        paper_batch_print(PaperBatch.objects.get())

    batch = PaperBatch.objects.get()
    assert (batch.status, batch.files, batch.parts) == ("failed", [], [])
    assert default_storage.listdir("impressions")[1] == []
    assert default_storage.listdir("impressions/parties")[1] == []


def test_housekeeping_deletes_the_chunks_of_a_batch_taken_for_lost(
    staff_client, october, monkeypatch
):
    monkeypatch.setattr(printing, "PRINT_CHUNK", 1)
    monkeypatch.setattr(
        printing.print_paper_chunk.__class__, "enqueue", lambda task, **kwargs: None
    )
    ask(staff_client)
    paper_batch_print(PaperBatch.objects.get())  # the first chunk, then silence
    batch = PaperBatch.objects.get()
    assert len(batch.parts) == 1
    PaperBatch.objects.update(requested_at=timezone.now() - datetime.timedelta(days=8))

    call_command("housekeeping", stdout=io.StringIO())

    assert not PaperBatch.objects.exists()
    assert default_storage.listdir("impressions/parties")[1] == []


def test_a_chunk_delivered_twice_is_printed_once(
    staff_client, october, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(printing, "PRINT_CHUNK", 1)
    queued = []
    monkeypatch.setattr(
        printing.print_paper_chunk.__class__,
        "enqueue",
        lambda task, **kwargs: queued.append(kwargs),
    )
    ask(staff_client)
    batch = PaperBatch.objects.get()
    paper_batch_print(batch)  # the first chunk; the second is queued
    batch.refresh_from_db()
    first = batch.parts

    printing.paper_batch_chunk(batch_id=batch.pk, index=0)  # again

    batch.refresh_from_db()
    assert queued == [{"batch_id": batch.pk, "index": 1}]
    assert (batch.status, batch.printed, batch.parts) == ("running", 1, first)
    assert len(default_storage.listdir("impressions/parties")[1]) == 1


def test_a_failing_chunk_fails_the_batch_and_leaves_no_file(
    staff_client, october, monkeypatch
):
    monkeypatch.setattr(printing, "PRINT_CHUNK", 1)
    ask(staff_client)
    calls = []
    write = printing.invoices_pdf_write

    def second_fails(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(kwargs["first_page"])
        if len(calls) == 2:
            raise OSError("disk full")
        return write(*args, **kwargs)

    monkeypatch.setattr(printing, "invoices_pdf_write", second_fails)
    # The second chunk's task fails (the immediate backend records it).
    paper_batch_print(PaperBatch.objects.get())

    batch = PaperBatch.objects.get()
    assert calls == [1, 2]  # the second chunk's pages follow the first's
    assert (batch.status, batch.parts, batch.files) == ("failed", [], [])
    assert default_storage.listdir("impressions/parties")[1] == []


def test_printing_waits_behind_the_e_mails_on_a_queue_of_its_own(settings):
    """The printing tasks go to the "impressions" queue (a worker of its own
    in production); a worker that takes both queues (make run) takes the
    e-mails first, even those queued after a chunk."""
    from django_tasks_db.models import DBTaskResult

    from factures.tasks import send_invoices_available

    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default", "impressions"],
        }
    }
    printing.print_paper_chunk.enqueue(batch_id=1, index=3)
    send_invoices_available.enqueue(invoice_ids=[])

    ready = list(DBTaskResult.objects.ready().values_list("queue_name", "task_path"))

    assert ready == [
        ("default", "factures.tasks.send_invoices_available"),
        ("impressions", "factures.printing.print_paper_chunk"),
    ]


def test_a_batch_silent_for_a_quarter_hour_can_be_asked_for_again(
    staff_client, october
):
    ask(staff_client)  # never printed: the worker stopped
    PaperBatch.objects.update(
        touched_at=timezone.now() - datetime.timedelta(minutes=16)
    )

    page = staff_client.get(reverse("admin:factures_invoice_run")).text

    again = ask(staff_client)

    assert "Perdue (l’impression a été interrompue)" in page
    assert PaperBatch.objects.count() == 2
    assert "est lancée" in message(again)


def test_a_month_without_paper_invoices_is_refused(staff_client, october):
    invoice = Invoice.objects.get(family=october["paper"])
    invoice_cancel(invoice=invoice, reason="Erreur", agent=None)
    invoice = Invoice.objects.get(family=october["second"])
    invoice_cancel(invoice=invoice, reason="Erreur", agent=None)

    response = ask(staff_client)

    assert message(response) == "Aucune facture papier pour octobre 2026."
    assert not PaperBatch.objects.exists()


def test_a_failed_batch_is_shown_as_failed(
    staff_client, october, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(invoices, output):  # noqa: ANN001, ANN202
        raise OSError("disk full")

    monkeypatch.setattr(printing, "invoices_pdf_write", broken)

    with django_capture_on_commit_callbacks(execute=True):
        ask(staff_client)  # the worker logs the error; the agent sees the state

    batch = PaperBatch.objects.get()
    assert batch.status == PaperBatch.Status.FAILED
    assert batch.files == []
    page = staff_client.get(reverse("admin:factures_invoice_run")).content.decode()
    assert "Échec" in page
    download_url = reverse("admin:factures_paperbatch_download", args=[batch.pk, 1])
    assert staff_client.get(download_url).status_code == 404


def test_only_agents_who_may_see_invoices_download_the_batch(
    client, staff_client, october, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(staff_client)
    batch = PaperBatch.objects.get()
    client.logout()
    agent = StaffFactory()
    agent.user_permissions.set(Permission.objects.filter(codename="view_family"))
    staff_login_with_totp(client, agent, STAFF_PASSWORD, give_totp(agent))

    response = client.get(
        reverse("admin:factures_paperbatch_download", args=[batch.pk, 1])
    )

    assert response.status_code == 403


def test_a_failure_after_the_file_is_written_leaves_no_file(
    staff_client, october, monkeypatch
):
    ask(staff_client)  # queued, not yet printed
    batch = PaperBatch.objects.get()

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError("database gone")

    monkeypatch.setattr(PaperBatch, "save", broken)
    with pytest.raises(OSError):
        paper_batch_print(batch)

    batch.refresh_from_db()
    assert batch.status == PaperBatch.Status.FAILED
    assert batch.files == []
    assert default_storage.listdir("impressions")[1] == []


def test_a_lost_batch_is_not_printed_when_its_task_comes_at_last(staff_client, october):
    ask(staff_client)
    PaperBatch.objects.update(touched_at=timezone.now() - datetime.timedelta(hours=2))

    paper_batch_print(PaperBatch.objects.get())

    assert PaperBatch.objects.get().status == PaperBatch.Status.QUEUED  # lost


def test_a_task_delivered_twice_prints_once(
    staff_client, october, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(staff_client)
    batch = PaperBatch.objects.get()
    printed = batch.files

    paper_batch_print(batch)

    batch.refresh_from_db()
    assert batch.status == PaperBatch.Status.READY
    assert (batch.invoice_count, batch.pages) == (2, 2)  # one chunk
    assert batch.files == printed
    assert default_storage.listdir("impressions")[1] == [
        printed[0]["name"].split("/")[-1]
    ]


def test_housekeeping_deletes_batches_after_a_week(
    staff_client, october, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(staff_client)
    old = PaperBatch.objects.get()
    name = old.files[0]["name"]
    with django_capture_on_commit_callbacks(execute=True):
        ask(staff_client, month="2026-10")  # a second one, for today
    PaperBatch.objects.filter(pk=old.pk).update(
        requested_at=timezone.now() - datetime.timedelta(days=7, minutes=1)
    )

    call_command("housekeeping", stdout=io.StringIO())

    assert not PaperBatch.objects.filter(pk=old.pk).exists()
    assert PaperBatch.objects.count() == 1
    assert not default_storage.exists(name)


def test_lost_is_the_same_rule_in_python_and_in_sql(staff_client):
    """`PaperBatch.lost` and `on_its_way()` say the same of every batch that
    is waiting or being printed, on both sides of the patience."""
    now = timezone.now()
    for status in PaperBatch.Status.values:
        for minutes in (1, 14, 15, 16, 600):
            PaperBatch.objects.create(
                period=OCTOBER,
                status=status,
                touched_at=now - datetime.timedelta(minutes=minutes),
            )
    on_its_way = set(PaperBatch.objects.on_its_way().values_list("pk", flat=True))
    waiting = [
        batch
        for batch in PaperBatch.objects.all()
        if batch.status in (PaperBatch.Status.QUEUED, PaperBatch.Status.RUNNING)
    ]

    assert {batch.pk for batch in waiting if not batch.lost} == on_its_way
    assert len(on_its_way) == 4  # queued and running, at 1 and 14 minutes
    assert not any(
        batch.lost
        for batch in PaperBatch.objects.filter(
            status__in=[PaperBatch.Status.READY, PaperBatch.Status.FAILED]
        )
    )


def test_the_print_queue_is_named_alike_in_settings_and_the_print_worker():
    """The queue's name is written in the settings (they cannot import the
    app), in the printing tasks and in the print worker's unit: they must
    agree, or the batch waits for a worker that never looks at its queue."""
    from pathlib import Path

    from django.conf import settings

    unit = Path(__file__).resolve().parents[2] / "deploy/systemd"
    assert printing.PRINT_QUEUE in settings.TASKS["default"]["QUEUES"]
    for task in (printing.print_paper_batch, printing.print_paper_chunk):
        assert task.queue_name == printing.PRINT_QUEUE
    assert (
        f"--queue-name {printing.PRINT_QUEUE}"
        in (unit / "portail-print-worker.service").read_text()
    )
