from typing import Any

from django.contrib.sessions.models import Session
from django.core.management.base import BaseCommand
from django.utils import timezone

from factures.printing import paper_batches_purge
from familles.services import activation_codes_purge_expired
from familles.staging import purge_staging
from portail.jobs import job_lock, job_succeeded


class Command(BaseCommand):
    help = (
        "Run daily: erase the encrypted copies of expired activation codes, "
        "delete expired sessions, documents left between Suivant and "
        "Valider, and paper batches older than a week. Safe to run twice or "
        "concurrently."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with job_lock("housekeeping") as mine:
            if not mine:
                self.stdout.write("Already running elsewhere: nothing done.")
                return
            codes = activation_codes_purge_expired()
            sessions, _detail = Session.objects.filter(
                expire_date__lt=timezone.now()
            ).delete()
            files = purge_staging()
            batches = paper_batches_purge()
            self.stdout.write(
                f"{codes} expired activation code(s) erased, {sessions} expired "
                f"session(s) deleted, {files} abandoned upload(s) deleted, "
                f"{batches} old paper batch(es) deleted."
            )
            job_succeeded("housekeeping")
