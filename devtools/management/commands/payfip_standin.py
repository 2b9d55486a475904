"""Run the local PayFiP stand-in in the foreground (development only)."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.payfip_standin import SOAP_PATH, PayfipStandin
from devtools.payfip_standin.server import run_in_foreground

DEFAULT_SERVICE_URL = "http://127.0.0.1:12112" + SOAP_PATH
# How often the foreground loop looks for Ctrl+C (SIGTERM interrupts it too).
TICK_SECONDS = 1.0


def _tick() -> None:
    time.sleep(TICK_SECONDS)


def _listen_address(service_url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(service_url)
    try:
        port = parts.port
    except ValueError as error:
        raise CommandError(
            f"PAYFIP_SERVICE_URL has an invalid port: {service_url}"
        ) from error
    if parts.scheme != "http" or not parts.hostname:
        raise CommandError(
            f"PAYFIP_SERVICE_URL must be a plain http:// address for the stand-in, "
            f"like {DEFAULT_SERVICE_URL}; got {service_url!r}."
        )
    if parts.path not in ("", "/", SOAP_PATH):
        raise CommandError(
            f"PAYFIP_SERVICE_URL must end with {SOAP_PATH} (the stand-in serves "
            f"PayFiP's paths); got {service_url!r}."
        )
    return parts.hostname, 80 if port is None else port


class Command(BaseCommand):
    help = (
        "Run a local stand-in of PayFiP (its SOAP service, a test payment page, "
        "its notifications) until interrupted. Development only: refused "
        "unless DEBUG is on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run even though DEBUG is off (tests, demos). Never in production.",
        )
        parser.add_argument(
            "--numcli",
            default=None,
            help="The one client number known (others are refused with T2); "
            "by default any 6 digits.",
        )
        # The fault switches, to try the portal's recovery by hand
        # (`make run STANDIN_ARGS=--lose-notifications`).
        parser.add_argument(
            "--lose-notifications",
            action="store_true",
            help="Never send the notifications (reconcile_payments recovers).",
        )
        parser.add_argument(
            "--duplicate-notifications",
            action="store_true",
            help="Send every notification twice.",
        )
        parser.add_argument(
            "--slow-seconds",
            type=float,
            default=0.0,
            help="Wait this long before each SOAP answer.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_without_debug"]:
            raise CommandError(
                "The PayFiP stand-in is a development tool and must never run in "
                "production: it starts only when DEBUG is on, or with "
                "--allow-without-debug."
            )
        service_url = getattr(settings, "PAYFIP_SERVICE_URL", "") or DEFAULT_SERVICE_URL
        host, port = _listen_address(service_url)
        try:
            standin = PayfipStandin(host=host, port=port, numcli=options["numcli"])
            standin.log_requests = options["verbosity"] >= 2
            standin.lose_notifications = options["lose_notifications"]
            standin.duplicate_notifications = options["duplicate_notifications"]
            standin.slow_seconds = options["slow_seconds"]
            standin.start()
        except (OSError, ValueError) as error:
            raise CommandError(
                f"Cannot start the PayFiP stand-in on {host}:{port}: {error}"
            ) from error
        self.stdout.write(
            f"PayFiP stand-in listening on {standin.base_url}: SOAP at "
            f"{standin.soap_url}, payment page at {standin.payment_url} "
            "(Ctrl+C to stop)."
        )
        run_in_foreground(standin, tick=_tick)
        self.stdout.write("PayFiP stand-in stopped.")
