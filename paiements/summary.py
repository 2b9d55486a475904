"""What a family's home page says about its money: what it owes now and by
when, whether it can pay online today (or why not, and the way out of a
block in numbers), its credit and refunds on their way, its last payment.

Reading only, from the rules (`paiements.rules`) and the account
(`paiements.accounts`): nothing here decides anything of its own."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from factures.models import Invoice
from factures.money import ZERO
from familles.models import Family
from paiements.accounts import family_credit
from paiements.models import Payment, Refund
from paiements.rules import (
    CardDecision,
    Days,
    card_payment_decision,
    family_owing,
    family_unpaid,
    payment_rules,
    unpaid_after_credit,
    window,
)


@dataclass(frozen=True)
class WayOut:
    """How a family blocked for its unpaid invoices can pay online again:
    settle `count` of them (the oldest first, `amount` in all) at the desk,
    open on `desk`'s days."""

    count: int
    invoices: list[Invoice]
    amount: Decimal
    desk: Days


@dataclass(frozen=True)
class MoneySummary:
    unpaid: list[Invoice]
    owed: Decimal  # what the unpaid invoices still wait for
    disputed: list[Invoice]  # frozen until their report is answered
    credit: Decimal
    refunds_on_their_way: list[Refund]
    decision: CardDecision
    online: Days  # the online window open today, or the next one
    desk: Days  # the desk's days open today, or the next ones
    desk_open: bool  # today is one of the desk's days
    way_out: WayOut | None
    last_payment: Payment | None
    invoices: list[Invoice] = field(default_factory=list)

    @property
    def can_pay(self) -> bool:
        """The Pay button: online payment open to this family today."""
        return self.decision.allowed


def family_money_summary(
    family: Family, *, today: datetime.date | None = None
) -> MoneySummary:
    """The home page's money, for `family` on `today` (local date)."""
    today = today or timezone.localdate()
    rules = payment_rules()
    invoices = list(family_owing(family))
    unpaid = family_unpaid(family=family, invoices=invoices)
    credit = family_credit(family)
    decision = card_payment_decision(
        family=family, invoices=unpaid, unpaid=unpaid, today=today, credit=credit
    )
    desk = window(today, rules.desk_days)
    way_out = None
    block = decision.block
    if block.blocked and not block.manual:
        counted = unpaid_after_credit(unpaid, credit)
        settle = counted[: max(len(counted) - rules.unpaid_limit, 0)]
        way_out = WayOut(
            count=len(settle),
            invoices=settle,
            amount=sum((invoice.due for invoice in settle), ZERO),
            desk=desk,
        )
    return MoneySummary(
        unpaid=unpaid,
        owed=sum((invoice.due for invoice in unpaid), ZERO),
        disputed=[i for i in invoices if i.state == Invoice.Status.DISPUTED],
        credit=credit,
        refunds_on_their_way=list(
            family.refunds.filter(status=Refund.Status.PENDING).order_by("created_at")
        ),
        decision=decision,
        online=window(today, rules.online_days),
        desk=desk,
        desk_open=desk.first <= today <= desk.last,
        way_out=way_out,
        last_payment=family.payments.filter(amount__gt=0)
        .order_by("-received_at", "-pk")
        .first(),
        invoices=invoices,
    )
