"""A paper batch printed as one file before batches could have several
keeps that file once migrated (factures 0012)."""

import pytest
from django.db.migrations.exceptions import IrreversibleError

from tests.helpers import migrate_to

BEFORE = [("factures", "0011_invoice_open_by_family")]


@pytest.mark.django_db(transaction=True)
def test_a_batch_printed_as_one_file_keeps_it():
    from factures.models import PaperBatch

    try:
        old = migrate_to(BEFORE)
        OldBatch = old.get_model("factures", "PaperBatch")  # noqa: N806
        printed = OldBatch.objects.create(
            period="2026-10-01",
            status="ready",
            invoice_count=450,
            pages=470,
            file="impressions/factures-papier-2026-10.pdf",
        ).pk
        waiting = OldBatch.objects.create(period="2026-11-01").pk
    finally:
        migrate_to(None)

    batch = PaperBatch.objects.get(pk=printed)
    assert batch.files == [
        {
            "name": "impressions/factures-papier-2026-10.pdf",
            "chunks": 3,
            "invoices": 450,
            "pages": 470,
        }
    ]
    assert batch.volumes == [(1, "factures-papier-2026-10.pdf", 1, 450, 470)]
    assert PaperBatch.objects.get(pk=waiting).files == []


@pytest.mark.django_db(transaction=True)
def test_going_back_is_refused_while_a_batch_has_several_files():
    """One file could not say what the others hold: the batches in several
    files have to be deleted before the migration is undone."""
    from factures.models import PaperBatch

    file = {"chunks": 10, "invoices": 2000, "pages": 2000}
    PaperBatch.objects.create(
        period="2026-10-01",
        status="ready",
        invoice_count=2100,
        pages=2100,
        files=[
            {**file, "name": "impressions/lot-1-001.pdf"},
            {**file, "name": "impressions/lot-1-002.pdf", "invoices": 100},
        ],
    )
    try:
        with pytest.raises(IrreversibleError):
            migrate_to(BEFORE)
    finally:
        migrate_to(None)
    assert PaperBatch.objects.get().files[1]["invoices"] == 100
