"""Invoice PDFs (WeasyPrint). One function renders one invoice or a batch;
the templates are in templates/pdf/; nothing is fetched from the network.

Each document gets a fetcher without network and a kept font configuration
(building either for every document cost a third of a page's layout); a
batch is laid out a chunk at a time, since WeasyPrint holds a document's
laid-out pages until it is written. The figures: docs/PERFORMANCE.md.
"""

import io
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from itertools import islice
from typing import Any, BinaryIO, NamedTuple

from django.conf import settings
from django.db.models import QuerySet, prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from pypdf import PdfReader, PdfWriter
from weasyprint import CSS, HTML
from weasyprint.document import Document

from factures.models import Invoice
from familles.models import User
from familles.services import activation_code_pending
from portail.documents import document_extras
from portail.pdf import font_config, url_fetcher

# Invoices laid out per WeasyPrint render in a batch. Larger chunks share
# more of the per-render cost; the working set grows with the chunk.
CHUNK_SIZE = 50


@lru_cache(maxsize=8)
def _stylesheet(language: str) -> CSS:
    # One per language: it holds a translated label.
    return CSS(string=render_to_string("pdf/invoices.css"), url_fetcher=url_fetcher())


def _first_logins(family_ids: set[int]) -> dict[int, User]:
    """Each family's first active login (by creation), read for a whole
    chunk in one query."""
    logins: dict[int, User] = {}
    for user in User.objects.filter(family_id__in=family_ids, is_active=True).order_by(
        "pk"
    ):
        if user.family_id is not None:
            logins.setdefault(user.family_id, user)
    return logins


def _invoice_context(invoice: Invoice, login: User | None) -> dict[str, Any]:
    # While the login was never activated, the invoice carries the code.
    pending = (
        activation_code_pending(user=login)
        if login is not None and not login.has_usable_password()
        else None
    )
    return {
        "invoice": invoice,
        "lines": invoice.lines.all(),
        "credit_notes": invoice.credit_notes_to_show(),
        "activation_code": pending[1] if pending else None,
        "activation_expires": timezone.localdate(pending[0].expires_at)
        if pending
        else None,
    }


def _render(invoices: list[Invoice], *, first_page: int, last: bool) -> Document:
    """Lay out a chunk of a batch as one WeasyPrint document: its pages are
    numbered from `first_page`, and unless it is the `last` chunk the batch
    goes on after it."""
    prefetch_related_objects(invoices, "lines")
    credited = [invoice for invoice in invoices if invoice.may_have_credit_notes]
    prefetch_related_objects(credited, "credit_notes")
    logins = _first_logins({invoice.family_id for invoice in invoices})
    html = render_to_string(
        "pdf/invoices.html",
        {
            "documents": [
                _invoice_context(invoice, logins.get(invoice.family_id))
                for invoice in invoices
            ],
            "commune": settings.PORTAIL_COMMUNE,
            **document_extras(),
            "first_page": first_page,
            "last": last,
        },
    )
    return HTML(string=html, url_fetcher=url_fetcher()).render(
        stylesheets=[_stylesheet(get_language())],
        font_config=font_config(),
    )


def invoices_pdf(invoices: Iterable[Invoice]) -> bytes:
    """One PDF holding the given invoices, each starting on a new page; the
    pages are numbered through the whole PDF."""
    output = io.BytesIO()
    invoices_pdf_write(invoices, output)
    return output.getvalue()


def pdf_join(parts: Iterable[bytes], output: BinaryIO) -> None:
    """Write the PDFs, in order, as one to `output`: pypdf keeps the first
    one's title and language and every one's bookmarks. Each part is read
    when its turn comes (a generator may lay it out then)."""
    writer: PdfWriter | None = None
    for part in parts:
        reader = PdfReader(io.BytesIO(part))
        if writer is None:
            writer = PdfWriter(clone_from=reader)
        else:
            writer.append(reader)
    if writer is None:
        raise ValueError("no PDF to join")
    writer.write(output)


class Printed(NamedTuple):
    invoices: int
    pages: int


def invoices_pdf_write(
    invoices: Iterable[Invoice],
    output: BinaryIO,
    progress: Callable[[int], None] | None = None,
    *,
    first_page: int = 1,
    last: bool = True,
) -> Printed:
    """Write `invoices_pdf(invoices)` to `output`; returns how many invoices
    and pages it holds. A part of a longer batch (`factures.printing`) has
    its pages numbered from `first_page`, and is not the `last` one.

    A queryset is read a chunk at a time, and each chunk laid out and
    written as a PDF of its own: WeasyPrint keeps a document's laid-out
    pages until it is written (~0.45 MB an invoice). pypdf joins the
    chunks, keeping the first one's title and language and every chunk's
    bookmarks. `progress(printed)` hears of each chunk laid out."""
    if isinstance(invoices, QuerySet):
        invoices = invoices.iterator(chunk_size=CHUNK_SIZE)
    remaining = iter(invoices)
    chunk = list(islice(remaining, CHUNK_SIZE))
    following = list(islice(remaining, CHUNK_SIZE))
    document = _render(chunk, first_page=first_page, last=last and not following)
    if not following:
        document.write_pdf(output)
        return Printed(invoices=len(chunk), pages=len(document.pages))
    printed, pages = 0, 0

    def parts() -> Iterator[bytes]:
        nonlocal printed, pages, chunk, following, document
        while True:
            printed += len(chunk)
            pages += len(document.pages)
            if progress is not None:
                progress(printed)
            yield document.write_pdf()
            if not following:
                return
            chunk, following = following, list(islice(remaining, CHUNK_SIZE))
            document = _render(
                chunk, first_page=first_page + pages, last=last and not following
            )

    pdf_join(parts(), output)
    return Printed(invoices=printed, pages=pages)


def invoice_pdf(invoice: Invoice) -> bytes:
    return invoices_pdf([invoice])
