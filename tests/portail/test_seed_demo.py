import datetime
from collections import Counter
from io import StringIO

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from factures.models import Attendance, CreditNote, Invoice, TariffBracket
from familles.models import ActivationCode, Child, Family, Guardian, User
from paiements.models import Allocation, Payment
from tests.clock import parse

pytestmark = pytest.mark.django_db

MODELS = [
    TariffBracket,
    Family,
    Guardian,
    Child,
    User,
    ActivationCode,
    EmailAddress,
    Attendance,
    Invoice,
    CreditNote,
    Payment,
    Allocation,
]


def snapshot() -> dict[str, list[tuple]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values_list())
        for model in MODELS
    }


def run_seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--allow-without-debug", stdout=out)
    return out.getvalue()


def test_seed_demo_twice_changes_nothing():
    first_output = run_seed()
    before = snapshot()

    second_output = run_seed()

    assert snapshot() == before
    assert first_output == second_output  # the same logins, the same code


def test_a_demo_loaded_in_an_earlier_month_is_left_as_it_is_and_says_so():
    with time_machine.travel(parse("2026-12-05T10:00")):
        run_seed()
    before = snapshot()

    err = StringIO()
    with time_machine.travel(parse("2027-01-04T10:00")):
        call_command(
            "seed_demo", "--allow-without-debug", stdout=StringIO(), stderr=err
        )

    assert "make demo-reset" in err.getvalue()
    assert snapshot() == before


def test_logins_only_prints_the_logins_and_the_window_and_loads_nothing():
    with time_machine.travel(parse("2026-12-05T10:00")):
        run_seed()
    before = snapshot()

    with time_machine.travel(parse("2026-12-15T10:00")):
        out = StringIO()
        call_command("seed_demo", "--allow-without-debug", "--logins-only", stdout=out)

    assert snapshot() == before
    assert "PB-000001" in out.getvalue() and "activation code " in out.getvalue()
    assert "closed today (15/12): it opens on 01/01/2027" in out.getvalue()
    assert "PORTAIL_ONLINE_PAYMENT_DAYS=1-31 make run" in out.getvalue()


def test_seed_demo_refuses_to_run_without_debug():
    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        call_command("seed_demo")
    assert Family.objects.count() == 0


# Days spread over more than a year: the online window open and closed, its
# last minute and the next day's first, both ends of a school year and of
# summer, a new year in Guadeloupe that is already the next in UTC, a leap day.
DEMO_DAYS = [
    "2026-01-05T09:00",
    "2026-02-11T00:00",
    "2026-03-10T23:59",
    "2026-04-22T15:00",
    "2026-05-01T08:00",
    "2026-07-04T12:00",
    "2026-07-31T18:00",
    "2026-08-15T12:00",
    "2026-09-01T07:30",
    "2026-10-10T20:00",
    "2026-11-30T12:00",
    "2026-12-31T23:30",
    "2028-02-29T10:00",
]


@pytest.mark.parametrize("day", DEMO_DAYS)
def test_the_readmes_promises_hold_whatever_the_day(day):
    from fusions.duplicates import suspected_duplicates
    from paiements.rules import card_payment_decision, family_block_state

    moment = parse(day)
    with time_machine.travel(moment, tick=True):
        output = run_seed()
        first = Family.objects.get(identifier="PB-000001")
        owed = list(Invoice.objects.filter(family=first).unpaid())
        in_window = moment.date().replace(day=5)
        decision = card_payment_decision(family=first, invoices=owed, today=in_window)
        blocked = family_block_state(family=Family.objects.get(identifier="PB-000004"))
        duplicates = [
            {f.identifier for f in group.families} for group in suspected_duplicates()
        ]

    # The history ends with the last finished month.
    periods = sorted(set(Invoice.objects.values_list("period", flat=True)))
    last_month = (moment.date().replace(day=1) - datetime.timedelta(days=1)).replace(
        day=1
    )
    expected_last = last_month if last_month.month not in (7, 8) else None
    if expected_last is not None:
        assert periods[-1] == expected_last
    assert not Attendance.objects.filter(date__gte=moment.date()).exists()
    # PB-000001 owes exactly two invoices and may pay both in one payment.
    assert len(owed) == 2 and all(invoice.due > 0 for invoice in owed)
    assert decision.allowed, decision.reason
    # PB-000004 is blocked online, PB-000030 has only its activation code.
    assert blocked.blocked and blocked.unpaid_count == 3
    newcomer = User.objects.get(username="PB-000030")
    assert not newcomer.has_usable_password()
    assert "activation code " in output and "(none" not in output
    # PB-000008 and PB-000031 are the suspected duplicates.
    assert {"PB-000008", "PB-000031"} in duplicates
    # Every invoice state is shown, and siblings have different first names.
    states = {invoice.status for invoice in Invoice.objects.with_balance()}
    assert {"to_pay", "paid", "partly_paid", "cancelled"} <= states
    names = Counter(Child.objects.values_list("family_id", "first_name"))
    assert max(names.values()) == 1
