import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from factures.models import Activity, Attendance, Price
from tests.factories import TariffBracketFactory

OCTOBER = datetime.date(2026, 10, 1)


@pytest.fixture
def canteen(db):  # noqa: ANN001, ANN201
    return Activity.objects.create(code="cantine", label="Restauration scolaire")


@pytest.fixture
def after_school(db):  # noqa: ANN001, ANN201
    return Activity.objects.create(code="garderie", label="Garderie du soir")


@pytest.fixture
def prices(canteen, after_school):  # noqa: ANN001, ANN201
    """Bracket B: meal 1,80 €, after-school 0,80 €; bracket A: meal 1,00 €."""
    bracket_b = TariffBracketFactory(code="B", label="Tranche B")
    bracket_a = TariffBracketFactory(code="A", label="Tranche A", qf_min=0, qf_max=450)
    start = datetime.date(2026, 9, 1)
    Price.objects.create(
        bracket=bracket_b,
        activity=canteen,
        unit_price=Decimal("1.80"),
        valid_from=start,
    )
    Price.objects.create(
        bracket=bracket_b,
        activity=after_school,
        unit_price=Decimal("0.80"),
        valid_from=start,
    )
    Price.objects.create(
        bracket=bracket_a,
        activity=canteen,
        unit_price=Decimal("1.00"),
        valid_from=start,
    )
    return {"A": bracket_a, "B": bracket_b}


def attend(child, activity, *days: int, month: datetime.date = OCTOBER) -> None:  # noqa: ANN001
    Attendance.objects.bulk_create(
        Attendance(child=child, activity=activity, date=month.replace(day=day))
        for day in days
    )


@pytest.fixture
def run_month(staff_client, django_capture_on_commit_callbacks):  # noqa: ANN001, ANN201
    """Ask for a month's invoicing on the invoicing page, the task run as
    the transaction commits (the worker's part, at once in tests); returns
    the page's answer (a redirect to itself)."""

    def run(month: str):  # noqa: ANN202
        with django_capture_on_commit_callbacks(execute=True):
            return staff_client.post(
                reverse("admin:factures_invoice_run"), {"month": month, "run": "1"}
            )

    return run
