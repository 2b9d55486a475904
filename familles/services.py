"""Writes that touch several rows of the families app: logins and their
activation codes, and the dossier (contact details, moving house, the
paperless choice). Reports and merges, which reach into invoices and
payments, are apps above (signalements, fusions)."""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from familles import crypto
from familles.models import (
    ActivationCode,
    AddressChangeRequest,
    Family,
    Guardian,
    PrivateDocument,
    ProofDocument,
    User,
    code_digest,
    normalize_code,
)
from familles.staging import StagedFile, is_staged
from familles.tasks import send_confirmation_link, send_family_email
from familles.uploads import CheckedFile

logger = logging.getLogger("portail.familles")

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


def family_login_create(
    *, family: Family, agent: User | None, end_access: bool = True
) -> IssuedCode:
    """Create the family's login (username = family identifier) with a fresh
    activation code, or issue a new code if the login already exists.

    A new code is most often asked for because access was lost or taken:
    unless the agent says otherwise (`end_access=False`), the login's
    password stops working and its open sessions end at once."""
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
        elif end_access and user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
            transaction.on_commit(lambda: login_sessions_end(user=user))
        return activation_code_issue(user=user, agent=agent)


def family_login_emails_sync(
    *, family: Family, unverified: frozenset[str] | set[str] = frozenset()
) -> None:
    """The guardians' addresses are the ones the family's logins may receive
    password-reset links at (an address shared with another family, such as
    a parent in two households, is allowed). Addresses recorded by agents
    count as verified; one that a parent just typed (`unverified`) counts
    once its confirmation link has been followed."""
    unverified = {address.lower() for address in unverified}
    addresses = sorted({g.email.lower() for g in family.guardians.all() if g.email})
    for user in family.logins.all():
        EmailAddress.objects.filter(user=user).exclude(email__in=addresses).delete()
        known = set(
            EmailAddress.objects.filter(user=user).values_list("email", flat=True)
        )
        for address in addresses:
            if address not in known:
                EmailAddress.objects.create(
                    user=user,
                    email=address,
                    verified=address not in unverified,
                    primary=False,
                )
                known.add(address)
        verified = sorted(
            EmailAddress.objects.filter(user=user, verified=True).values_list(
                "email", flat=True
            )
        )
        primary = verified[0] if verified else ""
        EmailAddress.objects.filter(user=user).update(primary=False)
        if primary:
            EmailAddress.objects.filter(user=user, email=primary).update(primary=True)
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


