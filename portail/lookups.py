"""`field__any=[…]`: what `__in` says, with the values as one array parameter
on PostgreSQL (`= ANY(%s::bigint[])`, planned as `IN` is). psycopg binds a
query of more than 50 parameters anew at each execution, and the invoicing
run reads and locks its families 250 at a time (docs/PERFORMANCE.md). Other
databases get `IN`. Registered for integer fields and foreign keys in
`PortailConfig.ready`; it takes ids, not instances nor expressions.
"""

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import CharField, Func
from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "any"

    def _as_array(self, connection: Any) -> bool:
        return connection.vendor == "postgresql" and self.rhs_is_direct_value()

    def process_rhs(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        if not self._as_array(connection):
            return super().process_rhs(compiler, connection)
        values = {int(value) for value in self.rhs if value is not None}
        if not values:
            raise EmptyResultSet  # as `__in`: nothing matches an empty list
        return "%s::bigint[]", ("{" + ",".join(map(str, sorted(values))) + "}",)

    def get_rhs_op(self, connection: Any, rhs: str) -> str:
        if not self._as_array(connection):
            return super().get_rhs_op(connection, rhs)
        return f"= ANY({rhs})"


# Letters an agent may type without their accent: "eloi" finds "Éloi". One
# table for Python and for every database, so that a search finds the same
# families on SQLite and on PostgreSQL (no extension needed: `unaccent`
# would differ from Python's and must be installed by a superuser).
ACCENTED = "ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝŸýÿ"
PLAIN = "AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOOooooooUUUUuuuuYYyy"
_FOLD = str.maketrans(ACCENTED, PLAIN)  # equal lengths, or ValueError


def fold(text: str | None) -> str | None:
    """Accents and case dropped, as `Fold` does in SQL."""
    return None if text is None else text.translate(_FOLD).lower()


class Fold(Func):
    """A text column without accents nor capitals (`fold` in SQL): the
    letters of `ACCENTED` become `PLAIN`'s, then lower case. SQLite runs
    `fold` itself, registered on each connection by `register_fold`."""

    output_field = CharField()
    template = f"LOWER(TRANSLATE(%(expressions)s, '{ACCENTED}', '{PLAIN}'))"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="portail_fold(%(expressions)s)", **extra
        )


def register_fold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created`: SQLite learns `portail_fold`."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "portail_fold", 1, fold, deterministic=True
        )
