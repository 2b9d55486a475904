"""A URL that fails, for the error-report test only."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from portail.urls import urlpatterns as portal


def failing(request: HttpRequest) -> HttpResponse:
    address = request.POST.get("email", "")
    raise RuntimeError(f"the view failed ({len(address)} characters)")


urlpatterns = [path("panne/", failing), *portal]
