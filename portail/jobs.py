"""Scheduled jobs: one at a time, whatever starts them (a timer, cron, an
operator by hand), and their last success recorded for /health/."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
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
    acquired = cache.add(key, token, timeout=timeout)
    if not acquired:
        logger.info("job already running", extra={"event": "job_skipped", "job": name})
    try:
        yield acquired
    finally:
        if acquired and cache.get(key) == token:
            cache.delete(key)


def job_succeeded(name: str) -> None:
    JobRun.objects.update_or_create(
        name=name, defaults={"last_success_at": timezone.now()}
    )
    logger.info("job done", extra={"event": "job_done", "job": name})
