from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from factures.models import Attendance, CreditNote, Invoice, TariffBracket
from familles.models import ActivationCode, Child, Family, Guardian, User
from paiements.models import Allocation, Payment
from tests.helpers import login

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


def test_seed_demo_loads_about_thirty_families_with_staff(client):
    output = run_seed()

    assert Family.objects.count() == 31  # 30, and one registered twice
    assert Guardian.objects.count() >= 30
    assert Child.objects.count() >= 30
    assert TariffBracket.objects.count() == 4
    assert Family.objects.filter(bracket_assignments=None).count() == 0
    assert User.objects.get(username="admin").is_superuser
    agent = User.objects.get(username="agent")
    assert agent.is_staff and not agent.is_superuser
    assert agent.has_perm("familles.change_family")
    assert "PB-000001" in output and "admin" in output and "agent" in output


def test_seed_demo_twice_changes_nothing():
    first_output = run_seed()
    before = snapshot()

    second_output = run_seed()

    assert snapshot() == before
    assert first_output == second_output  # the same logins, the same code


def test_demo_logins_printed_by_seed_demo_work(client):
    output = run_seed()
    code = output.split("activation code ")[1].split()[0]

    login(client, "PB-000001", "cantine-demo-2026")
    assert client.session["_auth_user_id"] == str(
        User.objects.get(username="PB-000001").pk
    )
    client.logout()
    login(client, "PB-000030", code)
    assert client.session["_auth_user_id"] == str(
        User.objects.get(username="PB-000030").pk
    )


def test_demo_invoices_come_in_every_state_and_some_families_are_blocked():
    from paiements.rules import family_block_state

    run_seed()

    states = {invoice.status for invoice in Invoice.objects.with_balance()}
    assert {"to_pay", "paid", "partly_paid", "cancelled"} <= states
    assert family_block_state(family=Family.objects.get(identifier="PB-000004")).blocked
    assert not family_block_state(
        family=Family.objects.get(identifier="PB-000001")
    ).blocked
    assert Invoice.objects.filter(family__identifier="PB-000001").unpaid().count() == 2


def test_the_demo_has_a_duplicate_for_the_agents_to_merge():
    from familles.duplicates import suspected_duplicates

    run_seed()

    pairs = [
        {f.identifier for f in group.families}
        for group in suspected_duplicates()
        if len(group.families) > 1
    ]
    assert {"PB-000008", "PB-000031"} in pairs


def test_seed_demo_refuses_to_run_without_debug():
    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        call_command("seed_demo")
    assert Family.objects.count() == 0
