from typing import Any

from django.core.management.base import BaseCommand

from paiements.services import payments_reconcile


class Command(BaseCommand):
    help = (
        "Ask Stripe about card payments still pending after a few minutes; "
        "record the paid ones, close the expired ones. Safe to run at any time."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = payments_reconcile()
        self.stdout.write(
            f"{len(result.recorded)} payment(s) recorded, {result.expired} expired, "
            f"{result.still_open} still open, {result.errors} error(s)."
        )
