"""Logs as one JSON object per line, each with the request's id and the
user's id (never a password, a code or card data)."""

from __future__ import annotations

import contextvars
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default=""
)
user_id: contextvars.ContextVar[str] = contextvars.ContextVar("user_id", default="")

# Attributes every LogRecord has; the others are the event's own fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Never written, whatever a caller passes.
_SECRET_KEYS = {"password", "code", "card", "card_number", "token", "secret", "cvc"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
            "user_id": user_id.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and key not in _SECRET_KEYS:
                entry[key] = (
                    value
                    if isinstance(value, int | float | bool | None)
                    else str(value)
                )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


access_logger = logging.getLogger("portail.access")


class RequestLogMiddleware:
    """Gives each request an id (kept from X-Request-ID when the proxy sets a
    sane one), exposes it in the response, and records refusals of access."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = (
            incoming
            if 8 <= len(incoming) <= 64 and incoming.isalnum()
            else uuid.uuid4().hex
        )
        token = request_id.set(rid)
        user_token = user_id.set("")
        try:
            response = self.get_response(request)
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                user_id.set(str(user.pk))
                if response.status_code in {403, 404}:
                    access_logger.warning(
                        "access refused",
                        extra={
                            "event": "access_refused",
                            "status": response.status_code,
                            "path": request.path,
                        },
                    )
            response["X-Request-ID"] = rid
            return response
        finally:
            request_id.reset(token)
            user_id.reset(user_token)


class PersonalDataFilter(SafeExceptionReporterFilter):
    """Error reports (the operators' e-mails) keep the error and where it
    happened, never what a family typed: every form value, the query string
    and the cookies are hidden, beside Django's own secrets."""

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        for name in ("QUERY_STRING", "HTTP_COOKIE", "HTTP_REFERER"):
            if name in meta:
                meta[name] = self.cleansed_substitute
        return meta

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        # Local variables hold the same values (a form's data, an address).
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]


class PersonalDataReporter(ExceptionReporter):
    """The report's URL without its query, and the query's values hidden
    (a family's identifier travels there)."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if self.request is not None:
            hidden = self.filter.cleansed_substitute
            data["request_GET_items"] = [(name, hidden) for name in self.request.GET]
            data["request_FILES_items"] = [
                (name, hidden) for name in self.request.FILES
            ]
            data["request_insecure_uri"] = self.request.path
        return data
