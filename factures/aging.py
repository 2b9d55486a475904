"""How old an unpaid invoice is, in days since it was issued (local
dates): the agents' age brackets, shared by the invoice list's filter and
the staff dashboard."""

import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The invoice list's state filter value for every invoice still waiting
# for money (to pay or partly paid).
UNPAID = "impayees"

# (first day, last day or None, label): 0–30, 31–60, 61–90, over 90 days.
AGE_BRACKETS: list[tuple[int, int | None, Promise]] = [
    (0, 30, _("0 to 30 days")),
    (31, 60, _("31 to 60 days")),
    (61, 90, _("61 to 90 days")),
    (91, None, _("over 90 days")),
]


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight, local time, at the start of `day`."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def issued_aged(low: int, high: int | None, today: datetime.date) -> Q:
    """Invoices issued between `low` and `high` days before `today`
    (both included; `high` None: no upper bound)."""
    condition = Q()
    if low > 0:
        condition &= Q(
            issued_at__lt=day_start(today - datetime.timedelta(days=low - 1))
        )
    if high is not None:
        condition &= Q(issued_at__gte=day_start(today - datetime.timedelta(days=high)))
    return condition


def bracket_key(low: int, high: int | None) -> str:
    """The filter's value for a bracket: "0-30", "91-"."""
    return f"{low}-{'' if high is None else high}"
