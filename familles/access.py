"""Who may see a family's pages: its own logins, nobody else."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from familles.models import Family


def family_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Logged-in parents only; the view receives their family as `family`.

    Parent pages never take a family from the URL or the form: the family is
    always the login's own, so one family cannot reach another's data.
    Staff (who have no family) are sent to the administration.
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        family: Family | None = getattr(request.user, "family", None)
        if family is None:
            return redirect("admin:index")
        return view(request, *args, family=family, **kwargs)

    return wrapper
