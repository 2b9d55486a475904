import os
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection

from tests.factories import (
    ChildFactory,
    FamilyFactory,
    GuardianFactory,
    ParentFactory,
    StaffFactory,
)

# In CI's PostgreSQL run this is set: a test that needs PostgreSQL then fails
# instead of being skipped, so locking tests can never be skipped silently.
REQUIRE_POSTGRES = os.environ.get("PORTAIL_REQUIRE_POSTGRES") == "1"

# PORTAIL_TEST_TODAY moves the whole suite's clock, and that of every Python
# process it starts (tests/clock.py), to a moment chosen to replay a run.
TEST_TODAY = os.environ.get("PORTAIL_TEST_TODAY", "").strip()


def pytest_configure(config: pytest.Config) -> None:
    if not TEST_TODAY:
        return
    from tests import clock

    moment = clock.parse(TEST_TODAY)
    os.environ.update(clock.child_env(dict(os.environ), moment))
    time_machine.travel(moment.timestamp(), tick=True).start()


def pytest_report_header(config: pytest.Config) -> str:
    if not TEST_TODAY:
        return "clock: today (PORTAIL_TEST_TODAY=2027-03-15T23:30-04:00 moves it)"
    from tests import clock

    return f"clock: PORTAIL_TEST_TODAY={TEST_TODAY} ({clock.parse(TEST_TODAY)})"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") is None:
        return
    if connection.vendor != "postgresql":
        if REQUIRE_POSTGRES:
            pytest.fail("This test needs PostgreSQL (DATABASE_URL=postgres://...).")
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://...")


@pytest.fixture(autouse=True)
def _moment(request: pytest.FixtureRequest):  # noqa: ANN202
    """`@pytest.mark.now("2026-11-05 09:00 -04:00")`: the test and its
    fixtures (logins, data) happen at that moment, the clock ticking."""
    marker = request.node.get_closest_marker("now")
    if marker is None:
        yield
        return
    from tests import clock

    with time_machine.travel(clock.parse(marker.args[0]), tick=True):
        yield


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):  # noqa: ANN001, ANN202
    """Uploaded documents go to a folder of the test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }


@pytest.fixture(autouse=True)
def _clear_cache(request: pytest.FixtureRequest) -> None:
    # The failed-login counters live in the cache (a database table by
    # default): each test that uses the database starts at zero.
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if uses_db:
        cache.clear()


@pytest.fixture(autouse=True)
def _open_flags_hold(request: pytest.FixtureRequest):  # noqa: ANN202
    """After every test that used the database, each invoice's stored
    `is_open` equals the derived truth: whatever money operation the test
    made through the services, the flag followed."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        request.getfixturevalue("_django_db_helper")
    elif "db" in request.fixturenames or "transactional_db" in request.fixturenames:
        request.getfixturevalue(
            "transactional_db" if "transactional_db" in request.fixturenames else "db"
        )
    else:
        yield
        return
    yield
    from factures.models import Invoice

    wrong = list(Invoice.objects.open_flags_wrong().values_list("number", "is_open"))
    assert not wrong, f"is_open differs from the invoices' state: {wrong}"
    from paiements.models import Payment

    wrong = list(Payment.objects.left_flags_wrong().values_list("number", "has_left"))
    assert not wrong, f"has_left differs from the payments' left: {wrong}"
    wrong = _accounts_wrong()
    assert not wrong, f"the account's SQL differs from the ORM's: {wrong}"


def _accounts_wrong() -> list[tuple]:
    """The families whose account as the records stand (`family_account`,
    its hand-written SQL) differs from the truth the ORM derives from every
    invoice and payment, flags aside: what the open invoices still wait for,
    the part of it disputed, what the payments hold."""
    from factures.models import Invoice
    from factures.money import round_money
    from familles.models import Family
    from paiements.accounts import family_account
    from paiements.models import Payment

    truth: dict[int, list[Decimal]] = {}
    for family_id, due, state in (
        Invoice.objects.with_balance()
        .filter(state__in=Invoice.OPEN_STATES)
        .values_list("family_id", "due", "state")
    ):
        sums = truth.setdefault(family_id, [Decimal(0)] * 3)
        sums[0] += due
        if state == Invoice.Status.DISPUTED:
            sums[1] += due
    for family_id, left in Payment.objects.with_left().values_list("family_id", "left"):
        truth.setdefault(family_id, [Decimal(0)] * 3)[2] += left
    wrong = []
    for family in Family.objects.filter(pk__in=list(truth)):
        account = family_account(family)
        found = [account.owed, account.disputed, account.credit]
        expected = [round_money(value) for value in truth[family.pk]]
        if found != expected:
            wrong.append((family.identifier, found, expected))
    return wrong


@pytest.fixture
def family(db):  # noqa: ANN001, ANN201
    family = FamilyFactory(name="Dorville")
    GuardianFactory(family=family, first_name="Josiane", email="josiane@example.org")
    ChildFactory(family=family, first_name="Kenzo")
    ChildFactory(family=family, first_name="Inaya")
    return family


@pytest.fixture
def parent(family):  # noqa: ANN001, ANN201
    from familles.services import family_login_emails_sync

    login = ParentFactory(family=family)
    family_login_emails_sync(family=family)  # as the agents' login creation does
    login.refresh_from_db()
    return login


@pytest.fixture
def other_family(db):  # noqa: ANN001, ANN201
    family = FamilyFactory(name="Ramassamy")
    GuardianFactory(family=family, first_name="Frantz", email="frantz@example.org")
    ChildFactory(family=family, first_name="Noam")
    return family


@pytest.fixture
def other_parent(other_family):  # noqa: ANN001, ANN201
    return ParentFactory(family=other_family)


@pytest.fixture
def staff(db):  # noqa: ANN001, ANN201
    return StaffFactory(is_superuser=True)


STAFF_PASSWORD = "mot de passe agent 2026"


@pytest.fixture
def staff_client(client, staff):  # noqa: ANN001, ANN201
    """A client logged in as a superuser who passed the second factor."""
    from tests.helpers import give_totp, staff_login_with_totp

    response = staff_login_with_totp(client, staff, STAFF_PASSWORD, give_totp(staff))
    assert response.status_code == 302
    return client


# The invoices fixtures serve the PostgreSQL tests too.
from tests.factures.conftest import after_school, canteen, prices  # noqa: E402, F401
from tests.paiements.conftest import online, payfip_standin, standin  # noqa: E402, F401
