from typing import Any

from django.conf import settings
from django.http import HttpRequest

from familles.middleware import SESSION_ACTIVATION_CODE


def portal(request: HttpRequest) -> dict[str, Any]:
    """The commune's facts, for the page header and footer; whether the
    session still has to replace its activation code (no navigation then)."""
    session = getattr(request, "session", None)
    return {
        "commune": settings.PORTAIL_COMMUNE,
        "activation_pending": bool(session and session.get(SESSION_ACTIVATION_CODE)),
    }
