from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from familles.access import family_required
from familles.models import Family


@family_required
def invoice_list(request: HttpRequest, *, family: Family) -> HttpResponse:
    # Invoices are issued by the monthly invoicing run (next milestone); until
    # then a family has none, and the page says so.
    return render(request, "factures/invoice_list.html", {"family": family})
