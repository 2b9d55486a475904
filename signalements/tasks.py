"""Background work of the reports: telling the canteen service that a
family answered in a report's thread."""

import logging

from django.conf import settings
from django.tasks import task

from familles.tasks import send_templated_or_log
from signalements.models import ReportUpdate

logger = logging.getLogger("signalements.tasks")


@task()
def send_report_reply(*, update_id: int) -> int:
    """E-mail the family's answer to the agent who took the report, or to
    the service's address when no agent has. Returns how many were sent."""
    update = (
        ReportUpdate.objects.select_related("report__family", "report__assigned_to")
        .filter(pk=update_id)
        .first()
    )
    if update is None:
        return 0
    report = update.report
    agent = report.assigned_to
    to = [agent.email] if agent and agent.email else []
    to = to or [settings.PORTAIL_COMMUNE["email"]]
    return send_templated_or_log(
        template="report_reply",
        to=[address for address in to if address],
        context={
            "reference": report.reference,
            "family": str(report.family),
            "answer": update.message,
            "admin_path": f"/admin/signalements/report/{report.pk}/change/",
        },
        logger=logger,
        message="report reply e-mail not sent",
        extra={"event": "report_reply_mail_failed", "report": report.reference},
    )
