"""Lists that grow with a family's history, shown a page at a time: what a
page reads is bounded by what it shows, whatever the years behind it
(issue "Scale")."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window
from django.db.models.query import ModelIterable, ValuesListIterable
from django.http import HttpRequest

# A year of monthly invoices, or of payments, fits on one page: a family
# with five school years behind it sees a first page no longer than one
# with a single year (20 gave the five-year family's lists 1.2 to 1.4 times
# the one-year family's cost, docs/PERFORMANCE.md), and a phone scrolls less.
PER_PAGE = 12

# The annotation that brings the list's length with its page's rows.
_TOTAL = "page_total"

# Beyond this page number the offset is not read as asked: the paginator
# counts first and gives the last page (an offset past a 64-bit integer
# would be a database error).
_FURTHEST = 1_000_000


def _asked(value: str | None) -> int | None:
    """The page number asked for: 1 if none or not a number (as
    `Paginator.get_page`), None if below 1 or absurdly far (which it turns
    into the last page, for which the length is needed first)."""
    try:
        number = int(value) if value is not None else 1
    except ValueError:
        return 1
    return number if 1 <= number <= _FURTHEST else None


def _counted_with_rows(items: Any) -> bool:
    """Whether the page's own query can bring the list's length: a queryset
    of models or of tuples, not sliced, distinct nor combined (where a
    window's count would not be the list's)."""
    return (
        isinstance(items, QuerySet)
        and (
            issubclass(items._iterable_class, ModelIterable)
            or items._iterable_class is ValuesListIterable
        )
        and not items.query.is_sliced
        and not items.query.distinct
        and not items.query.combinator
    )


def page_of(
    request: HttpRequest, items: Any, *, per_page: int = PER_PAGE, param: str = "page"
) -> Page:
    """The page of `items` (an ordered queryset or a list) that the query
    parameter `param` asks for. A number that is not one, or beyond the
    last page, gives the first or the last page: an old link never fails.

    A queryset's page comes in one query with the list's length (a window
    `COUNT(*) OVER ()` beside each row), where the paginator would count
    first: a query less on every page of a list."""
    paginator = Paginator(items, per_page)
    number = _asked(request.GET.get(param))
    if number is None or not _counted_with_rows(items):
        return paginator.get_page(request.GET.get(param))
    start = (number - 1) * per_page
    rows = list(
        items.annotate(**{_TOTAL: Window(Count("*"))})[start : start + per_page]
    )
    if not rows:
        if number > 1:  # beyond the last page: counted, then the last page
            return paginator.get_page(number)
        paginator.count = 0
        return Page([], 1, paginator)
    if items._iterable_class is ValuesListIterable:
        paginator.count = rows[0][-1]
        rows = [row[:-1] for row in rows]
    else:
        paginator.count = getattr(rows[0], _TOTAL)
        for row in rows:
            delattr(row, _TOTAL)
    return Page(rows, number, paginator)
