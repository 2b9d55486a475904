import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import (
    PARENT_PASSWORD,
)
from tests.helpers import error_text, login

pytestmark = pytest.mark.django_db

TOO_MANY = "Trop de tentatives échouées."


def cache_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM portail_cache")
        return cursor.fetchone()[0]


def test_five_failures_suspend_the_login_even_with_the_right_password(client, parent):
    identifier = parent.family.identifier
    for _ in range(5):
        response = login(client, identifier, "mauvais mot de passe")
        assert TOO_MANY not in error_text(response)

    response = login(client, identifier, PARENT_PASSWORD)

    assert TOO_MANY in error_text(response)
    assert "_auth_user_id" not in client.session


def test_failed_login_counters_live_in_the_shared_cache(client, parent, settings):
    # The default cache is a database table (or Redis): every server process
    # sees the same counters, unlike a per-process memory cache.
    assert settings.CACHES["default"]["BACKEND"] in {
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.redis.RedisCache",
    }
    before = cache_rows()

    login(client, parent.family.identifier, "mauvais mot de passe")

    assert cache_rows() > before


def test_counters_are_per_identifier(client, parent, other_parent):
    for _ in range(5):
        login(client, parent.family.identifier, "mauvais mot de passe")

    login(client, other_parent.family.identifier, PARENT_PASSWORD)

    assert client.session["_auth_user_id"] == str(other_parent.pk)


def test_admin_login_goes_through_the_portal_login(client, db):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    index = client.get(reverse("admin:index"))
    assert index.url.startswith(reverse("admin:login")) or index.url.startswith(
        reverse("account_login")
    )


def test_staff_are_throttled_like_families(client, staff):
    for _ in range(5):
        login(client, staff.username, "mauvais mot de passe")

    response = login(client, staff.username, "mot de passe agent 2026")

    assert TOO_MANY in error_text(response)


def test_behind_the_proxy_one_address_cannot_lock_out_the_others(
    client, parent, settings
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for number in range(31):
        login(
            client, f"PB-9{number:05d}", "mauvais", HTTP_X_FORWARDED_FOR="203.0.113.9"
        )

    response = login(
        client,
        parent.family.identifier,
        PARENT_PASSWORD,
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(parent.pk)
