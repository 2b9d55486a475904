"""/health/ for a monitoring probe: the database answers, the task queue is
not piling up, card payments were reconciled recently. No personal data."""

import datetime

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from portail.models import JobRun


def _backlog() -> int | None:
    """Tasks waiting longer than a minute (database backend only)."""
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return None
    from django_tasks_db.models import DBTaskResult

    limit = timezone.now() - datetime.timedelta(minutes=1)
    return DBTaskResult.objects.filter(status="READY", enqueued_at__lt=limit).count()


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    checks: dict[str, object] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure is a failed check
        checks["database"] = "error"
        return JsonResponse({"status": "error", "checks": checks}, status=503)
    backlog = _backlog()
    checks["tasks_backlog"] = backlog
    if backlog is not None and backlog > settings.PORTAIL_HEALTH_MAX_BACKLOG:
        healthy = False
    run = JobRun.objects.filter(name="reconcile_payments").first()
    checks["last_reconciliation"] = run.last_success_at.isoformat() if run else None
    if not settings.DEBUG:
        limit = timezone.now() - datetime.timedelta(
            minutes=settings.PORTAIL_HEALTH_RECONCILE_MINUTES
        )
        if run is None or run.last_success_at < limit:
            healthy = False
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )
