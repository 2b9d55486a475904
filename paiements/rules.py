"""The payment rules, in one place. Pages, e-mails, PDFs and the help page
read the numbers from here; the commune sets them in settings
(PORTAIL_ONLINE_PAYMENT_DAYS, PORTAIL_DESK_PAYMENT_DAYS, PORTAIL_UNPAID_LIMIT).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class DayRange:
    """Days of the month, both ends included."""

    first: int
    last: int

    def __contains__(self, day: int) -> bool:
        return self.first <= day <= self.last

    @classmethod
    def parse(cls, text: str, setting: str) -> DayRange:
        try:
            first, last = (int(part) for part in text.split("-"))
        except ValueError:
            raise ImproperlyConfigured(
                f"{setting} must look like 1-10, not {text!r}."
            ) from None
        if not 1 <= first <= last <= 28:
            raise ImproperlyConfigured(
                f"{setting} must be days 1 to 28 in order (every month has "
                f"them), not {text!r}."
            )
        return cls(first, last)


@dataclass(frozen=True)
class PaymentRules:
    online_days: DayRange
    desk_days: DayRange
    unpaid_limit: int


def payment_rules() -> PaymentRules:
    return PaymentRules(
        online_days=DayRange.parse(
            settings.PORTAIL_ONLINE_PAYMENT_DAYS, "PORTAIL_ONLINE_PAYMENT_DAYS"
        ),
        desk_days=DayRange.parse(
            settings.PORTAIL_DESK_PAYMENT_DAYS, "PORTAIL_DESK_PAYMENT_DAYS"
        ),
        unpaid_limit=settings.PORTAIL_UNPAID_LIMIT,
    )
