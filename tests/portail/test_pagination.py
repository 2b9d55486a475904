"""A page of a list and the list's length, in the page's own query
(`portail.pages.page_of`)."""

import datetime

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from factures.models import Invoice
from portail.pages import page_of
from tests.factories import FamilyFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoices():  # noqa: ANN201
    family = FamilyFactory()
    for month in range(1, 8):
        InvoiceFactory(family=family, period=datetime.date(2026, month, 1))
    InvoiceFactory(period=datetime.date(2026, 1, 1))  # another family's
    return Invoice.objects.filter(family=family).order_by("-period")


def asked(page: str | None = None) -> HttpRequest:
    return RequestFactory().get("/", {} if page is None else {"page": page})


def page_and_queries(items, page=None):  # noqa: ANN001, ANN201
    with CaptureQueriesContext(connection) as queries:
        found = page_of(asked(page), items, per_page=3)
        rows = list(found)  # what a template would read
    return found, rows, len(queries)


def test_a_page_and_the_lists_length_come_in_one_query(invoices):
    page, rows, queries = page_and_queries(invoices, "2")
    assert queries == 1
    assert [invoice.period.month for invoice in rows] == [4, 3, 2]
    assert page.number == 2
    assert page.paginator.count == 7
    assert page.paginator.num_pages == 3
    assert page.has_previous() and page.has_next()
    assert not hasattr(rows[0], "page_total")


def test_the_last_page_and_tuples(invoices):
    page, rows, queries = page_and_queries(invoices.values_list("pk", "period"), "3")
    assert queries == 1
    assert rows == list(invoices.values_list("pk", "period"))[6:]
    assert page.paginator.count == 7
    assert not page.has_next()


def test_what_the_paginator_would_do_with_odd_numbers(invoices):
    # Not a number: the first page, in one query. Below 1: the last page,
    # counted first. Beyond the end: the same, once the page came empty.
    assert page_and_queries(invoices, "abc")[0].number == 1
    assert page_and_queries(invoices, "abc")[2] == 1
    for odd, expected_queries in (("0", 2), ("-2", 2), ("99", 3), ("9" * 25, 2)):
        page, rows, queries = page_and_queries(invoices, odd)
        assert page.number == 3, odd
        assert [invoice.period.month for invoice in rows] == [1], odd
        assert queries == expected_queries, odd


def test_an_empty_list_is_one_empty_page_read_once(invoices):
    page, rows, queries = page_and_queries(invoices.none() | invoices.filter(pk=0))
    assert (rows, page.number, page.paginator.count, queries) == ([], 1, 0, 1)
    assert not page.has_other_pages()


def test_a_distinct_list_is_counted_by_the_paginator(invoices):
    # COUNT(*) OVER () counts the rows before DISTINCT: not used there.
    page, rows, queries = page_and_queries(invoices.distinct(), "1")
    assert page.paginator.count == 7
    assert len(rows) == 3
    assert queries == 2


def test_a_list_of_python_objects(invoices):
    page, rows, queries = page_and_queries(list(invoices), "3")
    assert page.paginator.count == 7
    assert [invoice.period.month for invoice in rows] == [1]
