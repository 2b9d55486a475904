"""The stand-in's notifications: as PayFiP, a form POST ``idOp=<idop>`` to
the operation's urlnotif once it is finished, sent once by a background
thread (no retry: PayFiP does not promise one either), or queued for tests
to take; with optional faults (lose, duplicate)."""

from __future__ import annotations

import queue
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from devtools.payfip_standin.common import (
    DELIVERY_TIMEOUT_SECONDS,
    Notification,
    StandinState,
)


class NotificationMixin(StandinState):
    """The notifications of `PayfipStandin`."""

    def _log(self, message: str) -> None:
        print(f"payfip-standin: {message}", file=sys.stderr, flush=True)

    def _notify(self, operation: dict[str, Any]) -> None:
        """Send (or queue) the notification of a finished operation, with
        the faults set now. Callers hold the lock."""
        body = urllib.parse.urlencode({"idOp": operation["idop"]}).encode()
        notification = Notification(url=operation["urlnotif"], body=body)
        if self.lose_notifications:
            self._log(f"idOp={operation['idop']}: notification lost")
            return
        for _ in range(2 if self.duplicate_notifications else 1):
            if self.auto_deliver:
                self._outbox.put(notification)
            else:
                self._pending.append(notification)

    def _deliver_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                notification = self._outbox.get(timeout=0.1)
            except queue.Empty:
                continue
            if notification is None:
                break
            self._send(notification)

    def _send(self, notification: Notification) -> None:
        """POST one notification, once; a failure is logged, never raised."""
        # The URL's scheme was checked (http or https) when the operation
        # was created.
        request = urllib.request.Request(  # noqa: S310
            notification.url,
            data=notification.body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "PayFiP-standin/1.0",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 - http(s) only
                request, timeout=DELIVERY_TIMEOUT_SECONDS
            ) as answer:
                result = str(answer.status)
        except urllib.error.HTTPError as error:
            error.close()
            result = str(error.code)
        except (OSError, urllib.error.URLError) as error:
            result = f"failed ({error})"
        self._log(f"{notification.body.decode()} -> {notification.url}: {result}")
