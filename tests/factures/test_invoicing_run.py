import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from factures.models import Attendance, BracketAssignment, Invoice, Price
from factures.services import invoice_issue_month
from paiements.models import BlockNotice
from tests.factories import ChildFactory, FamilyFactory, GuardianFactory, InvoiceFactory
from tests.factures.conftest import OCTOBER, attend

pytestmark = pytest.mark.django_db
NOVEMBER_TODAY = datetime.date(2026, 11, 26)


def run(period=OCTOBER, today=NOVEMBER_TODAY):  # noqa: ANN001, ANN201
    return invoice_issue_month(period=period, issued_by=None, today=today)


@pytest.fixture
def dorville(prices):  # noqa: ANN001, ANN201
    family = FamilyFactory(name="Dorville", bracket=prices["B"])
    GuardianFactory(family=family, email="josiane@example.org")
    return family


def test_one_invoice_per_family_one_line_per_child_and_activity(
    dorville, canteen, after_school
):
    kenzo = ChildFactory(family=dorville, first_name="Kenzo")
    inaya = ChildFactory(family=dorville, first_name="Inaya")
    attend(kenzo, canteen, 1, 2, 5, 6, 8)
    attend(kenzo, after_school, 1, 2)
    attend(inaya, canteen, 1, 2, 5)
    quiet_family = FamilyFactory()  # no attendance: no invoice
    ChildFactory(family=quiet_family)

    result = run()

    assert [invoice.family for invoice in result.created] == [dorville]
    invoice = result.created[0]
    lines = {
        (line.child_name.split()[0], line.label): line for line in invoice.lines.all()
    }
    assert set(lines) == {
        ("Kenzo", "Restauration scolaire"),
        ("Kenzo", "Garderie du soir"),
        ("Inaya", "Restauration scolaire"),
    }
    assert lines[("Kenzo", "Restauration scolaire")].quantity == 5
    assert lines[("Kenzo", "Restauration scolaire")].amount == Decimal("9.00")
    assert lines[("Kenzo", "Garderie du soir")].amount == Decimal("1.60")
    assert lines[("Inaya", "Restauration scolaire")].amount == Decimal("5.40")
    assert invoice.total == Decimal("16.00")
    assert invoice.period == OCTOBER
    assert invoice.family_identifier == dorville.identifier
    assert invoice.amount_due == Decimal("16.00")
    assert invoice.status == Invoice.Status.TO_PAY
    assert Attendance.objects.filter(invoice_line__invoice=invoice).count() == 10


def test_running_the_month_again_creates_nothing_twice(dorville, canteen):
    attend(ChildFactory(family=dorville), canteen, 1, 2)
    first = run()

    second = run()

    assert len(first.created) == 1
    assert second.created == []
    # The summary says why nothing was issued (it said 0 and 0).
    assert (first.already_invoiced, second.already_invoiced) == (0, 1)
    assert Invoice.objects.count() == 1


def test_a_family_whose_attendance_arrives_later_gets_its_invoice(
    dorville, canteen, prices
):
    attend(ChildFactory(family=dorville), canteen, 1)
    run()
    latecomer = FamilyFactory(bracket=prices["B"])
    attend(ChildFactory(family=latecomer), canteen, 3, 4)

    result = run()

    assert [invoice.family for invoice in result.created] == [latecomer]
    assert Invoice.objects.count() == 2


def test_numbers_follow_each_other_within_the_year(prices, canteen):
    families = [FamilyFactory(bracket=prices["B"]) for _ in range(3)]
    for family in families:
        attend(ChildFactory(family=family), canteen, 1)

    result = run()

    numbers = sorted(invoice.number for invoice in result.created)
    assert numbers == ["F2026-000001", "F2026-000002", "F2026-000003"]


def test_a_bracket_change_in_the_middle_of_the_month_bills_each_day_at_its_price(
    dorville, canteen, prices
):
    BracketAssignment.objects.create(
        family=dorville, bracket=prices["A"], valid_from=datetime.date(2026, 10, 15)
    )
    attend(ChildFactory(family=dorville, first_name="Kenzo"), canteen, 13, 14, 15, 16)

    invoice = run().created[0]

    lines = sorted(
        (line.bracket_label, line.quantity, line.unit_price)
        for line in invoice.lines.all()
    )
    assert lines == [
        ("Tranche A", 2, Decimal("1.00")),
        ("Tranche B", 2, Decimal("1.80")),
    ]
    assert invoice.total == Decimal("5.60")


