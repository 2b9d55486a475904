"""What one piece of a page costs, in Python function calls (cProfile's
count, the same on any machine and under any load, as in
bench/inprocess.py): a variable, a filter, a `{% url %}`, a `{% translate %}`,
and the ORM queries the parent pages make. With it a page's cost can be
budgeted before it is written: the bare view (bench/inprocess.py's baseline)
makes about 8,300 calls, so a page at 0.5 of its speed has about as many
left for its own queries and template.

Each template piece is rendered inside a loop of 100 and the empty loop's
calls are taken off; each query is asked twice and the second counted (the
first warms Django's caches). Prints the calls per piece; writes nothing.

Usage, after `bench/generate.py` (see there; the queries read its data):
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_data
  .venv/bin/python bench/template_costs.py
"""

import cProfile
import datetime
import pstats
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django  # noqa: E402

LOOP = 100

PIECES: list[tuple[str, dict[str, Any]]] = [
    ("{% if i %}a{% endif %}", {}),
    ("{{ text }}", {"text": "PB-2026-000123"}),
    ('<td data-label="{{ text }}">', {"text": "Montant"}),
    ("{{ i }}", {}),
    ("{{ amount|euros }}", {"amount": Decimal("42.30")}),
    ('{{ day|date:"F Y"|capfirst }}', {"day": datetime.date(2026, 10, 1)}),
    ("{{ day|fr_date }}", {"day": datetime.date(2026, 10, 1)}),
    ('{% translate "Amount due" %}', {}),
    ("{% url 'factures:detail' i %}", {}),
]


def calls(work: Callable[[], object]) -> int:
    profile = cProfile.Profile()
    profile.enable()
    work()
    profile.disable()
    return pstats.Stats(profile).total_calls


def main() -> None:
    setup_django()
    from django.db.models import Count
    from django.template import engines
    from django.utils import timezone, translation

    from familles.models import Family
    from paiements.models import CheckoutSession, PaymentOverride
    from paiements.rules import family_owing

    translation.activate("fr")
    engine = engines["django"]
    items = {"items": range(LOOP)}

    def loop_of(piece: str, context: dict[str, Any]) -> int:
        template = engine.from_string(
            "{% load i18n portail_tags %}{% for i in items %}" + piece + "{% endfor %}"
        )
        template.render(context)
        return calls(lambda: template.render(context))

    empty = loop_of("", items)
    print(f"Template, calls per piece (the loop's own taken off, {LOOP} rounds):")
    for piece, context in PIECES:
        cost = (loop_of(piece, {**items, **context}) - empty) / LOOP
        print(f"  {cost:6.0f}  {piece}")

    family = (
        Family.objects.annotate(invoice_count=Count("invoices"))
        .order_by("-invoice_count", "pk")
        .first()
    )
    if family is None:
        sys.exit("No family: run bench/generate.py first.")
    queries: dict[str, Callable[[], object]] = {
        "a family's open invoices with their amounts (payment page)": lambda: list(
            family_owing(family)
        ),
        "the active override, two fields (payment page)": lambda: list(
            PaymentOverride.objects.filter(family_id=family.pk, cleared_at=None)
            .order_by()
            .values_list("state", "reason")[:1]
        ),
        "the active override, as a model, with .first()": lambda: (
            family.payment_overrides.filter(cleared_at__isnull=True).first()
        ),
        "a card payment in progress, .exists()": lambda: CheckoutSession.objects.filter(
            family_id=family.pk,
            status=CheckoutSession.Status.OPEN,
            remote_id__isnull=False,
            expires_at__gt=timezone.now(),
        ).exists(),
    }
    print("Queries, calls each (compiling, running, reading the rows):")
    for name, query in queries.items():
        query()
        print(f"  {calls(query):6d}  {name}")


if __name__ == "__main__":
    main()
