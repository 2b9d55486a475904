"""Two invoicing runs at once: numbers stay unique and gapless (PostgreSQL)."""

import datetime
import threading

import pytest
from django.db import close_old_connections

from factures.models import Invoice
from factures.services import invoice_issue_month
from tests.factories import ChildFactory, FamilyFactory
from tests.factures.conftest import OCTOBER, attend

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_overlapping_runs_issue_each_invoice_once_with_gapless_numbers(
    prices, canteen
):
    families = [FamilyFactory(bracket=prices["B"]) for _ in range(12)]
    for family in families:
        attend(ChildFactory(family=family), canteen, 1, 2)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    created: list[int] = []

    def run() -> None:
        try:
            barrier.wait()
            result = invoice_issue_month(
                period=OCTOBER, issued_by=None, today=datetime.date(2026, 11, 26)
            )
            created.append(len(result.created))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(created) == 12
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"F2026-{n:06d}" for n in range(1, 13)]
    assert Invoice.objects.values("family").distinct().count() == 12