def test_a_bracket_that_comes_back_in_the_month_bills_one_line_and_marks_each_day(
    dorville, canteen, prices
):
    """B, then A from the 10th, then B again from the 20th: the B days are one
    line, and each day is marked with the line of its own tariff."""
    for day, bracket in ((10, "A"), (20, "B")):
        BracketAssignment.objects.create(
            family=dorville,
            bracket=prices[bracket],
            valid_from=datetime.date(2026, 10, day),
        )
    attend(ChildFactory(family=dorville), canteen, 8, 9, 12, 22)

    invoice = run().created[0]

    billed = {
        day.day: label
        for day, label in Attendance.objects.values_list(
            "date", "invoice_line__bracket_label"
        )
    }
    assert billed == {8: "Tranche B", 9: "Tranche B", 12: "Tranche A", 22: "Tranche B"}
    assert sorted(
        (line.bracket_label, line.quantity) for line in invoice.lines.all()
    ) == [("Tranche A", 1), ("Tranche B", 3)]
    assert invoice.total == Decimal("6.40")


def test_a_price_change_applies_from_its_date(dorville, canteen, prices):
    Price.objects.create(
        bracket=prices["B"],
        activity=canteen,
        unit_price=Decimal("2.00"),
        valid_from=datetime.date(2026, 10, 20),
    )
    attend(ChildFactory(family=dorville), canteen, 19, 20)

    invoice = run().created[0]

    assert invoice.total == Decimal("3.80")


def test_a_child_who_left_is_billed_only_for_the_days_attended(dorville, canteen):
    stays = ChildFactory(family=dorville, first_name="Kenzo")
    left = ChildFactory(family=dorville, first_name="Inaya")
    attend(stays, canteen, 1, 2, 26, 27)
    attend(left, canteen, 1, 2)  # left the school after the 2nd

    october = run().created[0]
    attend(stays, canteen, 2, 3, month=datetime.date(2026, 11, 1))
    november = run(
        period=datetime.date(2026, 11, 1), today=datetime.date(2026, 12, 1)
    ).created[0]

    assert {
        line.child_name.split()[0]: line.quantity for line in october.lines.all()
    } == {
        "Kenzo": 4,
        "Inaya": 2,
    }
    assert [line.child_name.split()[0] for line in november.lines.all()] == ["Kenzo"]


def test_a_family_without_bracket_is_reported_and_the_others_are_invoiced(
    prices, canteen
):
    fine = FamilyFactory(bracket=prices["B"])
    without = FamilyFactory(bracket=False)
    attend(ChildFactory(family=fine), canteen, 1)
    attend(ChildFactory(family=without), canteen, 1)

    result = run()

    assert [invoice.family for invoice in result.created] == [fine]
    assert "Aucune tranche tarifaire" in result.errors[without.identifier]
    assert not Invoice.objects.filter(family=without).exists()
    assert (
        Attendance.objects.filter(child__family=without, invoice_line=None).count() == 1
    )


def test_a_missing_price_stops_that_family_only(dorville, after_school, prices):
    other = FamilyFactory(bracket=prices["A"])  # bracket A has no after-school price
    attend(ChildFactory(family=dorville), after_school, 1)
    attend(ChildFactory(family=other), after_school, 1)

    result = run()

    assert [invoice.family for invoice in result.created] == [dorville]
    assert "Aucun prix" in result.errors[other.identifier]


@pytest.mark.parametrize(
    "now",
    [
        "2026-10-31 23:59 -04:00",
        "2026-11-01 03:30 +00:00",
    ],  # both still 31 October in Guadeloupe
)
def test_a_month_is_invoiced_only_once_over_in_local_time(dorville, canteen, now):
    attend(ChildFactory(family=dorville), canteen, 1)

    with time_machine.travel(now, tick=False), pytest.raises(ValidationError) as error:
        invoice_issue_month(period=OCTOBER, issued_by=None)

    assert "n'est pas encore terminé" in " ".join(error.value.messages)
    assert Invoice.objects.count() == 0


