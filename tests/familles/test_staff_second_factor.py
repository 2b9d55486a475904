import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from familles.models import User
from tests.conftest import STAFF_PASSWORD
from tests.factories import (
    StaffFactory,
)
from tests.helpers import give_totp, login, staff_login_with_totp

pytestmark = pytest.mark.django_db


def test_second_factor_is_required_by_default_outside_debug(settings):
    assert settings.DEBUG is False
    assert settings.STAFF_REQUIRE_SECOND_FACTOR is True


def test_staff_without_authenticator_are_sent_to_set_one_up(client, staff):
    login(client, staff.username, STAFF_PASSWORD)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("familles:staff_enrolment"))


def test_password_alone_does_not_open_the_admin(client, staff):
    give_totp(staff)

    first = login(client, staff.username, STAFF_PASSWORD)

    assert first.url.startswith(reverse("mfa_authenticate"))
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302


def test_wrong_code_does_not_open_the_admin(client, staff):
    give_totp(staff)
    login(client, staff.username, STAFF_PASSWORD)

    client.post(reverse("mfa_authenticate"), {"code": "000000"})

    assert "_auth_user_id" not in client.session


def test_password_and_code_open_the_admin(client, staff):
    secret = give_totp(staff)

    response = staff_login_with_totp(client, staff, STAFF_PASSWORD, secret)

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_session_without_second_factor_is_asked_for_a_code(client, staff):
    give_totp(staff)
    client.force_login(staff)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa_reauthenticate"))


def test_switch_off_lets_staff_in_with_a_password(client, staff, settings):
    settings.STAFF_REQUIRE_SECOND_FACTOR = False
    login(client, staff.username, STAFF_PASSWORD)

    assert client.get(reverse("admin:index")).status_code == 200
    assert not Authenticator.objects.filter(user=staff).exists()


def test_parents_never_reach_the_admin(client, parent):
    client.force_login(parent)

    response = client.get(reverse("admin:index"), follow=True)

    assert response.status_code == 403


def test_parents_cannot_reach_the_second_factor_pages(client, parent):
    client.force_login(parent)

    assert client.get(reverse("mfa_activate_totp")).status_code == 404
    assert client.get(reverse("mfa_index")).status_code == 404


def test_only_administrators_edit_staff_accounts(client, staff):
    from django.contrib.auth.models import Permission

    from tests.conftest import STAFF_PASSWORD
    from tests.helpers import give_totp, staff_login_with_totp

    agent = StaffFactory()
    agent.user_permissions.set(
        Permission.objects.filter(codename__in=["change_user", "view_user"])
    )
    staff_login_with_totp(client, agent, STAFF_PASSWORD, give_totp(agent))

    response = client.post(
        reverse("admin:auth_user_password_change", args=[staff.pk]),
        {"password1": "prise de controle 2026", "password2": "prise de controle 2026"},
    )

    assert response.status_code == 403
    assert User.objects.get(pk=staff.pk).check_password(STAFF_PASSWORD)


def test_the_authenticator_secret_is_encrypted_at_rest(staff_client, staff):
    from allauth.mfa.models import Authenticator

    (totp,) = Authenticator.objects.filter(user=staff, type="totp")

    assert totp.data["secret"].startswith("fernet:")
    assert len(totp.data["secret"]) > 60  # not the 32-character base32 key
    # And the second factor still works: staff_client logged in with it.
    assert staff_client.get(reverse("admin:index")).status_code == 200


def test_secrets_stored_before_encryption_are_encrypted_by_the_migration(staff):
    import importlib

    from allauth.mfa.models import Authenticator
    from django.apps import apps

    from familles.mfa import PortalMFAAdapter

    raw = "JBSWY3DPEHPK3PXP" * 2
    totp = Authenticator.objects.create(user=staff, type="totp", data={"secret": raw})
    migration = importlib.import_module(
        "familles.migrations.0006_encrypt_authenticators"
    )

    migration.encrypt_secrets(apps, None)
    migration.encrypt_secrets(apps, None)  # twice: nothing more

    totp.refresh_from_db()
    assert totp.data["secret"] != raw
    assert PortalMFAAdapter().decrypt(totp.data["secret"]) == raw
