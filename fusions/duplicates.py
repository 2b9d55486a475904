"""Suspected duplicate families, for the agents' list (reads only)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count
from django.utils.translation import gettext as _

from familles.models import Child, Family, Guardian
from signalements.models import Report


@dataclass(frozen=True)
class SuspectedGroup:
    reason: str
    families: tuple[Family, ...]


def suspected_duplicates() -> list[SuspectedGroup]:
    """Families sharing a guardian e-mail or phone, or a child with the same
    name and birth date, and families that reported having several accounts.
    Families already merged are left out."""
    active = Family.objects.filter(merged_into__isnull=True)
    groups: dict[tuple[str, str], set[int]] = defaultdict(set)
    guardians = Guardian.objects.filter(family__in=active).values_list(
        "family_id", "email", "phone_mobile", "phone_home", "phone_work"
    )
    for family_id, email, *phones in guardians:
        if email:
            groups[(_("same e-mail"), email.lower())].add(family_id)
        for phone in phones:
            if phone:
                groups[(_("same phone"), str(phone))].add(family_id)
    children = Child.objects.filter(family__in=active).values_list(
        "family_id", "first_name", "last_name", "birth_date"
    )
    for family_id, first, last, born in children:
        key = f"{first.strip().lower()} {last.strip().lower()} {born}"
        groups[(_("same child"), key)].add(family_id)
    reported = (
        Report.objects.open()
        .filter(kind=Report.Kind.SEVERAL_ACCOUNTS, family__in=active)
        .values("family_id")
        .annotate(n=Count("pk"))
    )
    families = {f.pk: f for f in active}
    reasons: dict[frozenset[int], list[str]] = defaultdict(list)
    for (reason, value), ids in sorted(groups.items()):
        if len(ids) > 1:
            reasons[frozenset(ids)].append(f"{reason} : {value}")
    result = [
        SuspectedGroup(
            reason=" ; ".join(texts), families=tuple(families[i] for i in sorted(ids))
        )
        for ids, texts in reasons.items()
    ]
    for row in reported:
        result.append(
            SuspectedGroup(
                reason=_("reported by the family"),
                families=(families[row["family_id"]],),
            )
        )
    return result
