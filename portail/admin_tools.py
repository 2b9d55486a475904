"""What the admin pages of every app share: rows that may not be added,
changed or deleted there (history is never edited; money is changed only
through its services)."""

from typing import Any

from django.http import HttpRequest


class NoAddMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoChangeMixin:
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoDeleteMixin:
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyMixin(NoAddMixin, NoChangeMixin, NoDeleteMixin):
    """Shown, never written, in the admin."""