def test_the_month_can_be_invoiced_from_local_midnight_on_the_first(dorville, canteen):
    attend(ChildFactory(family=dorville), canteen, 1)

    with time_machine.travel("2026-11-01 00:00 -04:00", tick=False):
        result = invoice_issue_month(period=OCTOBER, issued_by=None)

    assert len(result.created) == 1


def test_a_future_month_is_refused(dorville):
    with pytest.raises(ValidationError):
        run(period=datetime.date(2027, 1, 1))


def test_families_with_an_email_are_told_their_invoice_is_available(
    dorville, canteen, prices, django_capture_on_commit_callbacks
):
    GuardianFactory(family=dorville, email="second@example.org")
    no_email = FamilyFactory(bracket=prices["B"])
    GuardianFactory(family=no_email, email="")
    attend(ChildFactory(family=dorville), canteen, 1)
    attend(ChildFactory(family=no_email), canteen, 1)

    with django_capture_on_commit_callbacks(execute=True):
        run()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["josiane@example.org", "second@example.org"]
    assert "octobre 2026" in message.subject
    assert dorville.identifier in message.body
    assert message.alternatives  # an HTML part too


def test_invoice_month_command(dorville, canteen):
    attend(ChildFactory(family=dorville), canteen, 1)

    with time_machine.travel("2026-11-26 10:00 -04:00", tick=False):
        call_command("invoice_month", "2026-10")
        call_command("invoice_month", "2026-10")
        with pytest.raises(CommandError, match="2026-10"):
            call_command("invoice_month", "octobre")

    assert Invoice.objects.count() == 1


def test_the_run_tells_the_families_it_blocks_and_only_them(
    prices, canteen, django_capture_on_commit_callbacks
):
    """Two unpaid invoices are allowed; the run's third one blocks card
    payment, and that family alone gets the e-mail, once."""
    behind, up_to_date, told = (FamilyFactory(bracket=prices["B"]) for _ in range(3))
    for family in (behind, up_to_date, told):
        GuardianFactory(family=family, email=f"{family.identifier}@example.org")
        attend(ChildFactory(family=family), canteen, 1, 2)
    for _ in range(2):
        InvoiceFactory(family=behind)
        InvoiceFactory(family=told)
    BlockNotice.objects.create(family=told, blocked=True)  # already told
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        run()

    blocked_mail = [m for m in mail.outbox if "suspendu" in m.subject]
    assert [m.to for m in blocked_mail] == [[f"{behind.identifier}@example.org"]]
    assert BlockNotice.objects.get(family=behind).blocked is True
    assert not BlockNotice.objects.filter(family=up_to_date).exists()
    assert len([m for m in mail.outbox if "facture" in m.subject.lower()]) == 3


def fail_the_first_send(monkeypatch, *templates: str) -> list:  # noqa: ANN001
    """Make the first of the e-mails with these templates that a batch sends
    (through `familles.tasks.send_templated_or_log`) fail as a lost
    connection; returns the recipients of every attempt at them, in order."""
    import smtplib

    from familles import tasks

    real_send, calls = tasks.send_templated, []

    def send_failing_first(**kwargs):  # noqa: ANN003, ANN202
        if kwargs["template"] in templates:
            calls.append(kwargs["to"])
            if len(calls) == 1:
                raise smtplib.SMTPServerDisconnected("connexion perdue")
        return real_send(**kwargs)

    monkeypatch.setattr(tasks, "send_templated", send_failing_first)
    mail.outbox.clear()
    return calls


def test_an_invoice_e_mail_that_fails_does_not_stop_the_others(
    prices, canteen, monkeypatch
):
    families = [FamilyFactory(bracket=prices["B"]) for _ in range(3)]
    for family in families:
        GuardianFactory(family=family, email=f"{family.identifier}@example.org")
        attend(ChildFactory(family=family), canteen, 1)
    calls = fail_the_first_send(monkeypatch, "invoice_available")

    result = run()

    assert result.created_count == 3
    assert len(calls) == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c[0] for c in calls[1:])


