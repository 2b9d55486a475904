"""The invoices app's raw SQL, where the ORM cannot say it (each piece is
tested in tests/factures/test_sql.py, on SQLite and PostgreSQL)."""

import datetime
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, models

from factures.periods import month_end


class PerInvoice(models.Func):
    """An aggregate over the rows of `model` that belong to the invoice, as a
    correlated subquery written around the invoice's id.

    Django's Subquery would say the same, but each reference to the
    annotation (the state refers to each amount several times) clones and
    recompiles the subquery: parent pages spent most of their time compiling
    SQL. Here the only expression is the invoice's id, which Django relabels
    like any column when the queryset is itself used as a subquery."""

    arity = 1
    key = "invoice"  # the foreign key of `model`'s rows to the row annotated

    def __init__(
        self, model: type[models.Model], aggregate: str, where: str = "", **extra: Any
    ) -> None:
        self.template = self.sql(model, aggregate, "%(expressions)s", where)
        super().__init__(models.F("pk"), **extra)

    @classmethod
    def sql(
        cls, model: type[models.Model], aggregate: str, row: str, where: str = ""
    ) -> str:
        """The subquery alone, around `row` (the outer row's id in SQL): for
        hand-written queries that sum the same amounts
        (`paiements.accounts`)."""
        table = model._meta.db_table
        column = model._meta.get_field(cls.key).column  # type: ignore[union-attr]
        condition = f" AND {where}" if where else ""
        return (
            f"(SELECT {aggregate} FROM {table} r "  # noqa: S608 - names from the models
            f"WHERE r.{column} = {row}{condition})"
        )


class PerPayment(PerInvoice):
    """`PerInvoice` over the rows of `model` that belong to the payment
    (its allocations, its refunds)."""

    key = "payment"


class AttendedDays(models.Func):
    """The days of the meals an invoice line bills, in `month`, as one string
    ("2026-10-01,2026-10-02"), by a correlated subquery on each line of
    `attendance` (the model): the invoice page reads its lines and their days
    in one query. A line's meals are found by child, activity and day, which
    the index `attendance_once_a_day` serves."""

    output_field = models.TextField()

    def __init__(self, attendance: type[models.Model], month: datetime.date) -> None:
        self.table = attendance._meta.db_table
        self.month = month
        super().__init__(models.F("pk"), models.F("child_id"), models.F("activity_id"))

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, tuple]:
        line, child, activity = (
            compiler.compile(expression) for expression in self.source_expressions
        )
        days = (
            "string_agg(to_char(a.date, 'YYYY-MM-DD'), ',')"  # whatever DateStyle
            if connection.vendor == "postgresql"
            else "group_concat(a.date, ',')"
        )
        sql = (
            f"(SELECT {days} FROM {self.table} a "  # noqa: S608 - names from the models
            f"WHERE a.child_id = {child[0]} AND a.activity_id = {activity[0]} "
            f"AND a.date BETWEEN %s AND %s AND a.invoice_line_id = {line[0]})"
        )
        return sql, (
            *child[1],
            *activity[1],
            connection.ops.adapt_datefield_value(self.month),
            connection.ops.adapt_datefield_value(month_end(self.month)),
            *line[1],
        )


