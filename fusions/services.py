"""Merging duplicate families: everything a family has moves to the one
kept, in one transaction. Above every app whose rows it moves."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from factures.models import (
    Attendance,
    BracketAssignment,
    CreditNote,
    Invoice,
    InvoiceLine,
)
from factures.money import ZERO
from familles.models import (
    AddressChangeRequest,
    Child,
    Family,
    FamilyMerge,
    Guardian,
    User,
)
from familles.services import (
    CONTACT_FIELDS,
    dossier_save,
    family_login_emails_sync,
    login_sessions_end,
)
from paiements.models import (
    BlockNotice,
    CheckoutSession,
    Payment,
    PaymentOverride,
    Refund,
)
from paiements.notices import block_state_notify
from signalements.models import Report

logger = logging.getLogger("portail.familles")


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


def family_to_keep(families: list[Family], chosen: str | None = None) -> Family:
    """The family a merge keeps: the one the agent chose among `families`,
    else the one whose login was used (the parents know it), else the one
    registered first."""
    picked = next((f for f in families if str(f.pk) == chosen), None)
    return picked or max(
        families,
        key=lambda f: (f.logins.filter(last_login__isnull=False).exists(), -f.pk),
    )


def family_merge_plan(*, keep: Family, duplicates: list[Family]) -> MergePlan:
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
            sibling = next((c for c in kept_children if _same_child(c, child)), None)
            if sibling is None:
                moved_children.append(child)
                kept_children.append(child)
            else:
                same_children.append((child, sibling))
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
        "refunds": Refund.objects.filter(family_id__in=ids).count(),
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
        for child, sibling in plan.same_children:
            for attendance in Attendance.objects.filter(child=child):
                clash = Attendance.objects.filter(
                    child=sibling, activity=attendance.activity, date=attendance.date
                ).first()
                if clash is None:
                    attendance.child = sibling
                    attendance.save(update_fields=["child"])
                elif attendance.invoice_line_id is None:
                    attendance.delete()  # the same day recorded twice
                elif clash.invoice_line_id is None:
                    clash.delete()
                    attendance.child = sibling
                    attendance.save(update_fields=["child"])
                else:
                    raise ValidationError(
                        _(
                            "%(child)s was invoiced twice for %(date)s: issue a credit "
                            "note on one of the invoices before merging."
                        )
                        % {
                            "child": sibling,
                            "date": formats.date_format(attendance.date),
                        }
                    )
            for line in InvoiceLine.objects.filter(child=child):
                line.child = sibling
                line.save(update_fields=["child"])
            Report.objects.filter(child=child).update(child=sibling)
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
            # A refund follows its payment (append-only: only its family moves).
            Refund.objects.filter(family=duplicate).update(family=keep)
            CheckoutSession.objects.filter(family=duplicate).update(family=keep)
            Report.objects.filter(family=duplicate).update(family=keep)
            AddressChangeRequest.objects.filter(family=duplicate).update(family=keep)
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
                # An inactive login is refused at login; its open sessions
                # end with the merge.
                login.is_active = False
                login.save(update_fields=["is_active"])
                transaction.on_commit(partial(login_sessions_end, user=login))
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
            dossier_save(
                keep,
                user=agent,
                reason=_("%(merged)s merged into this family")
                % {"merged": duplicate.identifier},
            )
        family_login_emails_sync(family=keep)
        after = _money_totals(ids)
        if before != after or _money_totals([d.pk for d in duplicates]) != (ZERO, ZERO):
            raise ValidationError(
                _("The merge would change the money totals: nothing was done.")
            )
        transaction.on_commit(lambda: block_state_notify(family=keep))
    return plan
