"""The stand-in's webhooks: signed like Stripe's, sent by a background
thread with optional faults (drop, duplicate, delay, reorder) and retried
with a back-off, or queued for tests to take."""

from __future__ import annotations

import hashlib
import hmac
import queue
import sys
import time
import urllib.error
import urllib.request

from devtools.stripe_standin.common import (
    DELIVERY_ATTEMPTS,
    DELIVERY_TIMEOUT_SECONDS,
    MAX_DELAY_SECONDS,
    REORDER_HOLD_SECONDS,
    Delivery,
    StandinState,
)


class WebhookMixin(StandinState):
    """Signing and delivery for `StripeStandin`."""

    def sign(self, payload: bytes, timestamp: int | None = None) -> str:
        """The Stripe-Signature header value for this body."""
        if timestamp is None:
            timestamp = int(self.now())
        signed = f"{timestamp}.".encode() + payload
        digest = hmac.new(
            self.webhook_secret.encode("utf-8"), signed, hashlib.sha256
        ).hexdigest()
        return f"t={timestamp},v1={digest}"

    def _log(self, message: str) -> None:
        print(f"stripe-standin: {message}", file=sys.stderr, flush=True)

    def _deliver_loop(self) -> None:
        held: Delivery | None = None
        held_since = 0.0
        while not self._stopping.is_set():
            try:
                item = self._outbox.get(timeout=0.1)
            except queue.Empty:
                # A held delivery goes out on its own if nothing follows it.
                if held and time.monotonic() - held_since >= REORDER_HOLD_SECONDS:
                    self._send(held)
                    held = None
                continue
            if item is None:
                break
            delivery, faults = item
            if faults.get("drop"):
                self._log(f"{delivery.event_type} {delivery.event_id}: dropped")
                continue
            delay = min(float(faults.get("delay") or 0.0), MAX_DELAY_SECONDS)
            if delay > 0 and self._stopping.wait(delay):
                break
            if faults.get("reorder") and held is None:
                self._log(f"{delivery.event_type} {delivery.event_id}: held back")
                held, held_since = delivery, time.monotonic()
                continue
            for _ in range(2 if faults.get("duplicate") else 1):
                self._send(delivery)
            if held is not None:
                self._send(held)
                held = None

    def _send(self, delivery: Delivery) -> None:
        """POST one delivery, retrying connection errors and 5xx, bounded."""
        url = self.webhook_url
        if not url:
            return
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            # Stripe signs each attempt afresh.
            headers = dict(delivery.headers)
            headers["Stripe-Signature"] = self.sign(delivery.payload)
            headers["User-Agent"] = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
            # The URL's scheme was checked (http or https) in __init__.
            request = urllib.request.Request(  # noqa: S310
                url, data=delivery.payload, headers=headers, method="POST"
            )
            retry = False
            try:
                with urllib.request.urlopen(  # noqa: S310 - http(s) only
                    request, timeout=DELIVERY_TIMEOUT_SECONDS
                ) as response:
                    status = response.status
                result = str(status)
            except urllib.error.HTTPError as error:
                status = error.code
                error.close()
                result = str(status)
                retry = status >= 500
            except (OSError, urllib.error.URLError) as error:
                result = f"connection failed ({error})"
                retry = True
            self._log(
                f"{delivery.event_type} {delivery.event_id} -> {url} "
                f"attempt {attempt}/{DELIVERY_ATTEMPTS}: {result}"
            )
            if not retry or attempt == DELIVERY_ATTEMPTS:
                return
            backoff = self.retry_backoff[min(attempt, len(self.retry_backoff)) - 1]
            if self._stopping.wait(backoff):
                return
