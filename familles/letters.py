"""The credentials letter: a one-page PDF an agent hands to a family."""

import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from familles.models import Family
from portail.pdf import html_pdf


def credentials_letter_pdf(
    *, family: Family, code: str, expires_at: datetime.datetime
) -> bytes:
    html = render_to_string(
        "pdf/credentials_letter.html",
        {
            "family": family,
            "guardians": family.guardians.all(),
            "code": code,
            "expires_on": timezone.localdate(expires_at),
            "today": timezone.localdate(),
            "commune": settings.PORTAIL_COMMUNE,
        },
    )
    return html_pdf(html)
