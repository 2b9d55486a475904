from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from familles.access import family_required
from familles.forms import ChoosePasswordForm
from familles.middleware import SESSION_ACTIVATION_CODE
from familles.models import Family
from familles.services import activation_complete


@family_required
def dossier(request: HttpRequest, *, family: Family) -> HttpResponse:
    return render(
        request,
        "familles/dossier.html",
        {
            "family": family,
            "guardians": family.guardians.all(),
            "children": family.children.all(),
            "current_bracket": family.current_bracket,
        },
    )


@login_required
def activation(request: HttpRequest) -> HttpResponse:
    """First login: the parent replaces the activation code by a password."""
    code_id = request.session.get(SESSION_ACTIVATION_CODE)
    if code_id is None:
        return redirect("home")
    form = ChoosePasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            activation_complete(
                user=request.user,
                code_id=code_id,
                password=form.cleaned_data["new_password1"],
            )
        except ValidationError as error:
            logout(request)
            messages.error(request, " ".join(error.messages))
            return redirect(settings.LOGIN_URL)
        del request.session[SESSION_ACTIVATION_CODE]
        update_session_auth_hash(request, request.user)
        messages.success(
            request,
            _(
                "Your password is saved. From now on, log in with your family "
                "identifier and this password."
            ),
        )
        return redirect("home")
    return render(request, "familles/activation.html", {"form": form})
