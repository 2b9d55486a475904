from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from familles.access import family_required
from familles.models import Family


@family_required
def payment_home(request: HttpRequest, *, family: Family) -> HttpResponse:
    return render(request, "paiements/payment_home.html", {"family": family})