def login_sessions_end(*, user: User) -> int:
    """End every session of this login at once (they would otherwise come
    back to life should the login be active again); returns how many. Reads
    the unexpired sessions: for the rare merges and compromised accounts."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            session.delete()
            ended += 1
    return ended


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


# --- The dossier: contact details, moving house, paperless choice -------------

CONTACT_FIELDS = ("email", "phone_mobile", "phone_home", "phone_work")


def dossier_save(
    instance: Family | Guardian,
    *,
    user: User | None,
    reason: str,
    request_key: str = "",
    update_fields: list[str] | None = None,
) -> None:
    """Save a family or guardian with who changed it and why: its history
    (django-simple-history) is the dossier's audit trail, old and new values
    side by side."""
    instance._history_user = user  # type: ignore[union-attr]
    instance._change_reason = reason  # type: ignore[union-attr]
    instance._history_request_key = request_key  # type: ignore[union-attr]
    instance.save(update_fields=update_fields)


def guardian_contact_change(
    *, guardian: Guardian, values: dict[str, str], user: User | None, request_key: str
) -> list[str]:
    """Apply a guardian's new e-mail and phones at once; returns the fields
    changed. The guardian's history records each change (who, when, old,
    new).

    The same submission (`request_key`) applied again changes nothing. A new
    e-mail address is used for password resets only once confirmed through
    the link sent to it; the previous address is told of the change.
    """
    with transaction.atomic():
        locked = (
            Guardian.objects.select_for_update()
            .select_related("family")
            .get(pk=guardian.pk)
        )
        if locked.history.filter(request_key=request_key).exists():
            return []
        changed = []
        old_email = locked.email
        for field in CONTACT_FIELDS:
            old, new = getattr(locked, field) or "", values.get(field) or ""
            if str(old) != str(new):
                setattr(locked, field, new)
                changed.append(field)
        if not changed:
            return []
        locked.full_clean()
        dossier_save(
            locked,
            user=user,
            reason=_("Contact details changed"),
            request_key=request_key,
            update_fields=changed,
        )
        new_email = locked.email if locked.email != old_email else ""
        family_login_emails_sync(
            family=locked.family, unverified={new_email} if new_email else set()
        )
        family = locked.family
        transaction.on_commit(
            lambda: _contact_change_notify(
                family=family, guardian=locked, new_email=new_email, old_email=old_email
            )
        )
    return changed


def guardian_contact_recorded(
    *, guardian: Guardian, old_email: str, agent: User | None
) -> None:
    """An agent changed a guardian's contact details in the admin (the
    guardian's history records it, the agent as author): the login's reset
    addresses follow at once, the old address no longer receiving links,
    and the family is told, at the old address too."""
    family_login_emails_sync(family=guardian.family)
    changed_email = (guardian.email or "").lower() != (old_email or "").lower()
    family_id = guardian.family_id
    transaction.on_commit(
        lambda: send_family_email.enqueue(
            family_id=family_id,
            template="contact_changed",
            context={"guardian": f"{guardian.first_name} {guardian.last_name}"},
            also_to=[old_email] if changed_email and old_email else [],
        )
    )


def _contact_change_notify(
    *, family: Family, guardian: Guardian, new_email: str, old_email: str
) -> None:
    send_family_email.enqueue(
        family_id=family.pk,
        template="contact_changed",
        context={"guardian": f"{guardian.first_name} {guardian.last_name}"},
        also_to=[old_email] if old_email and new_email else [],
    )
    if new_email:
        send_confirmation_link.enqueue(family_id=family.pk, email=new_email)


def address_change_submit(
    *,
    family: Family,
    address: dict[str, str],
    staged: list[StagedFile],
    user: User | None,
    request_key: str,
) -> AddressChangeRequest:
    """Record a moving-house request with its proof documents; pending until an
    agent decides. Submitted twice, it is recorded once."""
    if not staged:
        raise ValidationError(_("Attach at least one proof of address."))
    existing = AddressChangeRequest.objects.filter(request_key=request_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            request = AddressChangeRequest.objects.create(
                family=family, submitted_by=user, request_key=request_key, **address
            )
            for entry in staged:
                if not is_staged(entry, family_id=family.pk):
                    raise ValidationError(
                        _("The documents have expired: please attach them again.")
                    )
                proof = ProofDocument(
                    request=request,
                    token=secrets.token_hex(16),
                    original_name=entry["name"],
                    content_type=entry["content_type"],
                    size=entry["size"],
                )
                with default_storage.open(entry["path"], "rb") as staged_file:
                    proof.file.save(proof.token, File(staged_file), save=False)
                proof.save()
    except IntegrityError:
        return AddressChangeRequest.objects.get(request_key=request_key)
    for entry in staged:
        default_storage.delete(entry["path"])
    transaction.on_commit(lambda: _request_notify(request, "address_request_received"))
    return request


def _request_notify(request: AddressChangeRequest, template: str) -> None:
    send_family_email.enqueue(
        family_id=request.family_id,
        template=template,
        context={
            "address": request.postal_address,
            "reason": request.refusal_reason,
            "submitted_on": formats.date_format(
                timezone.localdate(request.submitted_at)
            ),
        },
    )


def address_change_validate(
    *, request: AddressChangeRequest, agent: User | None
) -> None:
    """The agent checked the proofs: the new address becomes the family's."""
    with transaction.atomic():
        locked = AddressChangeRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != AddressChangeRequest.Status.PENDING:
            raise ValidationError(_("This request was already decided."))
        family = Family.objects.select_for_update().get(pk=locked.family_id)
        for field in ("address_line1", "address_line2", "postal_code", "city"):
            setattr(family, field, getattr(locked, field))
        dossier_save(family, user=agent, reason=_("New address validated"))
        locked.status = AddressChangeRequest.Status.VALIDATED
        locked.decided_at = timezone.now()
        locked.decided_by = agent
        locked.save(update_fields=["status", "decided_at", "decided_by"])
        transaction.on_commit(
            lambda: _request_notify(locked, "address_request_validated")
        )


