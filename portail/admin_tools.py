"""What the admin pages of every app share: rows that may not be added,
changed or deleted there (history is never edited; money is changed only
through its services)."""

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from portail.params import parse_int

# The days a list or a journal can be asked for: beyond them, Python's and
# the databases' dates overflow.
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2999, 12, 31)


class NoAddMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoChangeMixin:
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoDeleteMixin:
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyMixin(NoAddMixin, NoChangeMixin, NoDeleteMixin):
    """Shown, never written, in the admin."""


class SafeDateHierarchyMixin:
    """A list by date (`date_hierarchy`) asked for a year beyond
    `FIRST_DAY`…`LAST_DAY` (year 9999 overflows) shows every date instead
    of an error."""

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        field = getattr(self, "date_hierarchy", None)
        year = request.GET.get(f"{field}__year") if field else None
        if year is not None:
            number = parse_int(year, digits=4)
            if number is None or not FIRST_DAY.year <= number <= LAST_DAY.year:
                query = request.GET.copy()
                for part in ("year", "month", "day"):
                    query.pop(f"{field}__{part}", None)
                request.GET = query  # type: ignore[assignment]
        return super().changelist_view(request, extra_context)  # type: ignore[misc]
