"""Run the local Stripe stand-in in the foreground (development only)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from devtools.management.standin_command import (
    add_allow_without_debug,
    listen_address,
    refuse_without_debug,
    starting,
)
from devtools.standin_http import TICK_SECONDS as TICK_SECONDS
from devtools.standin_http import sleep_a_tick
from devtools.stripe_standin import StripeStandin
from devtools.stripe_standin.server import run_in_foreground

DEFAULT_API_BASE = "http://127.0.0.1:12111"
DEFAULT_WEBHOOK_SECRET = "whsec_standin"  # noqa: S105 - the public dev default
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/paiements/webhook/stripe/"
# The foreground loop's wait (a module global, so that tests can replace it).
_tick = sleep_a_tick


def _listen_address(api_base: str) -> tuple[str, int]:
    return listen_address("STRIPE_API_BASE", api_base, DEFAULT_API_BASE)


class Command(BaseCommand):
    help = (
        "Run a local stand-in of the Stripe API (Checkout Sessions, events, a "
        "hosted test payment page, signed webhooks) until interrupted. "
        "Development only: refused unless DEBUG is on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_allow_without_debug(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        refuse_without_debug("Stripe", options)
        api_base = getattr(settings, "STRIPE_API_BASE", "") or DEFAULT_API_BASE
        secret = (
            getattr(settings, "STRIPE_WEBHOOK_SECRET", "") or DEFAULT_WEBHOOK_SECRET
        )
        webhook_url = (
            getattr(settings, "STRIPE_STANDIN_WEBHOOK_URL", "") or DEFAULT_WEBHOOK_URL
        )
        host, port = _listen_address(api_base)
        with starting("Stripe", host, port):
            standin = StripeStandin(
                webhook_secret=secret, host=host, port=port, webhook_url=webhook_url
            )
            standin.log_requests = options["verbosity"] >= 2
            standin.start()
        self.stdout.write(
            f"Stripe stand-in listening on {standin.base_url}, delivering webhooks "
            f"to {webhook_url} (Ctrl+C to stop)."
        )
        run_in_foreground(standin, tick=_tick)
        self.stdout.write("Stripe stand-in stopped.")
