"""Background e-mails of the families app (django.tasks)."""

import logging
import smtplib
from typing import Any

from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from familles.models import Family, User
from portail.documents import document_extras


def family_addresses(family: Family) -> list[str]:
    return sorted({g.email for g in family.guardians.all() if g.email})


def send_templated_or_log(
    *, logger: logging.Logger, message: str, extra: dict, **email: Any
) -> int:
    """One e-mail of a batch (`send_templated(**email)`): sent, or its
    failure logged so that the batch's other e-mails still go. Returns how
    many were sent."""
    try:
        return send_templated(**email)
    except (smtplib.SMTPException, OSError):
        logger.exception(message, extra=extra)
        return 0


def send_templated(*, template: str, to: list[str], context: dict[str, Any]) -> int:
    """Render emails/<template>_subject.txt, .txt and .html (French) and send
    them; the commune's facts are in every message."""
    if not to:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "commune": settings.PORTAIL_COMMUNE,
            **document_extras(),
            **context,
        }
        subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    for name, content, mimetype in context.get("attachments", []):
        message.attach(name, content, mimetype)
    return message.send()


@task()
def send_family_email(
    *,
    family_id: int,
    template: str,
    context: dict[str, Any],
    also_to: list[str] | None = None,
) -> int:
    family = Family.objects.get(pk=family_id)
    to = sorted(set(family_addresses(family)) | set(also_to or []))
    return send_templated(
        template=template, to=to, context={"family": family, **context}
    )


@task()
def send_confirmation_link(*, family_id: int, email: str) -> int:
    """The link that makes a new address good for password resets."""
    sent = 0
    for address in EmailAddress.objects.filter(
        user__family_id=family_id, email__iexact=email, verified=False
    ):
        key = EmailConfirmationHMAC(address).key
        url = settings.PORTAIL_COMMUNE["portal_url"].rstrip("/") + reverse(
            "account_confirm_email", args=[key]
        )
        sent += send_templated(
            template="email_confirmation",
            to=[address.email],
            context={"url": url, "family": Family.objects.get(pk=family_id)},
        )
    return sent


@task()
def send_rendered_email(
    *, subject: str, body: str, html: str, to: list[str], from_email: str
) -> int:
    """An e-mail rendered in the request (allauth's: a password reset link),
    sent by the worker: a mail server down loses no request, and every
    address gets the same answer whether it is known or not."""
    message = EmailMultiAlternatives(
        subject=subject, body=body, from_email=from_email, to=to
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message.send()


@task()
def send_staff_enrolment_code(*, user_id: int, code: str) -> int:
    """The code that lets a staff member set up their authenticator app
    (`familles.enrolment`), to the address an administrator entered."""
    user = User.objects.get(pk=user_id)
    return send_templated(
        template="staff_enrolment_code",
        to=[user.email] if user.email else [],
        context={"user": user, "code": code, "minutes": 15},
    )
