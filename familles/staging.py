"""Documents held between *Suivant* and *Valider*: written to the private
storage under the family's folder and a random key (not in the database),
moved into the request on *Valider*, forgotten after a day otherwise.

Each family's folder holds at most `staging_quota()` bytes (two full sets of
documents): staging a new set drops the family's oldest staged files first,
so that nobody can fill the disk by sending forms and never validating
them. A review page whose files were dropped asks for them again."""

from __future__ import annotations

import datetime
import secrets
from typing import TypedDict

from django.conf import settings
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


def staging_quota() -> int:
    return 2 * settings.PORTAIL_MAX_UPLOAD_FILES * settings.PORTAIL_MAX_UPLOAD_BYTES


def _folder(family_id: int) -> str:
    return f"{STAGING}/{family_id}"


def _make_room(family_id: int, needed: int) -> None:
    """Drop the family's oldest staged files until `needed` more bytes fit."""
    folder = _folder(family_id)
    if not default_storage.exists(folder):
        return
    files = sorted(
        (default_storage.get_modified_time(path), path)
        for path in (f"{folder}/{name}" for name in default_storage.listdir(folder)[1])
    )
    used = sum(default_storage.size(path) for _when, path in files)
    for _when, path in files:
        if used + needed <= staging_quota():
            break
        used -= default_storage.size(path)
        default_storage.delete(path)


def stage(files: list[CheckedFile], *, family_id: int) -> list[StagedFile]:
    _make_room(family_id, sum(checked.size for checked in files))
    staged: list[StagedFile] = []
    for checked in files:
        path = default_storage.save(
            f"{_folder(family_id)}/{secrets.token_hex(16)}", File(checked.upload)
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


def is_staged(entry: StagedFile, *, family_id: int) -> bool:
    """The file is still held, in this family's own folder."""
    path = entry["path"]
    return (
        path.startswith(f"{_folder(family_id)}/")
        and ".." not in path
        and default_storage.exists(path)
    )


def purge_staging(
    *, older_than: datetime.timedelta = datetime.timedelta(days=1)
) -> int:
    """Delete staged files nobody validated; returns how many."""
    if not default_storage.exists(STAGING):
        return 0
    limit = timezone.now() - older_than
    folders, loose = default_storage.listdir(STAGING)
    # Loose files are those staged before the families had folders.
    paths = [f"{STAGING}/{name}" for name in loose]
    for folder in folders:
        paths += [
            f"{STAGING}/{folder}/{name}"
            for name in default_storage.listdir(f"{STAGING}/{folder}")[1]
        ]
    count = 0
    for path in paths:
        if default_storage.get_modified_time(path) < limit:
            default_storage.delete(path)
            count += 1
    return count
