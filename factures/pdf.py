"""Invoice PDFs (WeasyPrint). One function renders one invoice or a batch;
the templates are in templates/pdf/; nothing is fetched from the network.

bench/pdf.py measures them; what it showed:

- WeasyPrint builds, for every document, a TLS context loading the system's
  certificate authorities (~30 ms, a third of a short page's layout) and a
  font configuration. These documents fetch nothing: they get a fetcher
  without network, and the font configuration is kept, one per thread;
- the stylesheet (pdf/invoices.css) is parsed once per process and language;
- a batch is laid out a chunk of invoices at a time, each chunk written as
  a PDF and appended to the batch's: one document for the month held every
  element, cascaded style and box of it at once (~1 MB an invoice), and
  WeasyPrint keeps a document's laid-out pages until it is written.
"""

import io
import ssl
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import islice
from typing import Any, BinaryIO, NamedTuple

from django.conf import settings
from django.db.models import QuerySet, prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
)
from weasyprint import CSS, HTML
from weasyprint.document import Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from factures.models import Invoice
from familles.models import User
from familles.services import activation_code_pending
from paiements.rules import payment_rules

# Invoices laid out per WeasyPrint render in a batch. Larger chunks share
# more of the per-render cost; the working set grows with the chunk.
CHUNK_SIZE = 50

# Never used to connect (the fetcher below allows no network scheme); given so
# that WeasyPrint does not build one with the system's CAs for every document.
_NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
_local = threading.local()


def _url_fetcher() -> URLFetcher:
    """This thread's fetcher, which refuses anything but inline `data:` URLs.
    Kept: building one (an urllib opener, the proxies read from the
    environment) cost a millisecond a document."""
    fetcher = getattr(_local, "url_fetcher", None)
    if fetcher is None:
        fetcher = _local.url_fetcher = URLFetcher(
            ssl_context=_NO_TLS, allowed_protocols=("data",)
        )
    return fetcher


def _font_config() -> FontConfiguration:
    """This thread's font configuration: building one costs a few ms a
    document, and it holds Pango's font cache. Not shared between threads
    (Pango objects are not thread-safe)."""
    font_config = getattr(_local, "font_config", None)
    if font_config is None:
        font_config = _local.font_config = FontConfiguration()
    return font_config


@lru_cache(maxsize=8)
def _stylesheet(language: str) -> CSS:
    # One per language: it holds a translated label.
    return CSS(string=render_to_string("pdf/invoices.css"), url_fetcher=_url_fetcher())


def _first_logins(family_ids: set[int]) -> dict[int, User]:
    """Each family's first active login (by creation), read for a whole
    chunk in one query."""
    logins: dict[int, User] = {}
    for user in User.objects.filter(family_id__in=family_ids, is_active=True).order_by(
        "pk"
    ):
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
            "rules": payment_rules(),
            "first_page": first_page,
            "last": last,
        },
    )
    return HTML(string=html, url_fetcher=_url_fetcher()).render(
        stylesheets=[_stylesheet(get_language())],
        font_config=_font_config(),
    )


def invoices_pdf(invoices: Iterable[Invoice]) -> bytes:
    """One PDF holding the given invoices, each starting on a new page; the
    pages are numbered through the whole PDF."""
    output = io.BytesIO()
    invoices_pdf_write(invoices, output)
    return output.getvalue()


# An outline item's links to its neighbours, written anew by _PdfJoin.
_BOOKMARK_LINKS = ("/Parent", "/Prev", "/Next", "/First", "/Last", "/Count")


def _bookmarks(item: Any, seen: set[int] | None = None) -> Iterator[DictionaryObject]:
    """An outline's items from `item` on, depth first (a heading, then the
    headings under it); an item met twice (a malformed outline) ends it."""
    seen = set() if seen is None else seen
    while item is not None and item.idnum not in seen:
        seen.add(item.idnum)
        item_object = item.get_object()
        yield item_object
        yield from _bookmarks(item_object.get("/First"), seen)
        item = item_object.get("/Next")


