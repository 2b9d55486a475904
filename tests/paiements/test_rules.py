"""The payment rules at their edges, on the commune's local date."""

import datetime

import pytest
import time_machine

from paiements.models import PaymentOverride
from paiements.rules import (
    card_payment_decision,
    families_blocked,
    family_block_state,
    next_online_window,
    payment_rules,
)
from tests.factories import (
    FamilyFactory,
    InvoiceDisputeFactory,
    InvoiceFactory,
    PaymentFactory,
    PaymentOverrideFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def family():  # noqa: ANN201
    return FamilyFactory()


def invoices_for(family, count):  # noqa: ANN001, ANN201
    return [InvoiceFactory(family=family) for _ in range(count)]


def decide(family, invoices, when: str):  # noqa: ANN001, ANN201
    with time_machine.travel(when, tick=False):
        return card_payment_decision(family=family, invoices=invoices)


@pytest.mark.parametrize(
    ("when", "allowed"),
    [
        ("2026-11-30 23:59 -04:00", False),  # the last day of the month before
        ("2026-12-01 00:00 -04:00", True),  # the 1st at local midnight
        ("2026-12-10 23:59 -04:00", True),  # the 10th, last minute
        ("2026-12-11 00:00 -04:00", False),  # the 11th at 00:00 (04:00 UTC)
        (
            "2026-12-11 03:59 +00:00",
            True,
        ),  # already the 11th in UTC, still the 10th here
        ("2026-12-01 03:59 +00:00", False),  # 1 December in UTC, 30 November here
        ("2026-12-31 23:30 -04:00", False),  # already 1 January in UTC
        ("2027-01-01 00:00 -04:00", True),  # a new year's first minute here
        ("2028-02-29 12:00 -04:00", False),  # a leap day
    ],
)
def test_card_payment_window_follows_the_local_date(family, when, allowed):
    invoices = invoices_for(family, 1)

    decision = decide(family, invoices, when)

    assert decision.allowed is allowed
    if not allowed:
        assert "du 1er au 10 de chaque mois" in decision.reason


def test_outside_the_window_the_reason_says_when_it_opens_again(family):
    decision = decide(family, invoices_for(family, 1), "2026-12-11 09:00 -04:00")

    assert "1er janvier 2027" in decision.reason
    assert decision.opens_on == datetime.date(2027, 1, 1)
    assert not decision.window_open


@pytest.mark.parametrize(
    ("when", "opens_on"),
    [
        ("2026-12-31 23:30 -04:00", datetime.date(2027, 1, 1)),
        ("2028-02-29 12:00 -04:00", datetime.date(2028, 3, 1)),
        ("2028-02-11 00:00 -04:00", datetime.date(2028, 3, 1)),
        ("2027-02-28 23:59 -04:00", datetime.date(2027, 3, 1)),
    ],
)
def test_the_window_opens_again_on_the_next_months_first(family, when, opens_on):
    decision = decide(family, invoices_for(family, 1), when)

    assert decision.opens_on == opens_on
    assert not decision.allowed


@pytest.mark.parametrize(("count", "allowed"), [(1, True), (2, True), (3, False)])
def test_more_than_two_unpaid_invoices_block_card_payment(family, count, allowed):
    invoices = invoices_for(family, count)

    decision = decide(family, invoices[:2], "2026-12-05 10:00 -04:00")

    assert decision.allowed is allowed
    assert decision.block.blocked is not allowed
    if not allowed:
        assert "3 factures impayées" in decision.reason
        assert "guichet" in decision.reason


def test_two_unpaid_invoices_are_paid_in_one_payment(family):
    invoices = invoices_for(family, 2)

    assert decide(family, invoices, "2026-12-05 10:00 -04:00").allowed


def test_a_disputed_invoice_is_not_payable_and_does_not_count(family):
    invoices = invoices_for(family, 3)
    InvoiceDisputeFactory(invoice=invoices[0], reason="Montant erroné")

    assert not family_block_state(family=family).blocked
    assert decide(family, invoices[1:], "2026-12-05 10:00 -04:00").allowed
    refused = decide(family, [invoices[0]], "2026-12-05 10:00 -04:00")
    assert not refused.allowed
    assert invoices[0].number in refused.reason


def test_the_manual_block_wins_over_the_rule_until_cleared(family):
    invoices = invoices_for(family, 1)
    override = PaymentOverrideFactory(
        family=family, state=PaymentOverride.State.BLOCKED, reason="Chèque impayé"
    )

    blocked = decide(family, invoices, "2026-12-05 10:00 -04:00")
    override.cleared_at = override.created_at
    override.save()
    cleared = decide(family, invoices, "2026-12-05 10:00 -04:00")

    assert not blocked.allowed and "Chèque impayé" in blocked.reason
    assert blocked.block.manual
    assert cleared.allowed


def test_the_manual_unblock_wins_over_the_unpaid_limit(family):
    invoices = invoices_for(family, 4)
    PaymentOverrideFactory(
        family=family, state=PaymentOverride.State.ALLOWED, reason="Échéancier accordé"
    )

    assert decide(family, invoices[:1], "2026-12-05 10:00 -04:00").allowed


def test_another_familys_invoice_is_refused(family):
    other = InvoiceFactory()

    decision = decide(family, [other], "2026-12-05 10:00 -04:00")

    assert not decision.allowed


def test_nothing_selected_is_refused(family):
    assert not decide(family, [], "2026-12-05 10:00 -04:00").allowed


def test_the_commune_can_change_the_numbers(family, settings):
    settings.PORTAIL_ONLINE_PAYMENT_DAYS = "3-12"
    settings.PORTAIL_UNPAID_LIMIT = 3
    invoices = invoices_for(family, 3)

    assert decide(family, invoices, "2026-12-12 10:00 -04:00").allowed
    assert not decide(family, invoices, "2026-12-02 10:00 -04:00").allowed
    rules = payment_rules()
    assert next_online_window(datetime.date(2026, 12, 2), rules) == datetime.date(
        2026, 12, 3
    )


def test_a_paid_invoice_is_not_unpaid(family):
    invoices = invoices_for(family, 3)
    PaymentFactory(family=family, allocations={invoices[0]: "30.00"})

    assert not family_block_state(family=family).blocked


def test_the_batch_block_states_agree_with_the_one_family_rule():
    """`families_blocked` (the invoicing run's two queries) decides as
    `family_block_state` does, family by family."""
    over_limit, at_limit, disputed, hand_blocked, hand_allowed, none = (
        FamilyFactory() for _ in range(6)
    )
    invoices_for(over_limit, 3)
    invoices_for(at_limit, 2)
    for invoice in invoices_for(disputed, 3)[:1]:
        InvoiceDisputeFactory(invoice=invoice, reason="Montant erroné")
    PaymentOverrideFactory(
        family=hand_blocked, state=PaymentOverride.State.BLOCKED, reason="Chèque"
    )
    invoices_for(hand_allowed, 4)
    PaymentOverrideFactory(
        family=hand_allowed, state=PaymentOverride.State.ALLOWED, reason="Échéancier"
    )
    families = [over_limit, at_limit, disputed, hand_blocked, hand_allowed, none]

    batch = families_blocked(f.pk for f in families)

    assert batch == {f.pk: family_block_state(family=f).blocked for f in families}
    assert batch == {
        over_limit.pk: True,
        at_limit.pk: False,
        disputed.pk: False,
        hand_blocked.pk: True,
        hand_allowed.pk: False,
        none.pk: False,
    }
