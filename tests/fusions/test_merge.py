"""Merging duplicate families."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from factures.models import Attendance, Invoice
from familles.models import (
    AddressChangeRequest,
    Child,
    Family,
    FamilyMerge,
    Guardian,
)
from familles.roles import ADMIN_GROUP, AGENT_GROUP
from fusions.duplicates import suspected_duplicates
from fusions.services import family_merge
from paiements.accounts import family_account
from paiements.credit import refund_record
from paiements.models import CheckoutSession, Payment, Refund
from paiements.services import payment_record_desk
from tests.factories import (
    PARENT_PASSWORD,
    CheckoutSessionFactory,
    ChildFactory,
    FamilyFactory,
    GuardianFactory,
    InvoiceFactory,
    ParentFactory,
    StaffFactory,
)
from tests.factures.conftest import attend
from tests.helpers import error_text, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(canteen):  # noqa: ANN001, ANN201
    """Two accounts of the same household: the same mother, the same child,
    plus a guardian and a child only the second one has."""
    keep = FamilyFactory(name="Dorville")
    other = FamilyFactory(name="Dorville")
    GuardianFactory(
        family=keep, first_name="Josiane", email="josiane@example.org", phone_home=""
    )
    GuardianFactory(
        family=other,
        first_name="Josiane",
        email="JOSIANE@example.org",
        phone_home="0590 11 22 33",
    )
    GuardianFactory(family=other, first_name="Frantz", email="frantz@example.org")
    born = datetime.date(2017, 5, 4)
    kenzo = ChildFactory(family=keep, first_name="Kenzo", birth_date=born)
    kenzo_again = ChildFactory(family=other, first_name="Kenzo", birth_date=born)
    ChildFactory(family=other, first_name="Inaya", birth_date=datetime.date(2019, 1, 2))
    attend(kenzo, canteen, 1, 2)
    attend(kenzo_again, canteen, 2, 3)  # the 2nd recorded on both accounts
    ParentFactory(family=keep)
    ParentFactory(family=other)
    return keep, other


def money(*families):  # noqa: ANN002, ANN201
    ids = [f.pk for f in families]
    invoices = sum(
        Invoice.objects.filter(family_id__in=ids).values_list("total", flat=True),
        Decimal(0),
    )
    payments = sum(
        Payment.objects.filter(family_id__in=ids).values_list("amount", flat=True),
        Decimal(0),
    )
    return invoices, payments


def test_overlapping_guardians_and_children_are_kept_once(twins, staff):
    keep, other = twins

    family_merge(keep=keep, duplicates=[other], agent=staff)

    guardians = Guardian.objects.filter(family=keep)
    assert sorted(g.first_name for g in guardians) == ["Frantz", "Josiane"]
    josiane = guardians.get(first_name="Josiane")
    assert str(josiane.phone_home) == "+590590112233"  # the missing number is taken
    children = Child.objects.filter(family=keep)
    assert sorted(c.first_name for c in children) == ["Inaya", "Kenzo"]
    kenzo = children.get(first_name="Kenzo")
    assert sorted(a.date.day for a in Attendance.objects.filter(child=kenzo)) == [
        1,
        2,
        3,
    ]
    other.refresh_from_db()
    assert other.merged_into == keep and other.merged_at is not None
    merge = FamilyMerge.objects.get()
    assert merge.merged_by == staff and merge.merged == other


def test_money_moves_whole_and_totals_are_kept(twins, staff):
    keep, other = twins
    InvoiceFactory(
        family=keep, period=datetime.date(2026, 9, 1), total=Decimal("30.00")
    )
    theirs = InvoiceFactory(
        family=other, period=datetime.date(2026, 9, 1), total=Decimal("12.60")
    )
    payment_record_desk(
        family=other,
        method=Payment.Method.CASH,
        amount=Decimal("12.60"),
        allocations={theirs.pk: Decimal("12.60")},
        agent=staff,
    )
    before = money(keep, other)

    family_merge(keep=keep, duplicates=[other], agent=staff)

    assert money(keep) == before
    assert money(other) == (0, 0)
    assert (
        Invoice.objects.filter(family=keep, period=datetime.date(2026, 9, 1)).count()
        == 2
    )
    assert Invoice.objects.with_balance().get(pk=theirs.pk).status == "paid"


def test_credit_and_refunds_follow_the_money(twins, staff):
    keep, other = twins
    payment = payment_record_desk(
        family=other,
        method=Payment.Method.CASH,
        amount=Decimal("20.00"),
        allocations={},
        agent=staff,
        keep_as_credit="Avance",
    )
    refund = refund_record(
        payment=payment,
        amount=Decimal("5.00"),
        method=Refund.Method.CASH,
        reason="Départ",
        agent=staff,
    )

    family_merge(keep=keep, duplicates=[other], agent=staff)

    assert Refund.objects.get(pk=refund.pk).family == keep
    assert family_account(keep).credit == Decimal("15.00")
    assert family_account(other).credit == Decimal("0.00")


def test_an_open_card_session_and_a_pending_address_change_follow(twins, staff):
    keep, other = twins
    invoice = InvoiceFactory(family=other)
    checkout = CheckoutSessionFactory(family=other, amount=invoice.total)
    request = AddressChangeRequest.objects.create(
        family=other,
        address_line1="1 rue Neuve",
        postal_code="97170",
        city="Petit-Bourg",
        request_key="r" * 32,
    )

    family_merge(keep=keep, duplicates=[other], agent=staff)

    assert CheckoutSession.objects.get(pk=checkout.pk).family == keep
    assert AddressChangeRequest.objects.get(pk=request.pk).family == keep


def test_the_merged_login_is_disabled_and_told_which_identifier_to_use(twins, staff):
    keep, other = twins
    browser = Client()
    login(browser, other.identifier, PARENT_PASSWORD)
    assert browser.get(reverse("home")).status_code == 200

    family_merge(keep=keep, duplicates=[other], agent=staff)

    assert browser.get(reverse("home")).status_code == 302  # its session is over
    again = Client()
    response = login(again, other.identifier, PARENT_PASSWORD)
    assert keep.identifier in error_text(response)
    assert "_auth_user_id" not in again.session
    login(again, keep.identifier, PARENT_PASSWORD)
    assert again.get(reverse("factures:list")).status_code == 200


def test_a_family_cannot_be_merged_twice_or_into_itself(twins, staff):
    keep, other = twins
    with pytest.raises(ValidationError):
        family_merge(keep=keep, duplicates=[keep], agent=staff)
    family_merge(keep=keep, duplicates=[other], agent=staff)
    with pytest.raises(ValidationError):
        family_merge(keep=keep, duplicates=[other], agent=staff)
    assert FamilyMerge.objects.count() == 1


def test_suspected_duplicates_are_listed_and_merged_in_two_clicks(twins, staff_client):
    keep, other = twins
    staff_client.get(reverse("admin:familles_family_changelist"))
    groups = suspected_duplicates()
    assert any(set(g.families) == {keep, other} for g in groups)
    listing = staff_client.get(reverse("admin:familles_family_duplicates"))
    assert "josiane@example.org" in listing.text

    preview = staff_client.get(
        reverse("admin:familles_family_merge"),
        {"ids": f"{keep.pk},{other.pk}", "keep": keep.pk},
    )
    assert preview.status_code == 200
    assert "Kenzo" in preview.text and "Frantz" in preview.text
    assert (
        Family.objects.get(pk=other.pk).merged_into is None
    )  # a preview changes nothing
    done = staff_client.post(
        reverse("admin:familles_family_merge"),
        {"ids": f"{keep.pk},{other.pk}", "keep": keep.pk, "confirm": "1"},
    )

    assert done.status_code == 302
    assert Family.objects.get(pk=other.pk).merged_into == keep
    assert not any(other in g.families for g in suspected_duplicates())


def test_an_agent_cannot_merge_run_invoicing_or_manage_staff(twins):
    agent = StaffFactory()
    agent.groups.add(Group.objects.get(name=AGENT_GROUP))
    admin = StaffFactory()
    admin.groups.add(Group.objects.get(name=ADMIN_GROUP))

    assert agent.has_perm("paiements.add_payment")
    assert agent.has_perm("signalements.change_report")
    assert not agent.has_perm("familles.merge_family")
    assert not agent.has_perm("factures.add_invoice")
    assert not agent.has_perm("factures.change_price")
    assert not agent.has_perm("familles.change_user")
    assert admin.has_perm("familles.merge_family")
    assert admin.has_perm("factures.add_invoice")
    assert admin.has_perm("factures.change_price")
    assert admin.has_perm("familles.change_user")


def test_the_merge_page_refuses_an_agent(client, twins):
    from tests.conftest import STAFF_PASSWORD
    from tests.helpers import give_totp, staff_login_with_totp

    keep, other = twins
    agent = StaffFactory()
    agent.groups.add(Group.objects.get(name=AGENT_GROUP))
    staff_login_with_totp(client, agent, STAFF_PASSWORD, give_totp(agent))

    response = client.post(
        reverse("admin:familles_family_merge"),
        {"ids": f"{keep.pk},{other.pk}", "keep": keep.pk, "confirm": "1"},
    )

    assert response.status_code == 403
    assert Family.objects.get(pk=other.pk).merged_into is None


def test_history_records_who_merged_through_the_admin(twins, staff, staff_client):
    keep, other = twins

    staff_client.post(
        reverse("admin:familles_family_merge"),
        {"ids": f"{keep.pk},{other.pk}", "keep": keep.pk, "confirm": "1"},
    )

    record = Family.history.filter(id=other.pk).latest("history_date")
    assert record.merged_into_id == keep.pk
    assert record.history_user == staff
    history_page = staff_client.get(
        reverse("admin:familles_family_history", args=[other.pk])
    )
    assert history_page.status_code == 200


def test_a_merge_ends_the_merged_logins_sessions_for_good(
    twins, staff, django_capture_on_commit_callbacks
):
    from django.contrib.sessions.models import Session

    keep, other = twins
    browser = Client()
    login(browser, other.identifier, PARENT_PASSWORD)
    assert Session.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        family_merge(keep=keep, duplicates=[other], agent=staff)
    other.logins.update(is_active=True)  # an agent turns the login on again

    assert Session.objects.count() == 0
    assert browser.get(reverse("home")).status_code == 302  # not logged in
