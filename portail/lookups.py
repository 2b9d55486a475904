"""`field__any=[…]`: what `__in` says, with the values as one array parameter
on PostgreSQL (`= ANY(%s::bigint[])`, planned as `IN` is). psycopg binds a
query of more than 50 parameters anew at each execution, and the invoicing
run reads and locks its families 250 at a time (docs/PERFORMANCE.md). Other
databases get `IN`. Registered for integer fields and foreign keys in
`PortailConfig.ready`; it takes ids, not instances nor expressions.
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
