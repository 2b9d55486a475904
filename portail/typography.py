"""French typography for what the portal writes: dates as French writes
them ("1er janvier 2027", never "1 janvier"). One helper, used by the code
and, through `portail_tags`, by the templates."""

import datetime

from django.utils import formats, timezone


def first_of_month(day: int) -> str:
    """A day of the month as French writes it: 1 → "1er", 10 → "10"."""
    return "1er" if day == 1 else str(day)


def french_date(day: datetime.date | datetime.datetime, *, year: bool = True) -> str:
    """ "1er janvier 2027", "10 décembre 2026" ("10 décembre" without the
    year); a date-time is read in local time first."""
    if isinstance(day, datetime.datetime):
        day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
    month = formats.date_format(day, "F Y" if year else "F")
    return f"{first_of_month(day.day)} {month}"


def file_size(size: int) -> str:
    """A file's size as French writes it: "850 octets", "2 Ko", "4,5 Mo"
    (Django's filesizeformat writes "Kio" and "Mio")."""
    for unit, scale in (("Mo", 1024 * 1024), ("Ko", 1024)):
        if size >= scale:
            value = round(size / scale, 1)
            text = f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
            return f"{text}\u00a0{unit}"
    return f"{size}\u00a0octets"
