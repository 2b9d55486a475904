import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from familles.middleware import SESSION_LAST_SEEN_AT
from tests.factories import PARENT_PASSWORD
from tests.helpers import login

pytestmark = pytest.mark.django_db


def test_session_key_changes_at_login(client, parent):
    client.get(reverse("account_login"))
    client.session.save()
    before = client.session.session_key
    client.cookies["sessionid"] = before

    login(client, parent.family.identifier, PARENT_PASSWORD)

    after = client.cookies["sessionid"].value
    assert before and after
    assert before != after


def test_thirty_minutes_without_activity_end_the_session(client, parent):
    with time_machine.travel("2026-11-10 08:00 -04:00", tick=False) as traveller:
        login(client, parent.family.identifier, PARENT_PASSWORD)
        traveller.shift(datetime.timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200

        traveller.shift(datetime.timedelta(minutes=31))
        response = client.get(reverse("familles:dossier"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


def test_browsing_writes_the_session_once_a_minute_at_most(client, parent):
    """The last request's moment is recorded to the minute: pages asked for
    within it read the session and write nothing, and the inactivity timeout
    counts from the moment recorded (a session may end up to a minute
    early, never late)."""
    with time_machine.travel("2026-11-10 08:00 -04:00", tick=False) as traveller:
        login(client, parent.family.identifier, PARENT_PASSWORD)
        recorded = client.session[SESSION_LAST_SEEN_AT]
        traveller.shift(datetime.timedelta(seconds=59))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("home")).status_code == 200
        assert not [q for q in queries if q["sql"].startswith(("UPDATE", "INSERT"))]
        assert client.session[SESSION_LAST_SEEN_AT] == recorded

        traveller.shift(datetime.timedelta(seconds=1))  # a minute since
        assert client.get(reverse("home")).status_code == 200
        assert client.session[SESSION_LAST_SEEN_AT] == recorded + 60

        traveller.shift(datetime.timedelta(seconds=30))
        assert client.get(reverse("home")).status_code == 200  # not recorded
        traveller.shift(datetime.timedelta(minutes=29, seconds=31))
        response = client.get(reverse("home"))  # 30 min 1 s after 08:01

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_very_short_timeout_is_recorded_more_often(client, parent, settings):
    settings.SESSION_INACTIVITY_TIMEOUT = 30  # an operator's choice
    with time_machine.travel("2026-11-10 08:00 -04:00", tick=False) as traveller:
        login(client, parent.family.identifier, PARENT_PASSWORD)
        for _ in range(6):  # a request every 20 s for two minutes
            traveller.shift(datetime.timedelta(seconds=20))
            assert client.get(reverse("home")).status_code == 200


def test_an_active_session_still_ends_after_twelve_hours(client, parent):
    with time_machine.travel("2026-11-10 07:00 -04:00", tick=False) as traveller:
        login(client, parent.family.identifier, PARENT_PASSWORD)
        for _ in range(11 * 3):  # a request every 20 minutes for 11 hours
            traveller.shift(datetime.timedelta(minutes=20))
            assert client.get(reverse("home")).status_code == 200
        traveller.shift(datetime.timedelta(minutes=61))
        response = client.get(reverse("home"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_cookies_are_secure_outside_debug(settings):
    assert settings.DEBUG is False
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.CSRF_COOKIE_SECURE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
