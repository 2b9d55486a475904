"""Money: euros in Decimal, one rounding rule, French formatting."""

from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def round_money(value: Decimal) -> Decimal:
    """Round to the cent, halves away from zero (the accounting rule)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def csv_amount(value: Decimal) -> str:
    """1234.5 → '1234,50': an amount for a French spreadsheet (decimal comma,
    no grouping, no currency sign)."""
    return f"{round_money(value):.2f}".replace(".", ",")


def format_euros(value: Decimal) -> str:
    """1234.5 → '1 234,50 €' (no-break spaces, as French typography wants)."""
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(round_money(value)):.2f}".split(".")
    groups: list[str] = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{NBSP.join(groups)},{cents}{NBSP}€"
