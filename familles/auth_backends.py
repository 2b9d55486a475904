from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest
from django.utils import timezone

from familles.models import User
from familles.services import activation_code_find


def _user_with_family(user_id: int) -> User | None:
    """The user of a request, read with the family every parent page shows
    (one query fewer a page, bench/pages.py)."""
    try:
        return User.objects.select_related("family").get(pk=user_id)
    except User.DoesNotExist:
        return None


class AccountBackend(AuthenticationBackend):
    """django-allauth's backend (identifier or e-mail address, and password),
    reading each request's user with its family."""

    def get_user(self, user_id: int) -> User | None:
        user = _user_with_family(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ActivationCodeBackend(BaseBackend):
    """Logs a family in with its identifier and a valid activation code.

    The session that results can only choose a personal password
    (ActivationRequiredMiddleware): the user object carries the code's id to the
    `user_logged_in` receiver, which marks the session.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        code = activation_code_find(username=username, raw_code=password)
        if code is None or not code.is_usable(timezone.now()):
            return None
        user = code.user
        if not user.is_active:
            return None
        user.activation_code_id = code.pk  # type: ignore[attr-defined]
        return user

    def get_user(self, user_id: int) -> User | None:
        user = _user_with_family(user_id)
        return user if user is not None and user.is_active else None
