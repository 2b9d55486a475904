"""Serve the portal for the browser journeys: runserver on PORT with the
local stand-in of the payment provider (Stripe's, or PayFiP's when
PORTAIL_PAYMENT_PROVIDER=payfip) on STANDIN_PORT, sending its webhooks or
notifications to it. The journeys set its clock through PORTAIL_TEST_CLOCK
(tests/clock.py).

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
    payfip = os.environ.get("PORTAIL_PAYMENT_PROVIDER") == "payfip"
    if payfip:
        base = f"http://127.0.0.1:{standin_port}"
        os.environ["PAYFIP_SERVICE_URL"] = base + "/tpa/services/securite"
        os.environ["PAYFIP_PAYMENT_URL"] = base + "/tpa/paiementws.web"
        # PayFiP is told to notify the portal at its public address.
        os.environ["PORTAIL_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    else:
        os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{standin_port}"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from devtools.payfip_standin import PayfipStandin
    from devtools.stripe_standin import StripeStandin

    if payfip:
        PayfipStandin(port=standin_port).start()
    else:
        StripeStandin(
            webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
            port=standin_port,
            webhook_url=f"http://127.0.0.1:{port}/paiements/webhook/stripe/",
        ).start()
    call_command(
        "runserver", f"127.0.0.1:{port}", use_reloader=False, use_threading=True
    )


if __name__ == "__main__":
    main()
