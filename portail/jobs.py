"""Scheduled jobs: one at a time, whatever starts them (a timer, cron, an
operator by hand), and their last success recorded for /health/."""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone

from portail.models import JobRun

logger = logging.getLogger("portail.jobs")


@contextmanager
def job_lock(name: str, *, timeout: int = 3600) -> Iterator[bool]:
    """Yields True if this process holds the job's lock, False if another
    process runs it. The lock lives in the shared cache (a database table or
    Redis), so it holds across servers; it expires after `timeout` seconds
    should a process die holding it."""
    key, token = f"job-lock:{name}", secrets.token_hex(8)
    acquired = _acquire(key, token, timeout)
    if not acquired:
        logger.info("job already running", extra={"event": "job_skipped", "job": name})
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def _acquire(key: str, token: str, timeout: int, attempts: int = 5) -> bool:
    """cache.add() also answers False when the cache could not be written
    (the database cache swallows some database errors), and raises others
    (SQLite's "database table is locked" under a concurrent writer). Either
    way nobody holds the lock yet, and every contender would skip the job:
    retry, with jitter, until the key is ours or someone else's. A cache
    that keeps failing raises its error rather than pass for a held lock."""
    error: DatabaseError | None = None
    for attempt in range(attempts):
        try:
            if cache.add(key, token, timeout=timeout):
                return True
            if cache.get(key) is not None:
                return False
        except DatabaseError as exc:
            error = exc
        time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))  # noqa: S311
    if error is not None:
        raise error
    return False


def job_succeeded(name: str) -> None:
    JobRun.objects.update_or_create(
        name=name, defaults={"last_success_at": timezone.now()}
    )
    logger.info("job done", extra={"event": "job_done", "job": name})
