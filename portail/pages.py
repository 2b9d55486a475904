"""Lists that grow with a family's history, shown a page at a time: what a
page reads is bounded by what it shows, whatever the years behind it
(issue "Scale")."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

# A school year of monthly invoices and their payments fits on one page.
PER_PAGE = 20


def page_of(
    request: HttpRequest, items: Any, *, per_page: int = PER_PAGE, param: str = "page"
) -> Page:
    """The page of `items` (an ordered queryset or a list) that the query
    parameter `param` asks for. A number that is not one, or beyond the
    last page, gives the first or the last page: an old link never fails."""
    return Paginator(items, per_page).get_page(request.GET.get(param))
