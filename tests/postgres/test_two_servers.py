"""Two server processes behind one proxy share sessions and the failed-login
counters (through the database; Redis works the same way) (PostgreSQL)."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from tests import clock
from tests.factories import ParentFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "deux serveurs une session"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def servers():  # noqa: ANN201
    s = connection.settings_dict
    database = (
        f"postgresql://{s.get('USER') or 'postgres'}@{s.get('HOST') or '127.0.0.1'}:"
        f"{s.get('PORT') or 5432}/{s['NAME']}"
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))
    }
    env.update(
        DATABASE_URL=database,
        DJANGO_DEBUG="1",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        PORTAIL_TASKS_BACKEND="immediate",
    )
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portail.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
            ],
            cwd=ROOT,
            env=clock.child_env(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 60
        for base in bases:
            while True:
                try:
                    urllib.request.urlopen(base + "/health/", timeout=5)  # noqa: S310 - local
                    break
                except OSError:  # refused, or a worker still starting: a timeout
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
        yield bases
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def browser():  # noqa: ANN201
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def post_login(opener, base: str, identifier: str, password: str) -> str:  # noqa: ANN001
    page = opener.open(base + "/compte/login/", timeout=10).read().decode()  # noqa: S310
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "login": identifier, "password": password}
    ).encode()
    try:
        return (
            opener.open(base + "/compte/login/", data=data, timeout=10).read().decode()
        )  # noqa: S310
    except urllib.error.HTTPError as error:
        return error.read().decode()


def test_a_session_opened_on_one_server_is_valid_on_the_other(servers):
    parent = ParentFactory()
    parent.password = PBKDF2PasswordHasher().encode(
        PASSWORD, "sel-de-test", iterations=1000
    )
    parent.save()
    opener = browser()

    post_login(opener, servers[0], parent.username, PASSWORD)
    home = opener.open(servers[1] + "/", timeout=10).read().decode()  # noqa: S310

    assert parent.family.identifier in home


def test_failed_logins_counted_on_one_server_block_the_other(servers):
    parent = ParentFactory()
    parent.password = PBKDF2PasswordHasher().encode(
        PASSWORD, "sel-de-test", iterations=1000
    )
    parent.save()
    for _ in range(5):
        failed = post_login(browser(), servers[0], parent.username, "mauvais")
        assert "incorrect" in failed

    page = post_login(browser(), servers[1], parent.username, PASSWORD)

    assert "Trop de tentatives" in page
