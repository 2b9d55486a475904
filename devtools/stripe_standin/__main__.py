"""`python -m devtools.stripe_standin`: the stand-in without Django, for a
developer's own scripts (`manage.py stripe_standin` reads the portal's
settings instead)."""

import argparse

from devtools.standin_http import sleep_a_tick
from devtools.stripe_standin.server import StripeStandin, run_in_foreground


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-secret", default="whsec_standin")
    parser.add_argument(
        "--webhook-url", default="http://127.0.0.1:8000/paiements/webhook/stripe/"
    )
    args = parser.parse_args()
    standin = StripeStandin(
        webhook_secret=args.webhook_secret,
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
    )
    standin.start()
    print(
        f"Stripe stand-in listening on {standin.base_url}, delivering webhooks "
        f"to {args.webhook_url} (Ctrl+C to stop).",
        flush=True,
    )
    run_in_foreground(standin, tick=sleep_a_tick)


if __name__ == "__main__":
    main()