def test_a_block_notice_that_fails_does_not_stop_the_others(
    prices, canteen, monkeypatch, django_capture_on_commit_callbacks
):
    behind = [FamilyFactory(bracket=prices["B"]) for _ in range(3)]
    for family in behind:
        GuardianFactory(family=family, email=f"{family.identifier}@example.org")
        attend(ChildFactory(family=family), canteen, 1)
        for _ in range(2):
            InvoiceFactory(family=family)
    calls = fail_the_first_send(monkeypatch, "payment_blocked", "payment_unblocked")

    with django_capture_on_commit_callbacks(execute=True):
        run()

    assert len(calls) == 3
    blocked_mail = [m for m in mail.outbox if "suspendu" in m.subject]
    assert sorted(m.to[0] for m in blocked_mail) == sorted(c[0] for c in calls[1:])
    assert all(BlockNotice.objects.get(family=f).blocked for f in behind)


def test_each_invoice_of_the_run_is_in_its_history_with_who_issued_it(
    dorville, canteen, staff
):
    attend(ChildFactory(family=dorville), canteen, 1, 2)

    result = invoice_issue_month(
        period=OCTOBER, issued_by=staff, today=datetime.date(2026, 11, 2)
    )

    (invoice,) = result.created
    (created,) = invoice.history.all()
    assert created.history_type == "+" and created.history_user == staff
    assert created.number == invoice.number and created.total == invoice.total


def a_meal(meals):  # noqa: ANN001, ANN201
    """The attendance row of one meal the run has read for a family (the
    days of each child and activity)."""
    (child_id, activity_id), days = next(iter(meals.items()))
    return Attendance.objects.filter(
        child_id=child_id, activity_id=activity_id, date=max(days)
    )


def while_grouping(monkeypatch, agent):  # noqa: ANN001, ANN201
    """Call `agent(meals)`, an agent's change in the admin, each time the run
    has grouped a family's meals, before its batch marks them. Returns what
    puts the run back as it is."""
    from factures import services

    real_group = services._group_meals

    def group_then_change(meals, tariffs, activities):  # noqa: ANN001, ANN202
        groups = real_group(meals, tariffs, activities)
        agent(meals)
        return groups

    monkeypatch.setattr(services, "_group_meals", group_then_change)
    return lambda: monkeypatch.setattr(services, "_group_meals", real_group)


def test_a_meal_changed_during_the_run_cancels_its_batch_with_a_message(
    prices, canteen, monkeypatch
):
    """An agent deletes a day while its batch is being invoiced: that batch
    is cancelled with a message, the batches before it keep their invoices,
    and running again invoices the rest."""
    from factures import services

    first, second = (FamilyFactory(bracket=prices["B"]) for _ in range(2))
    attend(ChildFactory(family=first), canteen, 1, 2)
    second_child = ChildFactory(family=second)
    attend(second_child, canteen, 1, 2, 5)
    monkeypatch.setattr(services, "INVOICING_BATCH", 1)

    def delete(meals):  # noqa: ANN001, ANN202
        if next(iter(meals))[0] == second_child.pk:
            a_meal(meals).delete()

    stop = while_grouping(monkeypatch, delete)

    with pytest.raises(ValidationError) as refused:
        run()

    assert refused.value.messages == [
        "Des fréquentations ont été modifiées pendant la facturation du mois\u00a0: "
        "1 facture a été émise, pas les autres. Relancez la facturation."
    ]
    assert list(Invoice.objects.values_list("family", flat=True)) == [first.pk]
    assert not Attendance.objects.filter(
        child__family=second, invoice_line__isnull=False
    ).exists()
    assert Attendance.objects.filter(child__family=second).count() == 3

    stop()
    assert run().created_count == 1
    assert Invoice.objects.get(family=second).lines.get().quantity == 3


