"""Session rules that apply to every page."""

import time
from collections.abc import Callable

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from familles.enrolment import enrolment_verified

SESSION_STARTED_AT = "portail_started_at"
SESSION_LAST_SEEN_AT = "portail_last_seen_at"
SESSION_ACTIVATION_CODE = "portail_activation_code_id"


# The moment of a session's last request is recorded to the minute: a
# request less than this after the recorded one leaves the session as it is,
# so that browsing does not write the session row on every page. A session
# may then end up to a minute before its full inactivity timeout, never after.
LAST_SEEN_STEP = 60  # seconds


class SessionLifetimeMiddleware:
    """Ends a logged-in session after `SESSION_INACTIVITY_TIMEOUT` seconds
    without a request (counted from its last request, to the minute:
    `LAST_SEEN_STEP`), and in any case `SESSION_ABSOLUTE_LIFETIME` seconds
    after the login."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.get(SESSION_STARTED_AT, now)
            recorded = request.session.get(SESSION_LAST_SEEN_AT)
            last_seen = now if recorded is None else recorded
            if (
                now - last_seen > settings.SESSION_INACTIVITY_TIMEOUT
                or now - started > settings.SESSION_ABSOLUTE_LIFETIME
            ):
                logout(request)
                messages.info(
                    request,
                    _("Your session has ended. Please log in again."),
                )
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse(settings.LOGIN_URL)}?{query}")
            request.session.setdefault(SESSION_STARTED_AT, now)
            # A tenth of the timeout at most, should it be set very short.
            step = min(LAST_SEEN_STEP, settings.SESSION_INACTIVITY_TIMEOUT / 10)
            if recorded is None or now - recorded >= step:
                request.session[SESSION_LAST_SEEN_AT] = now
        return self.get_response(request)


class ActivationRequiredMiddleware:
    """A session opened with an activation code can only choose a password
    (or log out) until it has done so."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and request.session.get(
            SESSION_ACTIVATION_CODE
        ):
            allowed = {reverse("familles:activation"), reverse("account_logout")}
            if request.path not in allowed:
                return redirect("familles:activation")
        return self.get_response(request)


class StaffSecondFactorMiddleware:
    """With STAFF_REQUIRE_SECOND_FACTOR on, the admin is reached only by staff
    whose session passed a TOTP check: staff without an authenticator are sent
    to set one up, the others to confirm a code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path.startswith(reverse("mfa_index"))
            and request.user.is_authenticated
            and not request.user.is_staff
        ):
            # Second factors are for staff; a parent's login stays simple
            # (and a session opened with a code must go to the password
            # choice, which an MFA stage would skip).
            raise Http404
        if (
            settings.STAFF_REQUIRE_SECOND_FACTOR
            and request.path == reverse("mfa_activate_totp")
            and request.user.is_authenticated
            and request.user.is_staff
            and not enrolment_verified(request)
            and not _has_totp(request)
        ):
            # The password alone does not set up the authenticator: the
            # session first proves it reads the staff member's mailbox.
            query = urlencode({"next": request.GET.get("next", "")})
            return redirect(f"{reverse('familles:staff_enrolment')}?{query}")
        if (
            settings.STAFF_REQUIRE_SECOND_FACTOR
            and request.path.startswith(reverse("admin:index"))
            and request.user.is_authenticated
            and request.user.is_staff
            and not has_passed_second_factor(request)
        ):
            query = urlencode({"next": request.get_full_path()})
            if not _has_totp(request):
                messages.warning(
                    request,
                    _(
                        "Staff must use two-factor authentication. Set up an "
                        "authenticator app to reach the administration."
                    ),
                )
                return redirect(f"{reverse('familles:staff_enrolment')}?{query}")
            return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
        return self.get_response(request)


def _has_totp(request: HttpRequest) -> bool:
    return Authenticator.objects.filter(
        user=request.user, type=Authenticator.Type.TOTP
    ).exists()


def has_passed_second_factor(request: HttpRequest) -> bool:
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)
