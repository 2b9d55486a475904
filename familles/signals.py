import logging
import time
from typing import Any

from allauth.account.signals import password_reset
from allauth.core.internal.httpkit import get_client_ip
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from simple_history.signals import pre_create_historical_record

from familles.middleware import (
    SESSION_ACTIVATION_CODE,
    SESSION_LAST_SEEN_AT,
    SESSION_STARTED_AT,
)
from familles.models import User
from familles.services import activation_codes_void
from portail.logging import user_id


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
    activation_codes_void(user=user)


auth_logger = logging.getLogger("portail.auth")


@receiver(user_logged_in)
def log_login(sender: type, request: HttpRequest, user: User, **kwargs: Any) -> None:
    user_id.set(str(user.pk))
    auth_logger.info(
        "login", extra={"event": "login_success", "username": user.get_username()}
    )


@receiver(user_login_failed)
def log_failed_login(
    sender: type, credentials: dict, request: Any = None, **kwargs: Any
) -> None:
    # Django has already masked the password in `credentials`; only the
    # identifier typed is kept, with the client's address as the trusted
    # proxy reports it (the one the login throttling counts).
    auth_logger.warning(
        "login failed",
        extra={
            "event": "login_failure",
            "username": str(credentials.get("username", ""))[:150],
            "client_ip": (get_client_ip(request) or "") if request else "",
        },
    )


@receiver(pre_create_historical_record)
def keep_request_key(
    sender: type, instance: Any, history_instance: Any, **kwargs: Any
) -> None:
    """The submission that made a change of the dossier, in its history."""
    if hasattr(history_instance, "request_key"):
        history_instance.request_key = getattr(instance, "_history_request_key", "")