@pytest.mark.parametrize("change", ["child", "activity"])
def test_a_meal_given_to_another_child_or_activity_during_the_run_is_not_billed(
    prices, canteen, after_school, monkeypatch, change
):
    """A day moved to a sibling, or to the after-school club, while its batch
    is being invoiced cancels the batch: even when it lands inside the run of
    days that the sibling's (or the club's) line bills, so that the batch
    still marks as many meals in all as it bills."""
    family = FamilyFactory(bracket=prices["B"])
    child, sibling = ChildFactory(family=family), ChildFactory(family=family)
    attend(child, canteen, 1, 2, 5)
    if change == "child":
        attend(sibling, canteen, 4, 6)
        moved = {"child": sibling}
    else:
        attend(child, after_school, 4, 6)
        moved = {"activity": after_school}
    fifth = Attendance.objects.filter(
        child=child, activity=canteen, date=OCTOBER.replace(day=5)
    )
    while_grouping(monkeypatch, lambda _meals: fifth.update(**moved))

    with pytest.raises(ValidationError):
        run()

    assert not Invoice.objects.exists()
    assert not Attendance.objects.filter(invoice_line__isnull=False).exists()


def test_a_meal_moved_during_the_run_is_not_billed_where_it_was(
    prices, canteen, monkeypatch
):
    """An agent moves an unbilled day to another date while its batch is
    being invoiced: the batch is cancelled, nothing is billed for the old
    date, and running again bills the day where it now is."""
    family = FamilyFactory(bracket=prices["B"])
    attend(ChildFactory(family=family), canteen, 1, 2, 5)
    stop = while_grouping(
        monkeypatch, lambda meals: a_meal(meals).update(date=OCTOBER.replace(day=6))
    )
    with pytest.raises(ValidationError):
        run()
    assert not Invoice.objects.exists()

    stop()
    Attendance.objects.filter(date=OCTOBER.replace(day=5)).update(
        date=OCTOBER.replace(day=6)
    )  # what the agent's change left, once committed
    run()
    billed = Attendance.objects.filter(invoice_line__isnull=False)
    assert sorted(day.day for day in billed.values_list("date", flat=True)) == [1, 2, 6]


def test_a_day_added_during_the_run_between_billed_days_cancels_the_batch(
    prices, canteen, monkeypatch
):
    """The days 1 and 5 are billed; an agent adds the 3rd while the batch is
    being invoiced: it is not billed silently, the batch is cancelled."""
    family = FamilyFactory(bracket=prices["B"])
    child = ChildFactory(family=family)
    attend(child, canteen, 1, 5)
    while_grouping(monkeypatch, lambda _meals: attend(child, canteen, 3))
    with pytest.raises(ValidationError):
        run()
    assert not Invoice.objects.exists()
    assert not Attendance.objects.filter(invoice_line__isnull=False).exists()


def test_a_meal_deleted_in_one_family_and_added_in_another_cancels_the_batch(
    prices, canteen, monkeypatch
):
    """Two families in one batch: an agent deletes a day of the first and
    adds one inside a run of the second. The batch's total is unchanged, but
    each family's line no longer has the meals it bills: cancelled."""
    first, second = (FamilyFactory(bracket=prices["B"]) for _ in range(2))
    first_child, second_child = ChildFactory(family=first), ChildFactory(family=second)
    attend(first_child, canteen, 1, 2)
    attend(second_child, canteen, 1, 5)

    def agent(meals):  # noqa: ANN001, ANN202
        if next(iter(meals))[0] == second_child.pk:
            Attendance.objects.filter(
                child=first_child, date=OCTOBER.replace(day=2)
            ).delete()
            attend(second_child, canteen, 3)

    while_grouping(monkeypatch, agent)
    with pytest.raises(ValidationError):
        run()
    assert not Invoice.objects.exists()
    assert not Attendance.objects.filter(invoice_line__isnull=False).exists()


def test_a_day_moved_between_billed_days_during_the_run_is_billed_where_it_is(
    prices, canteen, monkeypatch
):
    """The 5th moved to the 3rd while its batch is invoiced, with the same
    tariff: the same number of meals, billed on the days they now have."""
    family = FamilyFactory(bracket=prices["B"])
    attend(ChildFactory(family=family), canteen, 1, 2, 5)
    while_grouping(
        monkeypatch, lambda meals: a_meal(meals).update(date=OCTOBER.replace(day=3))
    )
    invoice = run().created[0]

    assert invoice.lines.get().quantity == 3
    billed = Attendance.objects.filter(invoice_line__invoice=invoice)
    assert sorted(day.day for day in billed.values_list("date", flat=True)) == [1, 2, 3]


