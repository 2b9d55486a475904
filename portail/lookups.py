"""`field__any=[…]`: the rows whose integer field (or foreign key) is one of
the values, as `__in` says, written for PostgreSQL as one parameter.

Django writes `__in` with one placeholder per value: `IN (%s, %s, …)`.
psycopg caches how it binds a query only up to 50 parameters, and parses
the others again at every execution, placeholder by placeholder. The
invoicing run reads and locks its families 250 at a time, about ten such
queries per batch (bench/invoicing.py). Here the values travel as one array
literal, `= ANY(%s::bigint[])`, which PostgreSQL plans as it plans `IN`
(both are a `ScalarArrayOpExpr`). Other databases get `IN` as before.

Registered for every integer field and foreign key in `PortailConfig.ready`.
It takes ids (integers), as the hot paths have them: not model instances
nor expressions, which `__in` takes.
"""

from typing import Any

from django.core.exceptions import EmptyResultSet
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
