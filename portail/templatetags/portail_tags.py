from decimal import Decimal

from django import template

from factures.money import format_euros
from paiements import rules

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
