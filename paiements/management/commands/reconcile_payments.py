from typing import Any

from django.core.management.base import BaseCommand

from paiements.credit import refunds_reconcile
from paiements.services import payments_reconcile
from portail.jobs import job_lock, job_succeeded


class Command(BaseCommand):
    help = (
        "Ask the payment providers (Stripe, PayFiP) about online payments "
        "still pending after a few minutes; record the paid ones, close the "
        "expired ones; ask Stripe again about card refunds still pending. "
        "Safe to run at any time, "
        "and concurrently (a second run waits for nothing and does nothing)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with job_lock("reconcile_payments", timeout=600) as mine:
            if not mine:
                self.stdout.write("Already running elsewhere: nothing done.")
                return
            result = payments_reconcile()
            self.stdout.write(
                f"{len(result.recorded)} payment(s) recorded, "
                f"{result.expired} expired, {result.still_open} still open, "
                f"{result.errors} error(s)."
            )
            refunds = refunds_reconcile()
            self.stdout.write(f"{refunds} pending card refund(s) settled.")
            if not result.errors:
                job_succeeded("reconcile_payments")
