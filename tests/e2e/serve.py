"""Serve the portal for the browser journeys: runserver on PORT with the
local Stripe stand-in on STANDIN_PORT delivering its webhooks to it. The
journeys set its clock through PORTAIL_TEST_CLOCK (tests/clock.py).

Usage: python tests/e2e/serve.py PORT STANDIN_PORT
Test-only: it is never used by the portal itself.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    port, standin_port = int(sys.argv[1]), int(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portail.settings")
    os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{standin_port}"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from devtools.stripe_standin import StripeStandin

    standin = StripeStandin(
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        port=standin_port,
        webhook_url=f"http://127.0.0.1:{port}/paiements/webhook/stripe/",
    )
    standin.start()
    call_command(
        "runserver", f"127.0.0.1:{port}", use_reloader=False, use_threading=True
    )


if __name__ == "__main__":
    main()