def test_each_run_of_days_has_the_tariff_of_every_day_in_it(dorville, canteen, prices):
    """The runs are cut only where a bracket or a price may change
    (`FamilyTariffs.changes`): every day inside a run, attended or not, has
    the run's tariff as `_tariff` finds it day by day. Brackets change on
    the 10th and 20th, a price on the 15th."""
    from factures import services
    from factures.periods import month_end

    for day, bracket in ((10, "A"), (20, "B")):
        BracketAssignment.objects.create(
            family=dorville,
            bracket=prices[bracket],
            valid_from=OCTOBER.replace(day=day),
        )
    Price.objects.create(
        bracket=prices["A"],
        activity=canteen,
        unit_price=Decimal("1.10"),
        valid_from=OCTOBER.replace(day=15),
    )
    child = ChildFactory(family=dorville)
    # Attended days on either side of each change, and on the change days.
    attended = (1, 3, 9, 10, 11, 14, 15, 16, 19, 20, 22, 31)
    days = [OCTOBER.replace(day=day) for day in attended]
    book = services.PriceBook()
    tariffs = services.FamilyTariffs(
        list(dorville.bracket_assignments.values_list("valid_from", "bracket_id")),
        book,
    )

    groups = services._group_meals(
        {(child.pk, canteen.pk): list(days)}, tariffs, {canteen.pk: canteen}
    )

    assert sum(run.meals for runs in groups.values() for run in runs) == len(days)
    seen = set()
    for (_child, _activity, *tariff), runs in groups.items():
        for run in runs:
            assert run.last <= month_end(OCTOBER)
            day = run.first
            while day <= run.last:
                assert list(services._tariff(tariffs, canteen, day)) == tariff
                seen.add(day)
                day += datetime.timedelta(days=1)
    assert set(days) <= seen
    assert len(groups) == 3  # B, A at 1.00, A at 1.10


@pytest.mark.parametrize(
    ("when", "open_month"),
    [
        # Already January in UTC, still December here: December is not over.
        ("2026-12-31 23:30 -04:00", datetime.date(2026, 11, 1)),
        ("2027-01-01 00:00 -04:00", datetime.date(2026, 12, 1)),
        ("2028-02-29 23:59 -04:00", datetime.date(2028, 1, 1)),
        ("2028-03-01 00:00 -04:00", datetime.date(2028, 2, 1)),
    ],
)
def test_the_last_month_that_can_be_invoiced_follows_the_local_date(when, open_month):
    from django.utils import timezone

    from factures.periods import next_month
    from factures.services import invoicing_month_check

    with time_machine.travel(when, tick=False):
        today = timezone.localdate()
        invoicing_month_check(period=open_month, today=today)
        with pytest.raises(ValidationError, match="pas encore terminé"):
            invoicing_month_check(period=next_month(open_month), today=today)


def test_a_meal_can_only_point_at_an_invoice_line_that_exists(dorville, canteen):
    from django.db import IntegrityError, connection, transaction

    attend(ChildFactory(family=dorville), canteen, 1)
    meal = Attendance.objects.get()
    # Past the ORM, as a raw write would: the database itself refuses it.
    Attendance.objects.filter(pk=meal.pk).update(invoice_line_id=987654)

    try:
        with pytest.raises(IntegrityError), transaction.atomic():
            connection.check_constraints(table_names=[Attendance._meta.db_table])
    finally:
        Attendance.objects.filter(pk=meal.pk).update(invoice_line_id=None)


def test_a_paperless_family_without_an_email_address_gets_paper(prices, canteen):
    reachable = FamilyFactory(name="Courriel", bracket=prices["B"], paperless=True)
    GuardianFactory(family=reachable, email="parent@example.org")
    unreachable = FamilyFactory(name="Silence", bracket=prices["B"], paperless=True)
    GuardianFactory(family=unreachable, email="")
    for family in (reachable, unreachable):
        attend(ChildFactory(family=family), canteen, 1, 2)

    run()

    assert Invoice.objects.get(family=reachable).paperless
    assert not Invoice.objects.get(family=unreachable).paperless  # printed, posted
