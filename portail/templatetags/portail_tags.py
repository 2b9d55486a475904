import datetime
from decimal import Decimal

from django import template
from django.utils import formats
from django.utils.translation import gettext as _

from factures.money import ZERO, format_euros
from familles.models import Family
from paiements import rules
from paiements.accounts import FamilyAccount
from paiements.accounts import family_account as account_of

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
    return f"{rules.day_of_month(day.day)} {formats.date_format(day, 'F')}"


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
