from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse


def login(client: Client, identifier: str, password: str, **extra: str):  # noqa: ANN201
    """Post the portal's login form as a browser would."""
    return client.post(
        reverse("account_login"), {"login": identifier, "password": password}, **extra
    )


def error_text(response) -> str:  # noqa: ANN001
    form = response.context["form"]
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def totp_now(secret: str) -> str:
    import time

    from allauth.mfa.totp.internal.auth import app_settings as mfa_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    # A code made in the last second of its window may be checked in the
    # next one, and allauth allows no tolerance: wait for a fresh window.
    period = mfa_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < 1.5:
        time.sleep(left + 0.05)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def give_totp(user) -> str:  # noqa: ANN001
    """Set up a TOTP authenticator for `user`; returns its secret."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def staff_login_with_totp(client: Client, user, password: str, secret: str):  # noqa: ANN001, ANN201
    """The staff journey: password, then the authenticator's code."""
    first = login(client, user.username, password)
    assert first.status_code == 302, first
    assert first.url.startswith(reverse("mfa_authenticate")), first.url
    return client.post(reverse("mfa_authenticate"), {"code": totp_now(secret)})


def migrate_to(targets: list[tuple[str, str | None]] | None) -> Apps:
    """Migrate the test database to `targets` (None: the latest migrations)
    and return the models as they stood there (a migration's test, in a
    transactional test)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets[0]).apps
