"""Scheduled jobs, health probe and logs."""

import json
import logging
import threading

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from portail.jobs import job_lock
from portail.logging import JsonFormatter
from portail.models import JobRun
from tests.factories import PARENT_PASSWORD
from tests.helpers import login

pytestmark = pytest.mark.django_db


def run(command: str) -> str:
    import io

    out = io.StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("command", "lock"),
    [
        ("reconcile_payments", "reconcile_payments"),
        ("send_payment_reminders", "send_payment_reminders"),
        ("housekeeping", "housekeeping"),
    ],
)
def test_a_job_already_running_elsewhere_is_not_run_twice(command, lock):
    with job_lock(lock) as mine:
        assert mine
        assert "Already running" in run(command)
    assert "Already running" not in run(command)  # the lock was released
    assert JobRun.objects.filter(name=lock).exists()


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_held_by_one_of_two_concurrent_runs():
    results = []
    barrier = threading.Barrier(2)

    def attempt():  # noqa: ANN202
        barrier.wait()
        with job_lock("concurrent") as mine:
            results.append(mine)
            barrier_after.wait(timeout=5)

    barrier_after = threading.Barrier(2)
    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(results) == [False, True]
    assert cache.get("job-lock:concurrent") is None


def test_a_cache_write_that_fails_does_not_make_the_lock_look_held(monkeypatch):
    """The database cache answers False to add() when SQLite reports "database
    is locked"; nobody holds the lock then, and the job must still run."""
    real_add, calls = cache.add, []

    def add_failing_once(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(args[0])
        return False if len(calls) == 1 else real_add(*args, **kwargs)

    monkeypatch.setattr(cache, "add", add_failing_once)

    with job_lock("flaky") as mine:
        assert mine
        assert cache.get("job-lock:flaky") is not None
    assert len(calls) == 2
    assert cache.get("job-lock:flaky") is None


def test_a_table_locked_for_a_moment_is_waited_for(monkeypatch):
    from django.db import OperationalError

    real_add, calls = cache.add, []

    def add_locked_once(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(args[0])
        if len(calls) == 1:
            raise OperationalError("database table is locked: portail_cache")
        return real_add(*args, **kwargs)

    monkeypatch.setattr(cache, "add", add_locked_once)

    with job_lock("locked") as mine:
        assert mine
    assert len(calls) == 2


def test_a_cache_that_keeps_failing_is_an_error_not_a_held_lock(monkeypatch):
    from django.db import OperationalError

    def add_broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OperationalError("no such table: portail_cache")

    monkeypatch.setattr(cache, "add", add_broken)

    with pytest.raises(OperationalError), job_lock("broken"):
        pass


def test_health_answers_for_a_probe_without_personal_data(client, parent, settings):
    settings.DEBUG = True  # no reconciliation expected yet

    response = client.get(reverse("health"))

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok" and body["checks"]["database"] == "ok"
    assert parent.family.identifier not in response.text


def test_health_is_degraded_when_reconciliation_has_stopped(client, db, settings):
    settings.DEBUG = False

    stale = client.get(reverse("health"))
    run("reconcile_payments")
    fresh = client.get(reverse("health"))

    assert stale.status_code == 503 and stale.json()["status"] == "degraded"
    assert fresh.status_code == 200 and fresh.json()["checks"]["last_reconciliation"]


class Collect(logging.Handler):
    """Formats each record at once, as the console handler does."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_logins_are_logged_as_json_without_the_password(client, parent):
    handler = Collect()
    portal = logging.getLogger("portail")
    portal.addHandler(handler)
    previous = portal.level
    portal.setLevel(logging.INFO)
    try:
        login(client, parent.family.identifier, "un-mot-de-passe-faux")
        login(client, parent.family.identifier, PARENT_PASSWORD)
    finally:
        portal.removeHandler(handler)
        portal.setLevel(previous)

    lines = handler.lines
    events = [json.loads(line) for line in lines]

    assert {"login_failure", "login_success"} <= {e.get("event") for e in events}
    assert all("un-mot-de-passe-faux" not in line for line in lines)
    assert all(PARENT_PASSWORD not in line for line in lines)
    success = next(e for e in events if e.get("event") == "login_success")
    assert success["user_id"] == str(parent.pk)
    assert success["request_id"]
    failure = next(e for e in events if e.get("event") == "login_failure")
    assert failure["client_ip"] == "127.0.0.1"  # the test client's address


def test_responses_carry_a_request_id_and_refusals_are_logged(client, parent, caplog):
    caplog.set_level(logging.WARNING, logger="portail.access")
    client.force_login(parent)

    response = client.get(reverse("factures:detail", args=[999999]))

    assert response.status_code == 404
    assert len(response["X-Request-ID"]) == 32
    refused = [r for r in caplog.records if getattr(r, "event", "") == "access_refused"]
    assert refused and refused[0].status == 404
