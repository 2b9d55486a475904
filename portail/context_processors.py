from typing import Any

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    """The commune's facts, for the page header and footer."""
    return {"commune": settings.PORTAIL_COMMUNE}
