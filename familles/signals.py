import time
from typing import Any

from allauth.account.signals import password_reset
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from familles.middleware import (
    SESSION_ACTIVATION_CODE,
    SESSION_LAST_SEEN_AT,
    SESSION_STARTED_AT,
)
from familles.models import User


@receiver(user_logged_in)
def start_portal_session(
    sender: type, request: HttpRequest, user: User, **kwargs: Any
) -> None:
    """Start the session's clocks; mark a login made with an activation code."""
    now = time.time()
    request.session[SESSION_STARTED_AT] = now
    request.session[SESSION_LAST_SEEN_AT] = now
    code_id = getattr(user, "activation_code_id", None)
    if code_id is not None:
        request.session[SESSION_ACTIVATION_CODE] = code_id
    else:
        request.session.pop(SESSION_ACTIVATION_CODE, None)


@receiver(password_reset)
def void_codes_after_reset(
    sender: type, request: HttpRequest, user: User, **kwargs: Any
) -> None:
    """A password chosen through an e-mailed link makes pending codes useless."""
    from familles.services import activation_codes_void

    activation_codes_void(user=user)