class _PdfJoin:
    """Writes the pages of several PDFs, one after another, as one PDF, each
    source written out as soon as it is appended: only the objects' offsets
    and the pages' numbers are kept (pypdf's or qpdf's own merge keep every
    page's objects until the end, ~20 kB an invoice, bench/pdf.py).

    The first source gives the title and language. The sources' bookmarks
    (one per invoice, from its heading) are kept, in order, all at one
    level. Meant for WeasyPrint's output of the invoices, nothing else: no
    forms, no structure tree, no named destinations (internal links)."""

    def __init__(self, output: BinaryIO) -> None:
        self.output = output
        self.offsets: list[int | None] = [None]  # object 0 is never used
        self.page_numbers: list[int] = []
        self.info: DictionaryObject | None = None
        self.language: Any = None
        self.pages_number = self._reserve()
        self.outline_number = self._reserve()
        self.bookmarks = 0
        self.first_bookmark: int | None = None
        self.pending_bookmark: tuple[int, DictionaryObject] | None = None
        output.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _reserve(self) -> int:
        self.offsets.append(None)
        return len(self.offsets) - 1

    def _write(self, number: int, value: PdfObject) -> None:
        self.offsets[number] = self.output.tell()
        self.output.write(b"%d 0 obj\n" % number)
        value.write_to_stream(self.output)
        self.output.write(b"\nendobj\n")

    def append(self, source: PdfReader) -> None:
        numbers: dict[int, int] = {}  # the source's object numbers to ours
        to_write: list[IndirectObject] = []

        def renumbered(value: Any) -> Any:
            """`value` with its references to the source's objects turned
            into references to ours, each referenced object queued to be
            written once (changed in place: the source is read once and
            thrown away). References of ours (to the page tree) are left."""
            if isinstance(value, IndirectObject):
                if value.pdf is not source:
                    return value
                if value.idnum not in numbers:
                    numbers[value.idnum] = self._reserve()
                    to_write.append(value)
                return IndirectObject(numbers[value.idnum], 0, None)
            if isinstance(value, DictionaryObject):
                for key, item in list(dict.items(value)):
                    dict.__setitem__(value, key, renumbered(item))
            elif isinstance(value, ArrayObject):
                for index, item in enumerate(list.__iter__(value)):
                    list.__setitem__(value, index, renumbered(item))
            return value

        def write_queued() -> None:
            while to_write:
                reference = to_write.pop()
                self._write(
                    numbers[reference.idnum], renumbered(reference.get_object())
                )

        if self.info is None:
            self.info = DictionaryObject(dict.items(source.metadata or {}))
            self.language = source.root_object.get("/Lang")
        # The pages first, numbered before anything refers to them. pypdf's
        # pages carry what they inherit from the source's page tree
        # (resources, boxes), which is not copied.
        pages = []
        for page in source.pages:
            numbers[page.indirect_reference.idnum] = self._reserve()
            self.page_numbers.append(numbers[page.indirect_reference.idnum])
            pages.append(page)
        for page in pages:
            value = DictionaryObject(dict.items(page))
            value[NameObject("/Parent")] = IndirectObject(self.pages_number, 0, None)
            self._write(numbers[page.indirect_reference.idnum], renumbered(value))
            write_queued()
        outline = source.root_object.get("/Outlines")
        for item in _bookmarks(outline.get("/First") if outline else None):
            self._bookmark(
                renumbered(
                    DictionaryObject(
                        (key, value)
                        for key, value in dict.items(item)
                        if key not in _BOOKMARK_LINKS
                    )
                )
            )
        write_queued()  # what only the bookmarks refer to

    def _bookmark(self, bookmark: DictionaryObject) -> None:
        """Write the previous bookmark, now that its next one is known; keep
        this one until its own next one is."""
        number = self._reserve()
        bookmark[NameObject("/Parent")] = IndirectObject(self.outline_number, 0, None)
        if self.pending_bookmark is None:
            self.first_bookmark = number
        else:
            previous_number, previous = self.pending_bookmark
            previous[NameObject("/Next")] = IndirectObject(number, 0, None)
            bookmark[NameObject("/Prev")] = IndirectObject(previous_number, 0, None)
            self._write(previous_number, previous)
        self.pending_bookmark = (number, bookmark)
        self.bookmarks += 1

    def close(self) -> None:
        """Write the page tree, the bookmarks' root, the catalogue, the
        cross-reference table and the trailer."""

        def reference(number: int) -> IndirectObject:
            return IndirectObject(number, 0, None)

        self._write(
            self.pages_number,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Pages"),
                    NameObject("/Kids"): ArrayObject(
                        reference(number) for number in self.page_numbers
                    ),
                    NameObject("/Count"): NumberObject(len(self.page_numbers)),
                }
            ),
        )
        outline = DictionaryObject({NameObject("/Type"): NameObject("/Outlines")})
        if self.pending_bookmark is not None:
            last_number, last = self.pending_bookmark
            self._write(last_number, last)
            outline[NameObject("/First")] = reference(self.first_bookmark)
            outline[NameObject("/Last")] = reference(last_number)
            outline[NameObject("/Count")] = NumberObject(self.bookmarks)
        self._write(self.outline_number, outline)
        catalog = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Catalog"),
                NameObject("/Pages"): reference(self.pages_number),
                NameObject("/Outlines"): reference(self.outline_number),
            }
        )
        if self.language is not None:
            catalog[NameObject("/Lang")] = self.language
        catalog_number = self._reserve()
        self._write(catalog_number, catalog)
        info_number = self._reserve()
        self._write(info_number, self.info or DictionaryObject())
        start = self.output.tell()
        self.output.write(b"xref\n0 %d\n0000000000 65535 f \n" % len(self.offsets))
        for offset in self.offsets[1:]:
            self.output.write(b"%010d 00000 n \n" % offset)
        self.output.write(b"trailer\n")
        DictionaryObject(
            {
                NameObject("/Size"): NumberObject(len(self.offsets)),
                NameObject("/Root"): reference(catalog_number),
                NameObject("/Info"): reference(info_number),
            }
        ).write_to_stream(self.output)
        self.output.write(b"\nstartxref\n%d\n%%%%EOF\n" % start)


