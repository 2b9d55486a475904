"""The month's paper batch is laid out a chunk of invoices at a time
(factures.pdf.CHUNK_SIZE) and still prints as one document."""

import datetime
import io

import pytest
from pypdf import PdfReader

from factures import pdf
from factures.models import Invoice
from factures.services import invoice_issue_month
from tests.factories import ChildFactory, FamilyFactory
from tests.factures.conftest import OCTOBER, attend

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_invoices(prices, canteen):  # noqa: ANN001, ANN201
    for n in range(5):
        family = FamilyFactory(bracket=prices["B"])
        attend(ChildFactory(family=family), canteen, *range(1, 2 + n))
    invoice_issue_month(
        period=OCTOBER, issued_by=None, today=datetime.date(2026, 11, 2)
    )
    return list(Invoice.objects.with_balance().order_by("family_identifier"))


def test_a_batch_of_several_chunks_is_one_pdf_numbered_throughout(
    five_invoices, monkeypatch
):
    monkeypatch.setattr(pdf, "CHUNK_SIZE", 2)

    reader = PdfReader(io.BytesIO(pdf.invoices_pdf(five_invoices)), strict=True)

    assert len(reader.pages) == 5
    # A bookmark per invoice, on its page, as in one document.
    assert [item.title for item in reader.outline] == [
        f"Facture {invoice.number}" for invoice in five_invoices
    ]
    assert [reader.get_destination_page_number(item) for item in reader.outline] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert reader.root_object["/Lang"] == "fr"  # for screen readers
    assert reader.metadata.title == "Factures"
    for number, (page, invoice) in enumerate(
        zip(reader.pages, five_invoices, strict=True), start=1
    ):
        text = " ".join(page.extract_text().replace("\u00a0", " ").split())
        assert invoice.family_identifier in text
        assert f"{invoice.number} – {number}" in text  # the footer


def test_chunks_draw_the_same_pages_as_one_document(five_invoices, monkeypatch):
    whole = PdfReader(io.BytesIO(pdf.invoices_pdf(five_invoices)))
    monkeypatch.setattr(pdf, "CHUNK_SIZE", 2)

    chunked = PdfReader(io.BytesIO(pdf.invoices_pdf(five_invoices)))

    assert [page.get_contents().get_data() for page in chunked.pages] == [
        page.get_contents().get_data() for page in whole.pages
    ]
