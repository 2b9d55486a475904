"""Reads of the families app that need care."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from familles.models import Family, Guardian, User


@dataclass(frozen=True)
class DossierChange:
    """One changed value of a family's dossier: who, when, old → new."""

    changed_at: datetime.datetime
    changed_by: User | None
    guardian: Guardian | None  # None: the family's own data
    field: str
    label: str  # the field's name in French
    old: Any
    new: Any
    reason: str


def dossier_changes(family: Family) -> list[DossierChange]:
    """Every change of the family's data and of its guardians', newest
    first, read from their history (django-simple-history): each version
    against the one before it. A version with no change of its own (created,
    or saved as it was) shows its reason alone, with no field."""
    changes = []
    histories: list[tuple[Guardian | None, Any]] = [
        (None, family.history.all()),
        *((guardian, guardian.history.all()) for guardian in family.guardians.all()),
    ]
    for guardian, versions in histories:
        versions = list(versions.select_related("history_user").order_by("history_id"))
        for previous, version in zip([None, *versions], versions, strict=False):
            reason = version.history_change_reason or ""
            if previous is None:
                continue
            delta = version.diff_against(previous)
            for change in delta.changes:
                changes.append(
                    DossierChange(
                        changed_at=version.history_date,
                        changed_by=version.history_user,
                        guardian=guardian,
                        field=change.field,
                        label=_label(Guardian if guardian else Family, change.field),
                        old=change.old,
                        new=change.new,
                        reason=reason,
                    )
                )
            if not delta.changes and reason:
                changes.append(
                    DossierChange(
                        changed_at=version.history_date,
                        changed_by=version.history_user,
                        guardian=guardian,
                        field="",
                        label="",
                        old=None,
                        new=None,
                        reason=reason,
                    )
                )
    return sorted(changes, key=lambda change: change.changed_at, reverse=True)


def _label(model: type[Family] | type[Guardian], field: str) -> str:
    return str(getattr(model._meta.get_field(field), "verbose_name", field))
