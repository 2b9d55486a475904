from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from familles.access import family_required
from familles.models import Family
from paiements.rules import family_block_state, payment_rules


@family_required
def home(request: HttpRequest, *, family: Family) -> HttpResponse:
    return render(
        request,
        "portail/home.html",
        {
            "family": family,
            "children": family.children.all(),
            "payment_block": family_block_state(family=family),
        },
    )


def help_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portail/help.html",
        {
            "activation_days": settings.ACTIVATION_CODE_VALID_DAYS,
            "rules": payment_rules(),
        },
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)
