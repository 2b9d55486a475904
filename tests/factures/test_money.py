from decimal import Decimal

from factures.money import format_euros, round_money


def test_amounts_are_written_the_french_way():
    assert format_euros(Decimal("1234.5")) == "1\u00a0234,50\u00a0€"
    assert format_euros(Decimal("0")) == "0,00\u00a0€"
    assert format_euros(Decimal("1234567.891")) == "1\u00a0234\u00a0567,89\u00a0€"
    assert format_euros(Decimal("-12.3")) == "-12,30\u00a0€"


def test_rounding_takes_halves_away_from_zero():
    assert round_money(Decimal("0.125")) == Decimal("0.13")
    assert round_money(Decimal("0.124")) == Decimal("0.12")
