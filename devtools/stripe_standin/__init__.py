"""A local stand-in of the Stripe API, enough for Stripe Checkout and its
refunds: a tool for developers and tests, outside the product.

The portal talks to it through the official ``stripe`` library pointed at
another API base, so card payments work offline and in tests:

* ``/v1/checkout/sessions`` (create, retrieve, list, expire), ``/v1/refunds``
  (create, retrieve, list; of a paid session's payment intent) and
  ``/v1/events`` (list, retrieve), form-encoded like Stripe, answering
  Stripe-shaped JSON;
* a hosted checkout page ``/checkout/<id>`` (in French) where test cards pay,
  are declined or are refused;
* refunds that succeed at once, or (``refunds_pending``) wait until a test
  settles them with ``settle_refund`` (succeeded or failed);
* signed webhook deliveries (``Stripe-Signature``), sent by a background
  thread with optional faults (drop, duplicate, delay, reorder), or queued for
  tests to take.

Standard library only: it must never import Django, so it runs anywhere.
Never run it in production; it keeps everything in memory and knows no card.
Run it with `python -m devtools.stripe_standin` or `manage.py stripe_standin`
(development only). Its parts: `api` (the calls), `page` (the hosted page),
`webhooks` (signing and delivery), `server` (the state and the HTTP server).
"""

from devtools.stripe_standin.common import (
    API_VERSION,
    DECLINED_CARD,
    PAID_CARD,
    Delivery,
    StripeError,
    format_amount,
    parse_form,
)
from devtools.stripe_standin.server import StripeStandin

__all__ = [
    "API_VERSION",
    "DECLINED_CARD",
    "PAID_CARD",
    "Delivery",
    "StripeError",
    "StripeStandin",
    "format_amount",
    "parse_form",
]
