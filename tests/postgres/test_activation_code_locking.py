"""Row locks only mean something on PostgreSQL (SQLite ignores them)."""

import threading

import pytest
from django.db import close_old_connections

from familles.models import ActivationCode
from familles.services import activation_code_issue, family_login_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_agents_issuing_codes_at_once_leave_exactly_one_open_code(family, staff):
    user = family_login_create(family=family, agent=staff).user
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def issue() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                activation_code_issue(user=user, agent=staff)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=issue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert ActivationCode.objects.filter(user=user).count() == 1 + 4 * 5
    assert ActivationCode.objects.filter(user=user).open().count() == 1
