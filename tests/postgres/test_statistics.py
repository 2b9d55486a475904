"""After a bulk write, PostgreSQL's statistics are refreshed at once: an
attendance import and an invoicing run end with ANALYZE of the tables they
filled (with stale statistics the run's plans collapsed; see
docs/PERFORMANCE.md)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from factures import services
from factures.attendance_import import attendance_import, attendance_parse
from factures.services import invoice_issue_month
from tests.factories import ChildFactory, FamilyFactory
from tests.factures.conftest import OCTOBER, attend

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def analyzed(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")
    ]


def test_an_attendance_import_refreshes_the_statistics(prices, canteen):
    family = FamilyFactory(identifier="PB-004217", name="Dorville", bracket=prices["B"])
    ChildFactory(family=family, first_name="Kenzo", last_name="Dorville")
    parsed = attendance_parse(
        data=b"identifiant_famille;prenom;nom;date;activite\n"
        b"PB-004217;Kenzo;Dorville;01/10/2026;cantine\n",
        period=OCTOBER,
    )

    with CaptureQueriesContext(connection) as queries:
        assert attendance_import(parsed=parsed) == 1

    assert analyzed(queries) == ['ANALYZE "factures_attendance"']


def test_an_invoicing_run_refreshes_the_statistics(prices, canteen):
    attend(ChildFactory(family=FamilyFactory(bracket=prices["B"])), canteen, 1, 2)

    with CaptureQueriesContext(connection) as queries:
        invoice_issue_month(
            period=OCTOBER, issued_by=None, today=datetime.date(2026, 11, 26)
        )

    assert analyzed(queries) == [
        'ANALYZE "factures_attendance", "factures_invoice", "factures_invoiceline"'
    ]


def test_a_long_run_refreshes_the_invoices_statistics_as_they_pile_up(
    prices, canteen, monkeypatch
):
    # As if the commune were large: batches of 2 families, the first refresh
    # after 2 invoices, then after 8 (fourfold), then after 32 (never here).
    monkeypatch.setattr(services, "INVOICING_BATCH", 2)
    monkeypatch.setattr(services, "REANALYZE_FROM", 2)
    for _family in range(10):
        attend(ChildFactory(family=FamilyFactory(bracket=prices["B"])), canteen, 1)

    with CaptureQueriesContext(connection) as queries:
        result = invoice_issue_month(
            period=OCTOBER, issued_by=None, today=datetime.date(2026, 11, 26)
        )

    assert result.created_count == 10
    assert analyzed(queries) == [
        'ANALYZE "factures_invoice"',
        'ANALYZE "factures_invoice"',
        'ANALYZE "factures_attendance", "factures_invoice", "factures_invoiceline"',
    ]
