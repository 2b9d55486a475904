"""The portal's URLs plus the baseline of bench/pages.py: a bare view behind
the same middleware and login, rendering the base template with nothing in
it. What a page costs beyond this is the page's own work."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path


@login_required
def baseline(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html")


urlpatterns = [
    path("bench/baseline/", baseline, name="bench_baseline"),
    path("", include("portail.urls")),
]
