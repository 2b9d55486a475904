"""Legal invoice numbers: one gapless sequence per series and year.

A number is taken inside the transaction that creates the invoice (or credit
note), under a row lock on its sequence: a second run waits for the first to
commit, and a rolled-back transaction gives its number back.
"""

from django.db import transaction

from factures.models import NumberSequence

INVOICE_SERIES = "F"
CREDIT_NOTE_SERIES = "AV"
RECEIPT_SERIES = "R"
REFUND_SERIES = "RB"


def next_number(*, series: str, year: int) -> str:
    return next_numbers(series=series, year=year, count=1)[0]


def next_numbers(*, series: str, year: int, count: int) -> list[str]:
    """`count` consecutive numbers, taken with one locked update (the
    invoicing run numbers a batch of families at once)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "next_number() must run inside the transaction that uses it."
        )
    if count < 1:
        return []
    # Create the year's row if needed without racing another run for it.
    NumberSequence.objects.bulk_create(
        [NumberSequence(series=series, year=year)], ignore_conflicts=True
    )
    sequence = NumberSequence.objects.select_for_update().get(series=series, year=year)
    first = sequence.last_number + 1
    sequence.last_number += count
    sequence.save(update_fields=["last_number"])
    return [f"{series}{year}-{n:06d}" for n in range(first, first + count)]
