"""Setting up a staff member's authenticator needs more than the password.

A new staff password is often given by hand or by message: whoever logs in
with it first would otherwise enrol their own authenticator app and keep the
account. Before the authenticator can be set up, the session proves it reads
the staff member's mailbox: a six-digit code, sent to the address an
administrator entered on the account, valid 15 minutes, five tries. The proof
is kept in the session, for that user only."""

from __future__ import annotations

import secrets
import time

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from familles.tasks import send_staff_enrolment_code

SESSION_ENROLMENT = "portail_staff_enrolment"
CODE_SECONDS = 15 * 60
RESEND_SECONDS = 60
MAX_TRIES = 5


def _digest(user_pk: int, code: str) -> str:
    return salted_hmac(
        "portail.staff-enrolment", f"{user_pk}:{code}", algorithm="sha256"
    ).hexdigest()


def _state(request: HttpRequest) -> dict | None:
    state = request.session.get(SESSION_ENROLMENT)
    if not isinstance(state, dict) or state.get("user") != request.user.pk:
        return None
    return state


def enrolment_verified(request: HttpRequest) -> bool:
    state = _state(request)
    return bool(state and state.get("verified"))


def enrolment_code_pending(request: HttpRequest) -> bool:
    state = _state(request)
    return bool(
        state
        and not state.get("verified")
        and state["expires"] > time.time()
        and state["tries"] < MAX_TRIES
    )


def enrolment_code_send(request: HttpRequest) -> bool:
    """Send a new code to the staff member's address (not more than once a
    minute); False if the account has no address or it is too soon."""
    user: AbstractBaseUser = request.user  # type: ignore[assignment]
    email = getattr(user, "email", "")
    if not email:
        return False
    state = _state(request)
    if state and state.get("sent", 0) > time.time() - RESEND_SECONDS:
        return False
    code = f"{secrets.randbelow(10**6):06d}"
    request.session[SESSION_ENROLMENT] = {
        "user": user.pk,
        "digest": _digest(user.pk, code),
        "expires": time.time() + CODE_SECONDS,
        "sent": time.time(),
        "tries": 0,
        "verified": False,
    }
    send_staff_enrolment_code.enqueue(user_id=user.pk, code=code)
    return True


def enrolment_code_check(request: HttpRequest, code: str) -> bool:
    """True, and the session may set up the authenticator, if `code` is the
    one sent and still valid; each wrong try counts."""
    state = _state(request)
    if state is None or not enrolment_code_pending(request):
        return False
    state["tries"] += 1
    good = constant_time_compare(state["digest"], _digest(state["user"], code))
    state["verified"] = good
    request.session[SESSION_ENROLMENT] = state
    return good
