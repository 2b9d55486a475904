"""What the demo shows, loaded once for the module (each test's changes are
rolled back)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from factures.models import Invoice, TariffBracket
from familles.models import Child, Family, Guardian, User
from paiements.accounts import family_account
from portail.dashboard import agent_day
from tests.helpers import give_totp, login, staff_login_with_totp

pytestmark = pytest.mark.django_db


def run_seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--allow-without-debug", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):  # noqa: ANN001, ANN201
    """The demo, loaded once for the tests of this module that only read it
    (each test's own changes are rolled back; the demo with the module)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield run_seed()
        transaction.set_rollback(True)


def test_seed_demo_loads_about_thirty_families_with_staff(demo, client):
    output = demo

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


def test_demo_logins_printed_by_seed_demo_work(demo, client):
    output = demo
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


def test_demo_invoices_come_in_every_state_and_some_families_are_blocked(demo):
    from paiements.rules import family_block_state

    states = {invoice.status for invoice in Invoice.objects.with_balance()}
    assert {"to_pay", "paid", "partly_paid", "cancelled"} <= states
    assert family_block_state(family=Family.objects.get(identifier="PB-000004")).blocked
    assert not family_block_state(
        family=Family.objects.get(identifier="PB-000001")
    ).blocked
    assert Invoice.objects.filter(family__identifier="PB-000001").unpaid().count() == 2


def test_the_demo_has_a_duplicate_for_the_agents_to_merge(demo):
    from fusions.duplicates import suspected_duplicates

    pairs = [
        {f.identifier for f in group.families}
        for group in suspected_duplicates()
        if len(group.families) > 1
    ]
    assert {"PB-000008", "PB-000031"} in pairs


def test_the_demo_has_a_family_with_credit_that_the_agent_can_see(demo, client):
    family = Family.objects.get(identifier="PB-000006")

    assert family_account(family).credit == 20
    agent = User.objects.get(username="agent")
    staff_login_with_totp(client, agent, "agent-demo-2026", give_totp(agent))
    response = client.get(f"/admin/paiements/payment/compte/{family.pk}/")
    assert response.status_code == 200
    assert "20,00" in response.content.decode()


def test_the_agents_home_page_answers_their_questions_on_the_demo(demo):
    agent = User.objects.get(username="agent")
    day = {section.key: section for section in agent_day(agent)}

    def figure(key: str, row: int, column: int = 0) -> str:
        return day[key].lines[row].cells[column][0]

    # How much was taken today (the demo's desk payments are of the day).
    assert figure("takings", -1) not in {"0,00\xa0€", ""}
    # How many families are blocked: every fifth one left three months unpaid.
    assert int(figure("blocked", 0)) >= 5
    # What waits for them: unpaid invoices of more than one age, reports.
    ages = [int(line.cells[0][0]) for line in day["unpaid"].lines[:-1]]
    assert sum(1 for count in ages if count) >= 2
    assert day["reports"].lines
    assert set(day) == {
        "takings",
        "unpaid",
        "blocked",
        "credits",
        "reports",
        "addresses",
        "runs",
    }
