"""A deterministic dataset for the benchmarks: FAMILIES families with
guardians, children, brackets and prices, and the school days of one month
(MONTH) of canteen attendance. Bulk inserts; run on an empty PostgreSQL
database (DATABASE_URL).

Usage: python bench/generate.py FAMILIES YYYY-MM
"""

import datetime
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portail.settings")


def main(families: int, month: str) -> None:
    import django

    django.setup()
    from factures.models import (
        Activity,
        Attendance,
        BracketAssignment,
        Price,
        TariffBracket,
    )
    from factures.periods import month_end, parse_period
    from familles.models import Child, Family, Guardian

    rng = random.Random(20261201)  # noqa: S311 - benchmark data
    period = parse_period(month)
    start = time.perf_counter()
    canteen, _ = Activity.objects.get_or_create(
        code="cantine", defaults={"label": "Restauration scolaire"}
    )
    brackets = []
    for code, price in [("A", "1.00"), ("B", "1.80"), ("C", "2.50"), ("D", "3.20")]:
        bracket, _ = TariffBracket.objects.get_or_create(
            code=code, defaults={"label": f"Tranche {code}"}
        )
        Price.objects.get_or_create(
            bracket=bracket,
            activity=canteen,
            valid_from=datetime.date(2020, 1, 1),
            defaults={"unit_price": Decimal(price)},
        )
        brackets.append(bracket)
    offset = Family.objects.count()
    new = Family.objects.bulk_create(
        Family(
            identifier=f"BK-{offset + n:06d}",
            name=f"Famille{offset + n}",
            address_line1=f"{n % 90 + 1} rue Schoelcher",
            postal_code="97170",
            city="Petit-Bourg",
        )
        for n in range(families)
    )
    BracketAssignment.objects.bulk_create(
        BracketAssignment(
            family=f, bracket=rng.choice(brackets), valid_from=datetime.date(2020, 1, 1)
        )
        for f in new
    )
    Guardian.objects.bulk_create(
        Guardian(
            family=f,
            first_name="Marie",
            last_name=f.name,
            email=f"{f.identifier.lower()}@example.org",
        )
        for f in new
    )
    children = Child.objects.bulk_create(
        Child(
            family=f,
            first_name=f"Enfant{i}",
            last_name=f.name,
            birth_date=datetime.date(2017, 1, 1 + i),
        )
        for f in new
        for i in range(rng.randrange(1, 4))
    )
    days = [
        period + datetime.timedelta(days=d)
        for d in range((month_end(period) - period).days + 1)
        if (period + datetime.timedelta(days=d)).weekday() in {0, 1, 3, 4}
    ]
    batch = []
    rows = 0
    for child in children:
        for day in days:
            if rng.random() < 0.9:
                batch.append(Attendance(child=child, activity=canteen, date=day))
        if len(batch) > 20000:
            Attendance.objects.bulk_create(batch)
            rows += len(batch)
            batch = []
    Attendance.objects.bulk_create(batch)
    rows += len(batch)
    print(
        f"{families} families, {len(children)} children, {rows} attendance rows "
        f"in {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
