from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from paiements.services import payment_reminders_send
from portail.jobs import job_lock, job_succeeded


class Command(BaseCommand):
    help = (
        "Run daily: on the reminder day (PORTAIL_REMINDER_DAY) e-mail families "
        "that still have invoices to pay. Safe to run twice or concurrently."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with job_lock("send_payment_reminders") as mine:
            if not mine:
                self.stdout.write("Already running elsewhere: nothing done.")
                return
            count = payment_reminders_send()
            self.stdout.write(
                f"{count} reminder(s) queued "
                f"(reminder day: {settings.PORTAIL_REMINDER_DAY})."
            )
            job_succeeded("send_payment_reminders")
