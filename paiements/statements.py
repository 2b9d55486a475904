"""The statement (*relevé de compte*) as a PDF, and the period it covers."""

import datetime

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from paiements.accounts import Statement
from portail.admin_tools import FIRST_DAY, LAST_DAY
from portail.pdf import html_pdf


def statement_pdf(statement: Statement) -> bytes:
    html = render_to_string(
        "pdf/statement.html",
        {
            "statement": statement,
            "family": statement.family,
            "commune": settings.PORTAIL_COMMUNE,
            "printed": timezone.localtime(),
        },
    )
    return html_pdf(html)


def statement_period(request: HttpRequest) -> tuple[datetime.date, datetime.date]:
    """The period asked in `du` and `au` (ISO dates, both included); the
    last twelve months by default, or when the dates make no sense."""
    today = timezone.localdate()
    default = (today.replace(day=1, year=today.year - 1), today)
    try:
        start = datetime.date.fromisoformat(request.GET.get("du", ""))
        end = datetime.date.fromisoformat(request.GET.get("au", ""))
    except ValueError:
        return default
    if not FIRST_DAY <= start <= end <= LAST_DAY:
        return default
    return start, end
