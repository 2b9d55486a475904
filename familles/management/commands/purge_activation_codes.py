from typing import Any

from django.core.management.base import BaseCommand

from familles.services import activation_codes_purge_expired


class Command(BaseCommand):
    help = (
        "Erase the encrypted copies of expired activation codes (run daily; "
        "they are also erased when found expired)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = activation_codes_purge_expired()
        self.stdout.write(f"{count} expired activation code(s) erased.")
