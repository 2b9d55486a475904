"""Writes that touch several rows of the families app: logins and their
activation codes."""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from familles import crypto
from familles.models import ActivationCode, Family, User, code_digest, normalize_code

# No 0/O, 1/I/L: codes are read off paper and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


@dataclass(frozen=True)
class IssuedCode:
    user: User
    code: str
    expires_at: datetime.datetime


def format_code(code: str) -> str:
    """ABCDEFGHJKMN → ABCD-EFGH-JKMN, as printed."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def family_login_create(*, family: Family, agent: User | None) -> IssuedCode:
    """Create the family's login (username = family identifier) with a fresh
    activation code, or issue a new code if the login already exists."""
    with transaction.atomic():
        Family.objects.select_for_update().get(pk=family.pk)
        user = User.objects.filter(username__iexact=family.identifier).first()
        if user is None:
            user = User(username=family.identifier, family=family)
            user.set_unusable_password()
            user.save()
            family_login_emails_sync(family=family)
            user.refresh_from_db()
        elif user.family_id != family.pk:
            raise ValidationError(
                _("The login %(username)s belongs to another family.")
                % {"username": user.username}
            )
        return activation_code_issue(user=user, agent=agent)


def family_login_emails_sync(*, family: Family) -> None:
    """The guardians' addresses, as recorded by the agents, are the ones the
    family's logins may receive password-reset links at (an address shared
    with another family, such as a parent in two households, is allowed)."""
    addresses = sorted({g.email.lower() for g in family.guardians.all() if g.email})
    for user in family.logins.all():
        EmailAddress.objects.filter(user=user).exclude(email__in=addresses).delete()
        known = set(
            EmailAddress.objects.filter(user=user).values_list("email", flat=True)
        )
        for address in addresses:
            if address not in known:
                EmailAddress.objects.create(
                    user=user, email=address, verified=True, primary=not known
                )
                known.add(address)
        primary = addresses[0] if addresses else ""
        if user.email != primary:
            user.email = primary
            user.save(update_fields=["email"])


def activation_code_issue(
    *, user: User, agent: User | None, now: datetime.datetime | None = None
) -> IssuedCode:
    """Issue a new activation code for `user`, voiding any open one."""
    if user.family_id is None:
        raise ValidationError(_("Activation codes are for family logins only."))
    now = now or timezone.now()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + datetime.timedelta(days=settings.ACTIVATION_CODE_VALID_DAYS)
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        ActivationCode.objects.filter(user=user).open().update(
            voided_at=now, code_encrypted=None
        )
        ActivationCode.objects.create(
            user=user,
            code_digest=code_digest(code),
            code_encrypted=crypto.encrypt(code),
            created_at=now,
            expires_at=expires_at,
            created_by=agent,
        )
    return IssuedCode(user=user, code=format_code(code), expires_at=expires_at)


def activation_code_pending(
    *, user: User, now: datetime.datetime | None = None
) -> tuple[ActivationCode, str] | None:
    """The login's usable code and its printable text, or None.

    Used by documents printed while the login has never been activated. An
    expired code found here loses its encrypted copy.
    """
    now = now or timezone.now()
    code = ActivationCode.objects.filter(user=user).open().first()
    if code is None or code.code_encrypted is None:
        return None
    if not code.is_usable(now):
        ActivationCode.objects.filter(pk=code.pk).update(code_encrypted=None)
        return None
    plaintext = crypto.decrypt(code.code_encrypted)
    if plaintext is None:
        return None
    return code, format_code(plaintext)


def activation_complete(
    *, user: User, code_id: int, password: str, now: datetime.datetime | None = None
) -> None:
    """The parent chose a personal password: store it (hashed), spend the code
    and erase its encrypted copy.

    Refused (ValidationError) when the code that opened the session was
    replaced, spent or expired meanwhile: a stolen letter stops working for a
    session already open as soon as an agent issues a new code.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        code = (
            ActivationCode.objects.select_for_update()
            .filter(pk=code_id, user=locked)
            .first()
        )
        if code is None or not code.is_usable(now):
            raise ValidationError(
                _(
                    "This activation code is no longer valid. Ask the canteen "
                    "service for a new one."
                )
            )
        code.used_at = now
        code.code_encrypted = None
        code.save(update_fields=["used_at", "code_encrypted"])
        locked.set_password(password)
        locked.save(update_fields=["password"])
    user.password = locked.password


def activation_codes_void(*, user: User, now: datetime.datetime | None = None) -> int:
    """Void the login's open codes (its password was set another way)."""
    return (
        ActivationCode.objects.filter(user=user)
        .open()
        .update(voided_at=now or timezone.now(), code_encrypted=None)
    )


def activation_codes_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Erase the encrypted copies of expired codes; returns how many."""
    now = now or timezone.now()
    return (
        ActivationCode.objects.filter(expires_at__lte=now)
        .exclude(code_encrypted=None)
        .update(code_encrypted=None)
    )


def activation_code_find(*, username: str, raw_code: str) -> ActivationCode | None:
    """The code of this family login that `raw_code` is, whatever its state:
    one indexed query, the same cost for any identifier."""
    if not normalize_code(raw_code):
        return None
    return (
        ActivationCode.objects.filter(
            code_digest=code_digest(raw_code),
            user__username__iexact=username.strip(),
            user__family__isnull=False,
        )
        .select_related("user")
        .first()
    )
