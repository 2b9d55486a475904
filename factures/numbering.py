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


def next_number(*, series: str, year: int) -> str:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "next_number() must run inside the transaction that uses it."
        )
    # Create the year's row if needed without racing another run for it.
    NumberSequence.objects.bulk_create(
        [NumberSequence(series=series, year=year)], ignore_conflicts=True
    )
    sequence = NumberSequence.objects.select_for_update().get(series=series, year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{series}{year}-{sequence.last_number:06d}"
