"""Who may see a family's pages: its own logins, nobody else."""

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers, patch_cache_control

from familles.models import Family, User


class AuthenticatedRequest(HttpRequest):
    """The request of a page that requires a login (`family_required`, the
    admin): its user is a `User`, never anonymous."""

    user: User


def acting_user(request: HttpRequest) -> User:
    """The logged-in user a service records as the author of a change."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def family_required(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Logged-in parents only; the view receives their family as `family`.

    Parent pages never take a family from the URL or the form: the family is
    always the login's own, so one family cannot reach another's data.
    Staff (who have no family) are sent to the administration. No page or
    document of a family is kept by a browser's or a proxy's cache (a
    shared computer, the back button after logging out).
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        family: Family | None = getattr(request.user, "family", None)
        if family is None:
            return redirect("admin:index")
        response = view(request, *args, family=family, **kwargs)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        return response

    return wrapper


def recently_authenticated(request: HttpRequest, *, seconds: int | None = None) -> bool:
    """Did this session type its password (or code) in the last few minutes?
    Sensitive changes (a new e-mail address) ask for it again otherwise."""
    seconds = seconds or settings.ACCOUNT_REAUTHENTICATION_TIMEOUT
    records = get_authentication_records(request, request.user)
    return bool(records) and time.time() - records[-1].get("at", 0) < seconds