def address_change_refuse(
    *, request: AddressChangeRequest, agent: User | None, reason: str
) -> None:
    if not reason.strip():
        raise ValidationError(
            _("Give the reason for the refusal: the family will read it.")
        )
    with transaction.atomic():
        locked = AddressChangeRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != AddressChangeRequest.Status.PENDING:
            raise ValidationError(_("This request was already decided."))
        locked.status = AddressChangeRequest.Status.REFUSED
        locked.refusal_reason = reason.strip()
        locked.decided_at = timezone.now()
        locked.decided_by = agent
        locked.save(
            update_fields=["status", "refusal_reason", "decided_at", "decided_by"]
        )
        transaction.on_commit(
            lambda: _request_notify(locked, "address_request_refused")
        )


def family_paperless_set(*, family: Family, paperless: bool, user: User | None) -> bool:
    """The family's own choice of paper or paperless invoices, with its date;
    it applies from the next invoicing run. Returns whether it changed.
    Paperless needs an e-mail address on file: without one the family would
    get neither paper nor e-mail (ValidationError, in French)."""
    with transaction.atomic():
        locked = Family.objects.select_for_update().get(pk=family.pk)
        if locked.paperless == paperless:
            return False
        if paperless and not locked.guardians.exclude(email="").exists():
            raise ValidationError(
                _(
                    "Paperless invoices are sent by e-mail: add an e-mail address "
                    "to your contact details first."
                ),
                code="no_email",
            )
        locked.paperless = paperless
        locked.paperless_changed_at = timezone.now()
        dossier_save(
            locked,
            user=user,
            reason=_("Paper or paperless invoices: the family's choice"),
            update_fields=["paperless", "paperless_changed_at"],
        )
    family.paperless, family.paperless_changed_at = (
        locked.paperless,
        locked.paperless_changed_at,
    )
    return True


def family_paperless_edited(*, family: Family, changed_fields: Collection[str]) -> bool:
    """An agent's form changes the family's choice of paper or paperless
    invoices (`changed_fields` names `paperless`): the choice is dated, as
    the family's own (`family_paperless_set`), and applies from the next
    invoicing run. The caller saves the family (its history records who).
    Returns whether it changed."""
    if "paperless" not in changed_fields:
        return False
    family.paperless_changed_at = timezone.now()
    return True


def new_request_key() -> str:
    """Identifies one form submission, so that submitting it twice does it once."""
    return secrets.token_hex(16)


def request_key_or_new(value: str | None) -> str:
    """The form's key if it is one `new_request_key` made (32 hexadecimal
    digits), else a new one: anything else (a NUL, 10 kB of text) is not
    written to the database."""
    text = value or ""
    if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
        return text
    return new_request_key()


def private_document_save(
    document: PrivateDocument, upload: Any, checked: CheckedFile
) -> None:
    """Store a checked upload as `document`, under a random name."""
    document.token = secrets.token_hex(16)
    document.original_name = (upload.name or "document")[:200]
    document.content_type = checked.content_type
    document.size = checked.size
    upload.seek(0)
    document.file.save(document.token, File(upload), save=False)
    document.save()


def merged_family_for_login(*, username: str, password: str) -> Family | None:
    """The family kept, when someone logs in with the identifier and password
    of a family that was merged into another."""
    user = (
        User.objects.filter(
            username__iexact=username.strip(),
            is_active=False,
            family__merged_into__isnull=False,
        )
        .select_related("family__merged_into")
        .first()
    )
    if user is None or not user.check_password(password):
        return None
    return user.family.merged_into if user.family else None
