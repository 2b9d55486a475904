import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from django import template
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from factures.models import Invoice
from factures.money import ZERO, format_euros
from familles.models import Family
from paiements import rules
from paiements.accounts import FamilyAccount
from paiements.accounts import family_account as account_of
from paiements.models import Allocation
from portail.typography import file_size, french_date

register = template.Library()


@register.filter
def euros(value: Decimal | int | None) -> str:
    """1234.5 → 1 234,50 € (French formatting)."""
    if value is None or value == "":
        return ""
    return format_euros(Decimal(value))


@register.filter
def day_of_month(day: int) -> str:
    """French ordinal for the first day only: 1 → 1er, 10 → 10."""
    return rules.day_of_month(int(day))


@register.filter
def day_month(day: datetime.date) -> str:
    """A day of a month as French writes it: "1er janvier", "10 décembre"."""
    return french_date(day, year=False)


@register.filter
def fr_date(day: datetime.date | datetime.datetime | None) -> str:
    """ "1er janvier 2027" where `|date:"j F Y"` wrote "1 janvier 2027"."""
    return french_date(day) if day else ""


@register.filter
def unsigned_euros(value: Decimal) -> str:
    """An amount without its sign, where the words say which way it goes
    ("270,60 € dus par la famille")."""
    return format_euros(abs(value))


@register.simple_tag
def family_account(family: Family) -> FamilyAccount:
    """`{% family_account family as account %}`: what the family owes, holds
    in credit and has frozen by a dispute, now (`paiements.accounts`)."""
    return account_of(family)


@register.filter
def account_balance(value: Decimal) -> str:
    """A balance as a parent reads it (positive in the family's favour):
    "12,00 € en votre faveur", "30,00 € à payer", "0,00 €"."""
    if value > ZERO:
        return _("%(amount)s in your favour") % {"amount": format_euros(value)}
    if value < ZERO:
        return _("%(amount)s to pay") % {"amount": format_euros(-value)}
    return format_euros(ZERO)


@register.filter
def pay_by(invoice: Invoice) -> datetime.date:
    """The last day to pay `invoice` online: the end of the first online
    window that closes on or after the day it was issued (local date)."""
    issued = timezone.localdate(invoice.issued_at)
    return rules.window(issued, rules.payment_rules().online_days).last


class Receipt(NamedTuple):
    """A payment as its receipt's link shows it."""

    pk: int
    number: str


def _receipts(rows: Iterable[tuple[int, int, str]]) -> dict[int, list[Receipt]]:
    """(invoice id, payment id, number) rows, oldest payment first: each
    invoice's receipts, once each (a payment can be allocated to an invoice,
    then taken back)."""
    found: dict[int, list[Receipt]] = {}
    for invoice_id, pk, number in rows:
        receipts = found.setdefault(invoice_id, [])
        if not receipts or receipts[-1].pk != pk:
            receipts.append(Receipt(pk, number))
    return found


def _receipt_rows(invoice_ids: list[int]) -> QuerySet:
    """The rows `_receipts` reads, for these invoices, as tuples: a page
    shows two fields of each payment, not its model."""
    return (
        Allocation.objects.filter(invoice_id__in=invoice_ids)
        .order_by("invoice_id", "payment__received_at", "payment_id")
        .values_list("invoice_id", "payment_id", "payment__number")
    )


@register.simple_tag
def invoice_receipts(invoice: Invoice) -> list[Receipt]:
    """`{% invoice_receipts invoice as receipts %}`: the family's payments
    that paid some of `invoice`, oldest first (their receipts)."""
    rows = _receipt_rows([invoice.pk]).filter(payment__family_id=invoice.family_id)
    return _receipts(rows).get(invoice.pk, [])


@register.filter
def size(value: int) -> str:
    """A file's size in French: "2 Ko", "4,5 Mo" (`portail.typography`)."""
    return file_size(int(value))


@register.simple_tag
def receipts_by_invoice(invoices: Iterable[Invoice]) -> dict[int, list[Receipt]]:
    """`{% receipts_by_invoice invoices as receipts %}`: the payments that
    paid each of these invoices (one query, for the page's invoices only),
    for the invoice list's links to their receipts
    (`receipts|get_item:invoice.pk`)."""
    return _receipts(_receipt_rows([invoice.pk for invoice in invoices]))


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key, [])
