from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from paiements.services import payment_reminders_send


class Command(BaseCommand):
    help = (
        "Run daily: on the reminder day (PORTAIL_REMINDER_DAY) e-mail families "
        "that still have invoices to pay. Safe to run twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = payment_reminders_send()
        self.stdout.write(
            f"{count} reminder(s) queued "
            f"(reminder day: {settings.PORTAIL_REMINDER_DAY})."
        )
