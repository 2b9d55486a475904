"""French typography for what the portal writes: dates as French writes
them ("1er janvier 2027", never "1 janvier"). One helper, used by the code
and, through `portail_tags`, by the templates."""

import datetime

from django.utils import formats, timezone


def french_date(day: datetime.date | datetime.datetime, *, year: bool = True) -> str:
    """ "1er janvier 2027", "10 décembre 2026" ("10 décembre" without the
    year); a date-time is read in local time first."""
    if isinstance(day, datetime.datetime):
        day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {formats.date_format(day, 'F Y' if year else 'F')}"
