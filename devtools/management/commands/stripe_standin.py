"""Run the local Stripe stand-in in the foreground (development only)."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.stripe_standin import StripeStandin
from devtools.stripe_standin.server import run_in_foreground

DEFAULT_API_BASE = "http://127.0.0.1:12111"
DEFAULT_WEBHOOK_SECRET = "whsec_standin"  # noqa: S105 - the public dev default
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/paiements/webhook/stripe/"
# How often the foreground loop expires the sessions whose time is up (their
# checkout.session.expired webhooks go out then, as Stripe sends them).
TICK_SECONDS = 1.0


def _tick() -> None:
    time.sleep(TICK_SECONDS)


def _listen_address(api_base: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(api_base)
    try:
        port = parts.port
    except ValueError as error:
        raise CommandError(
            f"STRIPE_API_BASE has an invalid port: {api_base}"
        ) from error
    if parts.scheme != "http" or not parts.hostname:
        raise CommandError(
            f"STRIPE_API_BASE must be a plain http:// address for the stand-in, "
            f"like {DEFAULT_API_BASE}; got {api_base!r}."
        )
    return parts.hostname, 80 if port is None else port


class Command(BaseCommand):
    help = (
        "Run a local stand-in of the Stripe API (Checkout Sessions, events, a "
        "hosted test payment page, signed webhooks) until interrupted. "
        "Development only: refused unless DEBUG is on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run even though DEBUG is off (tests, demos). Never in production.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_without_debug"]:
            raise CommandError(
                "The Stripe stand-in is a development tool and must never run in "
                "production: it starts only when DEBUG is on, or with "
                "--allow-without-debug."
            )
        api_base = getattr(settings, "STRIPE_API_BASE", "") or DEFAULT_API_BASE
        secret = (
            getattr(settings, "STRIPE_WEBHOOK_SECRET", "") or DEFAULT_WEBHOOK_SECRET
        )
        webhook_url = (
            getattr(settings, "STRIPE_STANDIN_WEBHOOK_URL", "") or DEFAULT_WEBHOOK_URL
        )
        host, port = _listen_address(api_base)
        try:
            standin = StripeStandin(
                webhook_secret=secret, host=host, port=port, webhook_url=webhook_url
            )
            standin.log_requests = options["verbosity"] >= 2
            standin.start()
        except (OSError, ValueError) as error:
            raise CommandError(
                f"Cannot start the Stripe stand-in on {host}:{port}: {error}"
            ) from error
        self.stdout.write(
            f"Stripe stand-in listening on {standin.base_url}, delivering webhooks "
            f"to {webhook_url} (Ctrl+C to stop)."
        )
        run_in_foreground(standin, tick=_tick)
        self.stdout.write("Stripe stand-in stopped.")
