"""The block e-mails: a family is told when its card payments become
blocked or open again (rules 4 and 6). Every write that changes what a
family owes or holds in credit asks for it once its transaction commits."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from familles.models import Family
from paiements.models import BlockNotice
from paiements.rules import families_blocked
from paiements.tasks import send_block_notices


def block_state_notify(*, family: Family) -> bool | None:
    """E-mail the family when its online payment becomes blocked or is
    unblocked; returns the new state when an e-mail was queued."""
    return block_states_notify(family_ids=[family.pk]).get(family.pk)


def block_state_changes(*, family_ids: Iterable[int]) -> dict[int, bool]:
    """The families whose block state differs from the last one they were
    told (no notice yet: told "not blocked"), with their state now."""
    family_ids = list(family_ids)
    known = dict(
        BlockNotice.objects.filter(family_id__any=family_ids).values_list(
            "family_id", "blocked"
        )
    )
    return {
        pk: blocked
        for pk, blocked in families_blocked(family_ids).items()
        if blocked != known.get(pk, False)
    }


def block_states_notify(*, family_ids: Iterable[int]) -> dict[int, bool]:
    """`block_state_notify` for many families at once (the invoicing run):
    the families are locked, their states decided in two queries, and each
    family whose state differs from its last notice is e-mailed. Returns the
    new state of the families notified."""
    with transaction.atomic():
        locked = list(
            Family.objects.select_for_update(no_key=True)
            .filter(pk__any=list(family_ids))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        changed = block_state_changes(family_ids=locked)
        now = timezone.now()
        BlockNotice.objects.bulk_create(
            [
                BlockNotice(family_id=pk, blocked=blocked, sent_at=now)
                for pk, blocked in changed.items()
            ],
            update_conflicts=True,
            unique_fields=["family"],
            update_fields=["blocked", "sent_at"],
        )

        if changed:
            transaction.on_commit(
                lambda: send_block_notices.enqueue(notices=list(changed.items()))
            )
    return changed
