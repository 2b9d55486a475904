"""Documents held between *Suivant* and *Valider*: written to the private
storage under a random key (not in the database), moved into the request on
*Valider*, forgotten after a day otherwise."""

from __future__ import annotations

import datetime
import secrets
from typing import TypedDict

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.utils import timezone

from familles.uploads import CheckedFile

STAGING = "staging"


class StagedFile(TypedDict):
    path: str
    name: str
    content_type: str
    size: int


def stage(files: list[CheckedFile]) -> list[StagedFile]:
    staged: list[StagedFile] = []
    for checked in files:
        path = default_storage.save(
            f"{STAGING}/{secrets.token_hex(16)}", File(checked.upload)
        )
        staged.append(
            {
                "path": path,
                "name": (checked.upload.name or "document")[:200],
                "content_type": checked.content_type,
                "size": checked.size,
            }
        )
    return staged


def is_staged(entry: StagedFile) -> bool:
    return entry["path"].startswith(f"{STAGING}/") and default_storage.exists(
        entry["path"]
    )


def purge_staging(
    *, older_than: datetime.timedelta = datetime.timedelta(days=1)
) -> int:
    """Delete staged files nobody validated; returns how many."""
    if not default_storage.exists(STAGING):
        return 0
    limit = timezone.now() - older_than
    count = 0
    for name in default_storage.listdir(STAGING)[1]:
        path = f"{STAGING}/{name}"
        if default_storage.get_modified_time(path) < limit:
            default_storage.delete(path)
            count += 1
    return count
