"""The payment rules, in one place. Pages, e-mails, PDFs and the help page
read the numbers from here; the commune sets them in settings
(PORTAIL_ONLINE_PAYMENT_DAYS, PORTAIL_DESK_PAYMENT_DAYS, PORTAIL_UNPAID_LIMIT).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache, partial

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from factures.models import Invoice
from factures.periods import next_month
from familles.models import Family
from paiements.accounts import covered_by_credit, family_credit, family_credits
from paiements.models import PaymentOverride
from portail.typography import first_of_month, french_date


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
        if not 1 <= first <= last <= 31:
            raise ImproperlyConfigured(
                f"{setting} must be days of the month in order, not {text!r}."
            )
        return cls(first, last)


@dataclass(frozen=True)
class PaymentRules:
    online_days: DayRange
    desk_days: DayRange
    unpaid_limit: int


def payment_rules() -> PaymentRules:
    return _payment_rules(
        settings.PORTAIL_ONLINE_PAYMENT_DAYS,
        settings.PORTAIL_DESK_PAYMENT_DAYS,
        settings.PORTAIL_UNPAID_LIMIT,
    )


@lru_cache(maxsize=16)
def _payment_rules(online: str, desk: str, unpaid_limit: int) -> PaymentRules:
    # Parsed once per value of the settings (the invoicing run asks once per
    # family).
    return PaymentRules(
        online_days=DayRange.parse(online, "PORTAIL_ONLINE_PAYMENT_DAYS"),
        desk_days=DayRange.parse(desk, "PORTAIL_DESK_PAYMENT_DAYS"),
        unpaid_limit=unpaid_limit,
    )


# --- The decision: may this family pay these invoices by card today? -----------


@dataclass(frozen=True)
class BlockState:
    """Whether the family may pay online at all, and why (French text)."""

    blocked: bool
    reason: str
    manual: bool
    unpaid_count: int
    # The same, said to an agent (the desk, the family's account).
    staff_reason: str = ""


@dataclass(frozen=True)
class CardDecision:
    allowed: bool
    reason: str  # French, shown as it is on the pages
    block: BlockState
    window_open: bool
    opens_on: datetime.date  # today while the window is open


@dataclass(frozen=True)
class Days:
    """The dates of a window of days of a month, both ends included."""

    first: datetime.date
    last: datetime.date


def window(today: datetime.date, days: DayRange) -> Days:
    """The window of `days` open on `today`, or else the next one (a day
    beyond a short month's end is its last day: 31 → 30)."""
    month = today.replace(day=1)
    if today.day > days.last:
        month = next_month(month)
    last_of_month = next_month(month) - datetime.timedelta(days=1)

    def day(number: int) -> datetime.date:
        return min(month + datetime.timedelta(days=number - 1), last_of_month)

    return Days(day(days.first), day(days.last))


def next_online_window(today: datetime.date, rules: PaymentRules) -> datetime.date:
    """The first day of the next online window (today if it is open)."""
    if today.day in rules.online_days:
        return today
    return window(today, rules.online_days).first


def family_owing(family: Family) -> QuerySet[Invoice]:
    """The family's open invoices (to pay, partly paid, disputed) with their
    amounts, oldest first: the order in which credit and money at the desk
    pay them, and the pages list them."""
    return (
        Invoice.objects.filter(family_id=family.pk).owing().order_by("period", "number")
    )


def family_unpaid(
    *, family: Family, invoices: Iterable[Invoice] | None = None
) -> list[Invoice]:
    """The family's unpaid invoices, oldest first: the same as
    `Invoice.objects.unpaid()`, read with `owing()` (cheaper for one
    family's few invoices than the state's SQL). `invoices`: the family's
    invoices read with `family_owing()`, when the caller has them."""
    if invoices is None:
        invoices = family_owing(family)
    return [invoice for invoice in invoices if invoice.state in Invoice.UNPAID_STATES]


def unpaid_after_credit(unpaid: list[Invoice], credit: Decimal) -> list[Invoice]:
    """The unpaid invoices (oldest first) that the family's credit does not
    pay in full: what the block and the reminders count. The credit still
    waits for an agent to allocate it (`paiements.credit`)."""
    if credit <= 0:
        return unpaid
    covered = covered_by_credit(unpaid, credit)
    return [invoice for invoice in unpaid if invoice.pk not in covered]


def unpaid_after_credits(credits: dict[int, Decimal]) -> dict[int, list[Invoice]]:
    """`unpaid_after_credit` for many families at once (their credit by
    family), their invoices read in one query: the reminders and the block
    look at every family holding credit."""
    unpaid: dict[int, list[Invoice]] = {pk: [] for pk in credits}
    for invoice in (
        Invoice.objects.filter(family_id__any=list(credits))
        .owing()
        .order_by("family_id", "period", "number")
    ):
        if invoice.state in Invoice.UNPAID_STATES:
            unpaid[invoice.family_id].append(invoice)
    return {
        pk: unpaid_after_credit(invoices, credits[pk])
        for pk, invoices in unpaid.items()
    }


def is_blocked(*, unpaid_count: int, override: str | None) -> bool:
    """Rules 4 and 6, the one place they are decided: an agent's hand-set
    state (`PaymentOverride.State`) wins until cleared; otherwise more than
    `unpaid_limit` unpaid invoices block card payment."""
    if override is not None:
        return override == PaymentOverride.State.BLOCKED
    return unpaid_count > payment_rules().unpaid_limit


def family_block_state(
    *,
    family: Family,
    unpaid: list[Invoice] | None = None,
    credit: Decimal | None = None,
) -> BlockState:
    """Rule 4 (more than `unpaid_limit` unpaid invoices block card payments;
    disputed invoices do not count) and rule 6 (an agent's hand-set state wins
    until cleared). `unpaid`: the family's unpaid invoices, and `credit`
    its credit, when the caller has just read them."""
    rules = payment_rules()
    if unpaid is None:
        unpaid = family_unpaid(family=family)
    if credit is None:
        credit = family_credit(family)
    unpaid_count = len(unpaid_after_credit(unpaid, credit))
    # At most one override is active (`paymentoverride_one_active`): no
    # order to ask for, and only the two fields the page shows.
    state, reason = next(
        iter(
            PaymentOverride.objects.filter(family_id=family.pk, cleared_at=None)
            .order_by()
            .values_list("state", "reason")[:1]
        ),
        (None, ""),
    )
    blocked = is_blocked(unpaid_count=unpaid_count, override=state)
    if state is not None:
        if blocked:
            return BlockState(
                blocked=True,
                reason=_(
                    "The canteen service has suspended online payment for your "
                    "family: %(reason)s"
                )
                % {"reason": reason},
                manual=True,
                unpaid_count=unpaid_count,
                staff_reason=_(
                    "Online payment suspended by hand for this family: %(reason)s"
                )
                % {"reason": reason},
            )
        return BlockState(
            blocked=False, reason="", manual=True, unpaid_count=unpaid_count
        )
    if blocked:
        return BlockState(
            blocked=True,
            reason=ngettext(
                "Your family has %(count)s unpaid invoices: online payment is "
                "possible for at most %(limit)s unpaid invoice. Please pay at the "
                "canteen desk.",
                "Your family has %(count)s unpaid invoices: online payment is "
                "possible for at most %(limit)s unpaid invoices. Please pay at the "
                "canteen desk.",
                rules.unpaid_limit,
            )
            % {"count": unpaid_count, "limit": rules.unpaid_limit},
            manual=False,
            unpaid_count=unpaid_count,
            staff_reason=_(
                "Online payment blocked for this family: %(count)s unpaid invoices "
                "(limit %(limit)s). Money taken at the desk unblocks it once "
                "%(limit)s or fewer are left unpaid."
            )
            % {"count": unpaid_count, "limit": rules.unpaid_limit},
        )
    return BlockState(blocked=False, reason="", manual=False, unpaid_count=unpaid_count)


def card_payment_decision(
    *,
    family: Family,
    invoices: Iterable[Invoice],
    today: datetime.date | None = None,
    unpaid: list[Invoice] | None = None,
    credit: Decimal | None = None,
) -> CardDecision:
    """May `family` pay `invoices` by card on `today` (the commune's local
    date)? The one place where rules 1, 3, 4, 5 and 6 are decided.
    `unpaid`: the family's unpaid invoices (`family_unpaid`), and `credit`
    its credit, when the caller has just read them; else they are read
    here."""
    rules = payment_rules()
    today = today or timezone.localdate()
    if unpaid is None:
        unpaid = family_unpaid(family=family)
    block = family_block_state(family=family, unpaid=unpaid, credit=credit)
    opens = next_online_window(today, rules)
    decision = partial(
        CardDecision, block=block, window_open=opens == today, opens_on=opens
    )
    if today.day not in rules.online_days:
        return decision(
            allowed=False,
            reason=_(
                "Online payment is open from the %(first)s to the %(last)s of each "
                "month. It opens again on %(date)s."
            )
            % {
                "first": day_of_month(rules.online_days.first),
                "last": rules.online_days.last,
                "date": french_date(opens),
            },
        )
    if block.blocked:
        return decision(allowed=False, reason=block.reason)
    invoices = list(invoices)
    if not invoices:
        return decision(allowed=False, reason=_("Choose at least one invoice to pay."))
    payable = {invoice.pk for invoice in unpaid if invoice.due > 0}
    for invoice in invoices:
        if invoice.family_id != family.pk or invoice.pk not in payable:
            return decision(
                allowed=False,
                reason=_("Invoice %(number)s cannot be paid online.")
                % {"number": invoice.number},
            )
    return decision(allowed=True, reason="")


def day_of_month(day: int) -> str:
    """French ordinal for the first day only: 1 → 1er, 10 → 10."""
    return first_of_month(day)


def block_candidates() -> QuerySet[Family]:
    """Families the rules may block, found in one query: more unpaid invoices
    than the limit, or blocked by hand. `family_block_state` decides. The
    unpaid invoices are counted in one pass over the open ones (the partial
    index `invoice_open`), not once per family."""
    from django.db.models import Count, Q

    over_limit = (
        Invoice.objects.unpaid()
        .order_by()
        .values("family_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=payment_rules().unpaid_limit)
        .values("family_id")
    )
    by_hand = PaymentOverride.objects.filter(
        cleared_at__isnull=True, state=PaymentOverride.State.BLOCKED
    ).values("family_id")
    return Family.objects.filter(
        Q(pk__in=over_limit) | Q(pk__in=by_hand), merged_into__isnull=True
    )


def families_blocked(family_ids: Iterable[int]) -> dict[int, bool]:
    """Whether each family is blocked (`is_blocked`), in two queries for any
    number of families."""
    from django.db.models import Count

    family_ids = list(family_ids)
    unpaid = dict(
        Invoice.objects.filter(family_id__any=family_ids)
        .unpaid()
        .values("family_id")
        .annotate(n=Count("pk"))
        .values_list("family_id", "n")
    )
    overrides = dict(
        PaymentOverride.objects.filter(
            family_id__any=family_ids, cleared_at__isnull=True
        ).values_list("family_id", "state")
    )
    # A credit can only lower a count: it is looked at for the families
    # the count alone would block.
    over = [pk for pk in family_ids if unpaid.get(pk, 0) > payment_rules().unpaid_limit]
    credits = family_credits(over) if over else {}
    for pk, counted in unpaid_after_credits(credits).items():
        unpaid[pk] = len(counted)
    return {
        pk: is_blocked(unpaid_count=unpaid.get(pk, 0), override=overrides.get(pk))
        for pk in family_ids
    }


def blocked_families() -> list[tuple[Family, BlockState]]:
    """Families that cannot pay by card, with the reason (one place decides:
    `family_block_state`)."""
    candidates = block_candidates().order_by("identifier")
    states = [(family, family_block_state(family=family)) for family in candidates]
    return [(family, state) for family, state in states if state.blocked]
