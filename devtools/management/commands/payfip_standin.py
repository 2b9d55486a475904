"""Run the local PayFiP stand-in in the foreground (development only)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.management.standin_command import (
    add_allow_without_debug,
    listen_address,
    refuse_without_debug,
    starting,
)
from devtools.payfip_standin import SOAP_PATH, PayfipStandin
from devtools.payfip_standin.server import run_in_foreground
from devtools.standin_http import TICK_SECONDS as TICK_SECONDS
from devtools.standin_http import sleep_a_tick

DEFAULT_SERVICE_URL = "http://127.0.0.1:12112" + SOAP_PATH
# The foreground loop's wait (a module global, so that tests can replace it).
_tick = sleep_a_tick


def _listen_address(service_url: str) -> tuple[str, int]:
    address = listen_address("PAYFIP_SERVICE_URL", service_url, DEFAULT_SERVICE_URL)
    if urllib.parse.urlsplit(service_url).path not in ("", "/", SOAP_PATH):
        raise CommandError(
            f"PAYFIP_SERVICE_URL must end with {SOAP_PATH} (the stand-in serves "
            f"PayFiP's paths); got {service_url!r}."
        )
    return address


class Command(BaseCommand):
    help = (
        "Run a local stand-in of PayFiP (its SOAP service, a test payment page, "
        "its notifications) until interrupted. Development only: refused "
        "unless DEBUG is on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_allow_without_debug(parser)
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
        refuse_without_debug("PayFiP", options)
        service_url = getattr(settings, "PAYFIP_SERVICE_URL", "") or DEFAULT_SERVICE_URL
        host, port = _listen_address(service_url)
        with starting("PayFiP", host, port):
            standin = PayfipStandin(host=host, port=port, numcli=options["numcli"])
            standin.log_requests = options["verbosity"] >= 2
            standin.lose_notifications = options["lose_notifications"]
            standin.duplicate_notifications = options["duplicate_notifications"]
            standin.slow_seconds = options["slow_seconds"]
            standin.start()
        self.stdout.write(
            f"PayFiP stand-in listening on {standin.base_url}: SOAP at "
            f"{standin.soap_url}, payment page at {standin.payment_url} "
            "(Ctrl+C to stop)."
        )
        run_in_foreground(standin, tick=_tick)
        self.stdout.write("PayFiP stand-in stopped.")