def attendance_mark(
    attendance: type[models.Model],
    rows: list[tuple[int, int, int, datetime.date, datetime.date]],
) -> Counter[int]:
    """Mark the unbilled meals of each row (line, child, activity, first and
    last day) with its line, in one statement rather than one per meal (the
    ORM updates one filter at a time); returns how many meals each line
    marked. The rows may be of several months (late meals are billed with
    a later month's).

    On PostgreSQL the values travel as array literals, the days as their
    distance from the earliest first day; SQLite takes a VALUES list, 2,000
    rows at a time."""
    marked: Counter[int] = Counter()
    if not rows:
        return marked
    table = connection.ops.quote_name(attendance._meta.db_table)
    meal = (
        f"{table}.child_id = v.child AND {table}.activity_id = v.activity "
        f"AND {table}.date BETWEEN v.first AND v.last "
        f"AND {table}.invoice_line_id IS NULL"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            start = min(row[3] for row in rows)
            cursor.execute(
                f"WITH marked AS (UPDATE {table} SET invoice_line_id = v.line "  # noqa: S608 - no user input
                f"FROM (SELECT line, child, activity, %s::date + first AS first, "
                f"%s::date + last AS last FROM unnest(%s::bigint[], %s::bigint[], "
                f"%s::bigint[], %s::int[], %s::int[]) "
                f"AS u(line, child, activity, first, last)) AS v WHERE {meal} "
                f"RETURNING v.line) SELECT line, count(*) FROM marked GROUP BY line",
                [
                    start,
                    start,
                    _array_literal(row[0] for row in rows),
                    _array_literal(row[1] for row in rows),
                    _array_literal(row[2] for row in rows),
                    _array_literal((row[3] - start).days for row in rows),
                    _array_literal((row[4] - start).days for row in rows),
                ],
            )
            marked.update(dict(cursor.fetchall()))
        else:
            for begin in range(0, len(rows), 2_000):
                chunk = rows[begin : begin + 2_000]
                cursor.execute(
                    f"UPDATE {table} SET invoice_line_id = v.line "  # noqa: S608 - no user input
                    f"FROM (SELECT column1 AS line, column2 AS child, "
                    f"column3 AS activity, column4 AS first, column5 AS last FROM "
                    f"(VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(chunk))})) "
                    f"AS v WHERE {meal} RETURNING invoice_line_id",
                    [value for row in chunk for value in row],
                )
                marked.update(line for (line,) in cursor.fetchall())
    return marked


def _array_literal(values: Iterable[Any]) -> str:
    """Values as a PostgreSQL array literal: {1,2,3}, {"a","b",NULL}."""
    return "{" + ",".join(map(_array_element, values)) + "}"


def rows_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` (each a dict of field attnames to values; a field left
    out takes its default) into `model`'s table; returns their ids in the
    rows' order. What `bulk_create` does, without a model object per row.

    On PostgreSQL each column travels as one array literal, written here,
    to `INSERT ... SELECT FROM unnest(...)`, as Django's own bulk_create
    does on PostgreSQL but with lists that psycopg dumps element by element
    in Python: the run's invoices and lines spent 12 of its 54 s in model
    objects and their dumping (docs/PERFORMANCE.md). The arrays are cast
    to each column's base type (varchar, numeric), never to its length or
    scale, which would truncate: the column itself refuses what is too
    long. Every constraint and foreign key holds as for any insert.
    SQLite takes `bulk_create`."""
    if not rows:
        return []
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    if connection.vendor != "postgresql":
        created = model._default_manager.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in created]
    quote = connection.ops.quote_name
    arrays, casts = [], []
    for field in fields:
        if field.attname in rows[0]:
            values = [row[field.attname] for row in rows]
        elif field.has_default():
            values = [field.get_default() for _row in rows]
        elif field.null:
            values = [None] * len(rows)
        else:
            raise ValueError(f"rows_insert: no value for {model.__name__}.{field.name}")
        arrays.append(
            _array_literal(
                field.get_db_prep_save(value, connection) for value in values
            )
        )
        casts.append(f"%s::{(field.db_type(connection) or '').split('(')[0]}[]")
    pk = quote(_column(model._meta.pk))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 - names from the models
            f"({', '.join(quote(_column(field)) for field in fields)}) "
            f"SELECT * FROM unnest({', '.join(casts)}) RETURNING {pk}",
            arrays,
        )
        return [pk_value for (pk_value,) in cursor.fetchall()]


def _column(field: Any) -> str:
    """A concrete field's column (typed `str | None` for the others)."""
    column: str = field.column
    return column


def _array_element(value: Any) -> str:
    """One value in a PostgreSQL array literal: NULL, or quoted with its
    backslashes and double quotes escaped. A value of another type (a JSON
    adapter, bytes) is refused rather than written as its repr."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:
        raise TypeError(f"rows_insert cannot write a {type(value).__name__}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def history_copy(
    model: type[models.Model],
    ids: list[int],
    *,
    user_id: int | None,
    when: datetime.datetime,
) -> int:
    """Write the creation history rows of the `model` rows `ids` (the
    historical model's of django-simple-history: one row per object, type
    "+", by `user_id` at `when`), copied in the database by one INSERT ...
    SELECT; returns how many were written.

    `bulk_history_create` writes the same rows but builds a historical
    object per row in Python first: 8 of the 100,000-family run's 58 s
    (docs/PERFORMANCE.md). The historical model's fields are the tracked
    ones plus the five `HISTORY_FIELDS`; any other field (a newer version
    of the library) raises rather than be left empty, and a test compares
    the rows with the library's own."""
    if not ids or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return 0
    history = model.history.model  # type: ignore[attr-defined]
    tracked = {field.attname for field in history.tracked_fields}
    fields = history._meta.concrete_fields
    unknown = {field.attname for field in fields} - tracked - HISTORY_FIELDS
    if unknown:
        raise RuntimeError(f"history_copy: unknown history fields {sorted(unknown)}")
    quote = connection.ops.quote_name
    source = {f.attname: _column(f) for f in model._meta.concrete_fields}
    columns = [field for field in fields if field.attname in tracked]
    table = quote(model._meta.db_table)
    pk = quote(_column(model._meta.pk))
    parameters: list[Any]
    if connection.vendor == "postgresql":
        which, parameters = f"{pk} = ANY(%s)", [ids]
    else:
        which, parameters = f"{pk} IN ({', '.join(['%s'] * len(ids))})", list(ids)
    date_field = history._meta.get_field("history_date")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(history._meta.db_table)} "  # noqa: S608 - names from the models
            f"({', '.join(quote(_column(field)) for field in columns)}, "
            f"{quote('history_date')}, {quote('history_change_reason')}, "
            f"{quote('history_type')}, {quote('history_user_id')}) "
            f"SELECT {', '.join(quote(source[field.attname]) for field in columns)}, "
            f"%s, %s, %s, %s FROM {table} WHERE {which} ORDER BY {pk}",
            [
                date_field.get_db_prep_save(when, connection),
                "",
                "+",
                user_id,
                *parameters,
            ],
        )
        return cursor.rowcount


# The fields of a historical model that are not copied from the object.
HISTORY_FIELDS = {
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user_id",
}


def tables_analyze(*tables: type[models.Model]) -> None:
    """Refresh PostgreSQL's statistics of these models' tables after a bulk
    write (an attendance import, the invoicing run), rather than wait for
    autovacuum: with stale statistics the planner chose sequential scans
    behind the run's foreign-key checks and one month at 30,000 families
    took 403 s instead of 30 (docs/PERFORMANCE.md). A few hundred
    milliseconds (ANALYZE samples rows). SQLite plans without statistics:
    nothing to do there."""
    if connection.vendor != "postgresql" or not tables:
        return
    names = ", ".join(connection.ops.quote_name(t._meta.db_table) for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")
