from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from familles.services import activation_code_find, merged_family_for_login
from familles.tasks import send_rendered_email


class PortalAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up (agents create the logins); login errors in our words."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # One message whichever of the two was wrong.
        "username_password_mismatch": _(
            "The identifier or the password is incorrect. The identifier is "
            "printed at the bottom of your invoices."
        ),
        "too_many_login_attempts": _(
            "Too many failed attempts. For your security, logging in to this "
            "account is suspended for a few minutes. Please try again later."
        ),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Rendered here (signed by the commune's service, not a host name),
        sent by the worker like the portal's other e-mails."""
        message = self.render_mail(
            template_prefix, email, {"commune": settings.PORTAIL_COMMUNE, **context}
        )
        html = next(
            (
                content
                for content, mimetype in getattr(message, "alternatives", [])
                if mimetype == "text/html"
            ),
            "",
        )
        if message.content_subtype == "html":
            html, body = str(message.body), ""
        else:
            body = str(message.body)
        send_rendered_email.enqueue(
            subject=str(message.subject),
            body=body,
            html=str(html),
            to=list(message.to),
            from_email=str(message.from_email),
        )

    def _get_login_attempts_cache_key(
        self, request: HttpRequest, **credentials: Any
    ) -> str:
        # allauth keys the failed-login counter by the Host header too; every
        # server behind the proxy must count the same identifier together,
        # whatever host name it was reached by.
        return str(credentials.get("username", "")).strip().lower()

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """The identifier and password of a family merged into another (its
        login is disabled) get the identifier to use instead. Counted as a
        failed attempt like any other."""
        super().pre_authenticate(request, **credentials)
        username = credentials.get("username") or ""
        password = credentials.get("password") or ""
        kept = merged_family_for_login(username=username, password=password)
        if kept is not None:
            raise forms.ValidationError(
                _(
                    "Your family's accounts were brought together: log in from now "
                    "on with the identifier %(identifier)s. If you do not know its "
                    "password, use « Forgotten password? » or ask the canteen service."
                )
                % {"identifier": kept.identifier},
                code="family_merged",
            )

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        """A code that was right but can no longer be used gets its own message,
        telling how to obtain a new one. Only someone holding the code sees it."""
        username = credentials.get("username") or ""
        password = credentials.get("password") or ""
        code = activation_code_find(username=username, raw_code=password)
        if code is None:
            return
        how = _(
            "Ask the %(service)s for a new activation code, or reset your "
            "password by e-mail if you have already chosen one."
        ) % {"service": settings.PORTAIL_COMMUNE["service"].lower()}
        if code.used_at is not None:
            message = _("This activation code has already been used.")
        elif code.voided_at is not None:
            message = _("This activation code was replaced by a newer one.")
        elif code.expires_at <= timezone.now():
            message = _("This activation code has expired.")
        else:
            return
        raise forms.ValidationError(f"{message} {how}", code="activation_code_unusable")
