"""Writes that touch several rows of the families app: logins and their
activation codes."""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from allauth.account.models import EmailAddress
from django.conf import settings
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
    Child,
    DossierChange,
    Family,
    FamilyMerge,
    Guardian,
    PrivateDocument,
    ProofDocument,
    Report,
    ReportAttachment,
    ReportUpdate,
    User,
    code_digest,
    normalize_code,
)
from familles.staging import StagedFile, is_staged
from familles.uploads import CheckedFile

if TYPE_CHECKING:
    from factures.models import Invoice

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


def family_login_emails_sync(
    *, family: Family, unverified: set[str] = frozenset()
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


def _record(
    *,
    family: Family,
    field: str,
    old: object,
    new: object,
    user: User | None,
    guardian: Guardian | None = None,
    request_key: str = "",
) -> DossierChange:
    return DossierChange.objects.create(
        family=family,
        guardian=guardian,
        field=field,
        old_value="" if old is None else str(old),
        new_value="" if new is None else str(new),
        changed_by=user,
        request_key=request_key,
    )


def dossier_changes_record(
    *,
    family: Family,
    changes: dict[str, tuple[object, object]],
    user: User | None,
    guardian: Guardian | None = None,
) -> list[DossierChange]:
    """Record changes made elsewhere (an agent in the admin)."""
    return [
        _record(
            family=family, guardian=guardian, field=field, old=old, new=new, user=user
        )
        for field, (old, new) in changes.items()
    ]


def guardian_contact_change(
    *, guardian: Guardian, values: dict[str, str], user: User | None, request_key: str
) -> list[DossierChange]:
    """Apply a guardian's new e-mail and phones at once, recording each change.

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
        done = list(
            DossierChange.objects.filter(request_key=request_key, guardian=locked)
        )
        if done:
            return done
        changes = []
        old_email = locked.email
        for field in CONTACT_FIELDS:
            old, new = getattr(locked, field) or "", values.get(field) or ""
            if str(old) != str(new):
                setattr(locked, field, new)
                changes.append((field, old, new))
        if not changes:
            return []
        locked.full_clean()
        locked.save(update_fields=[field for field, _old, _new in changes])
        records = [
            _record(
                family=locked.family,
                guardian=locked,
                field=field,
                old=old,
                new=new,
                user=user,
                request_key=request_key,
            )
            for field, old, new in changes
        ]
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
    return records


def _contact_change_notify(
    *, family: Family, guardian: Guardian, new_email: str, old_email: str
) -> None:
    from familles.tasks import send_confirmation_link, send_family_email

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
                if not is_staged(entry):
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
    from familles.tasks import send_family_email

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
            old, new = getattr(family, field), getattr(locked, field)
            if old != new:
                setattr(family, field, new)
                _record(family=family, field=field, old=old, new=new, user=agent)
        family.save()
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
    it applies from the next invoicing run. Returns whether it changed."""
    with transaction.atomic():
        locked = Family.objects.select_for_update().get(pk=family.pk)
        if locked.paperless == paperless:
            return False
        _record(
            family=locked,
            field="paperless",
            old=locked.paperless,
            new=paperless,
            user=user,
        )
        locked.paperless = paperless
        locked.paperless_changed_at = timezone.now()
        locked.save(update_fields=["paperless", "paperless_changed_at"])
    family.paperless, family.paperless_changed_at = (
        locked.paperless,
        locked.paperless_changed_at,
    )
    return True


def new_request_key() -> str:
    """Identifies one form submission, so that submitting it twice does it once."""
    return secrets.token_hex(16)


# --- Reports (signalements) ----------------------------------------------------

REPORT_KINDS_NEEDING_INVOICE = {
    Report.Kind.WRONG_AMOUNT,
    Report.Kind.PAID_UNPAID,
    Report.Kind.REFUND,
    Report.Kind.WRONG_ATTENDANCE,
}
# Kinds whose resolution may take money off an invoice with a credit note.
REPORT_KINDS_FOR_CREDIT = {
    Report.Kind.REFUND,
    Report.Kind.WRONG_BRACKET,
    Report.Kind.WRONG_ATTENDANCE,
    Report.Kind.WRONG_AMOUNT,
}


@dataclass
class ReportReceipt:
    report: Report
    created: bool
    reconciled: int | None = None  # card payments found for a paid-unpaid report


def report_submit(
    *,
    family: Family,
    user: User | None,
    kind: str,
    message: str,
    request_key: str,
    invoice: Invoice | None = None,
    child: Child | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    attachments: list[CheckedFile] = (),
) -> ReportReceipt:
    """Record a family's report and act on it at once:

    - a wrong amount puts the invoice under dispute (not payable online, not
      counted towards the block) until the report is closed;
    - "paid but shown unpaid" asks Stripe about the family's pending card
      payments right now;
    - "several accounts" puts the family on the agents' list of suspected
      duplicates (an open report of that kind is the flag).

    The same form sent twice (`request_key`), or the same report sent again
    while the first is still new, gives the first one back.
    """
    from factures.numbering import next_number
    from factures.services import invoice_dispute_open

    if not message.strip():
        raise ValidationError(_("Describe the problem in a few words."))
    if invoice is not None and invoice.family_id != family.pk:
        raise ValidationError(_("This invoice is not yours."))
    if child is not None and child.family_id != family.pk:
        raise ValidationError(_("This child is not in your family."))
    previous = Report.objects.filter(request_key=request_key).first() or (
        Report.objects.filter(
            family=family,
            kind=kind,
            invoice=invoice,
            message=message.strip(),
            status=Report.Status.NEW,
        ).first()
    )
    if previous is not None:
        return ReportReceipt(report=previous, created=False)
    with transaction.atomic():
        Family.objects.select_for_update().get(pk=family.pk)
        report = Report.objects.create(
            reference=next_number(series="S", year=timezone.localdate().year),
            family=family,
            kind=kind,
            invoice=invoice,
            child=child,
            date_from=date_from,
            date_to=date_to,
            message=message.strip(),
            created_by=user,
            request_key=request_key,
        )
        for checked in attachments:
            _save_document(ReportAttachment(report=report), checked.upload, checked)
        if kind == Report.Kind.WRONG_AMOUNT and invoice is not None:
            report.dispute = invoice_dispute_open(
                invoice=invoice,
                reason=_("Report %(reference)s: %(message)s")
                % {"reference": report.reference, "message": report.message},
                user=user,
            )
            report.save(update_fields=["dispute"])
        transaction.on_commit(lambda: _report_notify(report, "report_received"))
    receipt = ReportReceipt(report=report, created=True)
    if kind == Report.Kind.PAID_UNPAID:
        from paiements.services import payments_reconcile

        receipt.reconciled = len(
            payments_reconcile(family=family, older_than=datetime.timedelta(0)).recorded
        )
    return receipt


def _save_document(
    document: PrivateDocument, upload: Any, checked: CheckedFile
) -> None:
    document.token = secrets.token_hex(16)
    document.original_name = (upload.name or "document")[:200]
    document.content_type = checked.content_type
    document.size = checked.size
    upload.seek(0)
    document.file.save(document.token, File(upload), save=False)
    document.save()


def report_update(
    *,
    report: Report,
    agent: User | None,
    status: str | None = None,
    message: str = "",
    credit_lines: list[Any] | None = None,
) -> ReportUpdate:
    """An agent answers and/or moves the report on. Closing it closes its
    dispute; for a refund, bracket, attendance or amount report, credit note
    lines given here are issued against the report's invoice in the same
    step."""
    from factures.services import credit_note_issue, invoice_dispute_close

    status = status or report.status
    if status not in Report.Status.values:
        raise ValidationError(_("Unknown status."))
    if not message.strip() and status == report.status and not credit_lines:
        raise ValidationError(_("Write an answer or change the status."))
    if status in Report.CLOSED and not message.strip():
        raise ValidationError(_("Tell the family why the report is closed."))
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        if credit_lines:
            if locked.kind not in REPORT_KINDS_FOR_CREDIT or locked.invoice is None:
                raise ValidationError(_("This report names no invoice to credit."))
            credit_note_issue(
                invoice=locked.invoice,
                lines=credit_lines,
                reason=_("Report %(reference)s") % {"reference": locked.reference},
                agent=agent,
            )
        update = ReportUpdate.objects.create(
            report=locked,
            author=agent,
            message=message.strip(),
            status_before=locked.status,
            status_after=status,
        )
        if status != locked.status:
            locked.status = status
            locked.closed_at = timezone.now() if status in Report.CLOSED else None
            locked.save(update_fields=["status", "closed_at"])
            if status in Report.CLOSED and locked.dispute_id and locked.invoice_id:
                invoice_dispute_close(invoice=locked.invoice, user=agent)
        transaction.on_commit(lambda: _report_notify(locked, "report_updated", update))
    report.status, report.closed_at = locked.status, locked.closed_at
    return update


def report_assign(*, report: Report, agent: User) -> None:
    Report.objects.filter(pk=report.pk).update(assigned_to=agent)


def _report_notify(
    report: Report, template: str, update: ReportUpdate | None = None
) -> None:
    from familles.tasks import send_family_email

    send_family_email.enqueue(
        family_id=report.family_id,
        template=template,
        context={
            "reference": report.reference,
            "kind": str(report.get_kind_display()),
            "status": str(report.get_status_display()),
            "answer": update.message if update else "",
        },
    )


# --- Merging duplicate families --------------------------------------------------


def _same_guardian(a: Guardian, b: Guardian) -> bool:
    """The same person: same names, and the same e-mail or one phone in common."""
    if (a.first_name.strip().lower(), a.last_name.strip().lower()) != (
        b.first_name.strip().lower(),
        b.last_name.strip().lower(),
    ):
        return False
    if a.email and a.email.lower() == (b.email or "").lower():
        return True
    phones_a = {str(p) for p in (a.phone_mobile, a.phone_home, a.phone_work) if p}
    phones_b = {str(p) for p in (b.phone_mobile, b.phone_home, b.phone_work) if p}
    return bool(phones_a & phones_b)


def _same_child(a: Child, b: Child) -> bool:
    return a.birth_date == b.birth_date and (
        a.first_name.strip().lower(),
        a.last_name.strip().lower(),
    ) == (b.first_name.strip().lower(), b.last_name.strip().lower())


@dataclass
class MergePlan:
    """What a merge does, shown to the agent before it is done."""

    keep: Family
    duplicates: list[Family]
    same_guardians: list[tuple[Guardian, Guardian]]  # (merged away, kept)
    moved_guardians: list[Guardian]
    same_children: list[tuple[Child, Child]]
    moved_children: list[Child]
    counts: dict[str, int]
    logins_disabled: list[User]


def family_merge_plan(*, keep: Family, duplicates: list[Family]) -> MergePlan:
    from factures.models import Attendance, CreditNote, Invoice
    from paiements.models import CheckoutSession, Payment

    if not duplicates:
        raise ValidationError(_("Choose at least two families."))
    if keep in duplicates:
        raise ValidationError(_("The family kept cannot also be merged away."))
    for family in [keep, *duplicates]:
        if family.merged_into_id is not None:
            raise ValidationError(
                _("%(family)s was already merged into another family.")
                % {"family": family}
            )
    kept_guardians = list(keep.guardians.all())
    kept_children = list(keep.children.all())
    same_guardians, moved_guardians, same_children, moved_children = [], [], [], []
    for duplicate in duplicates:
        for guardian in duplicate.guardians.all():
            twin = next(
                (g for g in kept_guardians if _same_guardian(g, guardian)), None
            )
            if twin is None:
                moved_guardians.append(guardian)
                kept_guardians.append(guardian)
            else:
                same_guardians.append((guardian, twin))
        for child in duplicate.children.all():
            twin = next((c for c in kept_children if _same_child(c, child)), None)
            if twin is None:
                moved_children.append(child)
                kept_children.append(child)
            else:
                same_children.append((child, twin))
    ids = [family.pk for family in duplicates]
    counts = {
        "invoices": Invoice.objects.filter(family_id__in=ids).count(),
        "credit_notes": CreditNote.objects.filter(invoice__family_id__in=ids).count(),
        "payments": Payment.objects.filter(family_id__in=ids).count(),
        "attendance": Attendance.objects.filter(child__family_id__in=ids).count(),
        "reports": Report.objects.filter(family_id__in=ids).count(),
        "address_requests": AddressChangeRequest.objects.filter(
            family_id__in=ids
        ).count(),
        "card_sessions": CheckoutSession.objects.filter(family_id__in=ids).count(),
    }
    return MergePlan(
        keep=keep,
        duplicates=list(duplicates),
        same_guardians=same_guardians,
        moved_guardians=moved_guardians,
        same_children=same_children,
        moved_children=moved_children,
        counts=counts,
        logins_disabled=list(User.objects.filter(family_id__in=ids, is_active=True)),
    )


def _money_totals(family_ids: list[int]) -> tuple[Decimal, Decimal]:
    from django.db.models import Sum

    from factures.models import Invoice
    from paiements.models import Payment

    invoices = Invoice.objects.filter(family_id__in=family_ids).aggregate(
        s=Sum("total")
    )["s"]
    payments = Payment.objects.filter(family_id__in=family_ids).aggregate(
        s=Sum("amount")
    )["s"]
    return (invoices or Decimal("0"), payments or Decimal("0"))


def family_merge(
    *, keep: Family, duplicates: list[Family], agent: User | None
) -> MergePlan:
    """Merge duplicate families into `keep`, in one transaction with every
    family locked: guardians, children (with their attendance), invoices,
    payments, card sessions, reports and requests move; the same person is
    kept once; the other families' logins are disabled (their sessions end
    with them); the families merged away stay, pointing to the one kept.
    The totals of invoices and payments are the same before and after."""
    from factures.models import Attendance, BracketAssignment, Invoice, InvoiceLine
    from paiements.models import BlockNotice, CheckoutSession, Payment, PaymentOverride

    ids = sorted({keep.pk, *(family.pk for family in duplicates)})
    with transaction.atomic():
        # Locked in primary-key order: two agents merging the same families
        # queue up; the second then finds them merged and is told so.
        locked = {
            f.pk: f
            for f in Family.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
        }
        keep = locked[keep.pk]
        duplicates = [locked[family.pk] for family in duplicates]
        plan = family_merge_plan(keep=keep, duplicates=duplicates)
        before = _money_totals(ids)
        now = timezone.now()
        for guardian, twin in plan.same_guardians:
            for field in CONTACT_FIELDS:
                if not getattr(twin, field) and getattr(guardian, field):
                    setattr(twin, field, getattr(guardian, field))
            twin.save()
            guardian.delete()
        for guardian in plan.moved_guardians:
            guardian.family = keep
            guardian.save(update_fields=["family"])
        for child, twin in plan.same_children:
            for attendance in Attendance.objects.filter(child=child):
                clash = Attendance.objects.filter(
                    child=twin, activity=attendance.activity, date=attendance.date
                ).first()
                if clash is None:
                    attendance.child = twin
                    attendance.save(update_fields=["child"])
                elif attendance.invoice_line_id is None:
                    attendance.delete()  # the same day recorded twice
                elif clash.invoice_line_id is None:
                    clash.delete()
                    attendance.child = twin
                    attendance.save(update_fields=["child"])
                else:
                    raise ValidationError(
                        _(
                            "%(child)s was invoiced twice for %(date)s: issue a credit "
                            "note on one of the invoices before merging."
                        )
                        % {"child": twin, "date": formats.date_format(attendance.date)}
                    )
            for line in InvoiceLine.objects.filter(child=child):
                line.child = twin
                line.save(update_fields=["child"])
            Report.objects.filter(child=child).update(child=twin)
            child.delete()
        for child in plan.moved_children:
            child.family = keep
            child.save(update_fields=["family"])
        for duplicate in duplicates:
            for invoice in Invoice.objects.filter(family=duplicate):
                invoice.family = keep
                invoice.save(update_fields=["family"])
            for payment in Payment.objects.filter(family=duplicate):
                payment.family = keep
                payment.save(update_fields=["family"])
            CheckoutSession.objects.filter(family=duplicate).update(family=keep)
            Report.objects.filter(family=duplicate).update(family=keep)
            AddressChangeRequest.objects.filter(family=duplicate).update(family=keep)
            DossierChange.objects.filter(family=duplicate).update(family=keep)
            PaymentOverride.objects.filter(
                family=duplicate, cleared_at__isnull=True
            ).update(cleared_at=now, cleared_by=agent)
            PaymentOverride.objects.filter(family=duplicate).update(family=keep)
            BlockNotice.objects.filter(family=duplicate).delete()
            kept_starts = set(
                keep.bracket_assignments.values_list("valid_from", flat=True)
            )
            BracketAssignment.objects.filter(family=duplicate).exclude(
                valid_from__in=kept_starts
            ).update(family=keep)
            for login in duplicate.logins.filter(is_active=True):
                # An inactive login is refused at login and its open sessions
                # are no longer recognised.
                login.is_active = False
                login.save(update_fields=["is_active"])
            duplicate.merged_into = keep
            duplicate.merged_at = now
            duplicate.save(update_fields=["merged_into", "merged_at"])
            FamilyMerge.objects.create(
                kept=keep,
                merged=duplicate,
                merged_by=agent,
                summary={
                    **plan.counts,
                    "guardians_merged": len(plan.same_guardians),
                    "children_merged": len(plan.same_children),
                },
            )
            logger.info(
                "families merged",
                extra={
                    "event": "family_merged",
                    "kept": keep.identifier,
                    "merged": duplicate.identifier,
                    "agent": agent.pk if agent else None,
                },
            )
            _record(
                family=keep,
                field="merge",
                old=duplicate.identifier,
                new=keep.identifier,
                user=agent,
            )
        family_login_emails_sync(family=keep)
        after = _money_totals(ids)
        if before != after or _money_totals([d.pk for d in duplicates]) != (0, 0):
            raise ValidationError(
                _("The merge would change the money totals: nothing was done.")
            )
        from paiements.services import block_state_notify

        transaction.on_commit(lambda: block_state_notify(family=keep))
    return plan


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
    return user.family.merged_into