class Printed(NamedTuple):
    invoices: int
    pages: int


def invoices_pdf_write(invoices: Iterable[Invoice], output: BinaryIO) -> Printed:
    """Write `invoices_pdf(invoices)` to `output`; returns how many invoices
    and pages it holds.

    A queryset is read a chunk at a time, not kept whole: its result cache
    would hold every invoice with its lines until the end. Each chunk is
    laid out, written as a PDF of its own, and its objects copied to
    `output` (`_PdfJoin`): WeasyPrint keeps every laid-out page of a
    document until it is written (~0.45 MB an invoice). The memory a batch
    takes does not grow with its size (bench/pdf.py)."""
    if isinstance(invoices, QuerySet):
        invoices = invoices.iterator(chunk_size=CHUNK_SIZE)
    remaining = iter(invoices)
    chunk = list(islice(remaining, CHUNK_SIZE))
    following = list(islice(remaining, CHUNK_SIZE))
    document = _render(chunk, first_page=1, last=not following)
    if not following:
        document.write_pdf(output)
        return Printed(invoices=len(chunk), pages=len(document.pages))
    join = _PdfJoin(output)
    printed, pages = 0, 0
    while True:
        printed += len(chunk)
        pages += len(document.pages)
        join.append(PdfReader(io.BytesIO(document.write_pdf())))
        if not following:
            break
        chunk, following = following, list(islice(remaining, CHUNK_SIZE))
        document = _render(chunk, first_page=pages + 1, last=not following)
    join.close()
    return Printed(invoices=printed, pages=pages)


def invoice_pdf(invoice: Invoice) -> bytes:
    return invoices_pdf([invoice])
