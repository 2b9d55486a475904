"""Months as the invoicing unit: a month is represented by its first day."""

import calendar
import datetime
import re

from django.utils import formats

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: datetime.date) -> datetime.date:
    return month_end(day) + datetime.timedelta(days=1)


def previous_month(day: datetime.date) -> datetime.date:
    return month_start(month_start(day) - datetime.timedelta(days=1))


def parse_period(text: str) -> datetime.date:
    """'2026-10' → date(2026, 10, 1); ValueError on anything else."""
    match = _PERIOD.match(text.strip())
    if not match:
        raise ValueError(text)
    year, month = int(match.group(1)), int(match.group(2))
    return datetime.date(year, month, 1)


def month_weeks(period: datetime.date) -> list[list[datetime.date | None]]:
    """The month as weeks Monday → Sunday, days of other months as None."""
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(
        period.year, period.month
    )
    return [
        [day if day.month == period.month else None for day in week] for week in weeks
    ]


def month_label(period: datetime.date) -> str:
    """'octobre 2026', in the active language."""
    return formats.date_format(period, "F Y")
