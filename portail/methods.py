"""HTTP methods: the portal answers GET, HEAD, POST and OPTIONS only.

Views written for GET served PUT, PATCH, DELETE and TRACE as if they were
GET; they now get 405, like a GET where only POST is taken, and every 405
explains itself in French instead of an empty page.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string

ALLOWED = ("GET", "HEAD", "POST", "OPTIONS")


class AllowedMethodsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method not in ALLOWED:
            response: HttpResponseBase = HttpResponseNotAllowed(ALLOWED)
        else:
            response = self.get_response(request)
        if (
            response.status_code == 405
            and isinstance(response, HttpResponse)
            and not response.content
        ):
            response.content = render_to_string("405.html", request=request)
            response["Content-Type"] = "text/html; charset=utf-8"
        return response
