from typing import Any

from django.core.management.base import BaseCommand

from familles.roles import ADMIN_GROUP, AGENT_GROUP, sync_roles


class Command(BaseCommand):
    help = "Create or update the staff groups (run after adding permissions)."

    def handle(self, *args: Any, **options: Any) -> None:
        sync_roles()
        self.stdout.write(f"Groups up to date: {AGENT_GROUP}, {ADMIN_GROUP}.")
