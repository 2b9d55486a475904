"""Browser journeys: Playwright drives Debian's Chromium against the portal
served by a real server process (tests/e2e/serve.py) with the demo data and
the local Stripe stand-in. Without Chromium they are skipped with the
reason; CI installs it and sets PORTAIL_REQUIRE_BROWSER=1 so they never skip
there."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import clock

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PORTAIL_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 360, "height": 740},
}
IN_WINDOW = "2026-12-05T10:00-04:00"
OUT_OF_WINDOW = "2026-12-15T10:00-04:00"


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("PORTAIL_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"Browser journeys need Chromium at {CHROMIUM}.")
    skip = pytest.mark.skip(
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    )
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def portal_env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))
    }
    env.update(
        DJANGO_DEBUG="1",
        DATABASE_URL=f"sqlite:///{var_dir / 'portail.sqlite3'}",
        PORTAIL_VAR_DIR=str(var_dir),
        PORTAIL_TASKS_BACKEND="immediate",
        PORTAIL_SESSION_INACTIVITY_SECONDS="86400",
    )
    env.pop("DATABASE_URL_TEST", None)
    return env


@dataclass
class Portal:
    url: str
    var_dir: Path
    demo: dict[str, str]
    env: dict[str, str]  # the server's, for a worker started beside it

    def run_worker(self, fake_now: str = IN_WINDOW) -> None:
        """Do the tasks waiting in the database, as the worker would."""
        subprocess.run(  # noqa: S603
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--batch",
                "--no-startup-delay",
                "--queue-name=*",
            ],
            cwd=ROOT,
            env=clock.child_env(self.env, clock.parse(fake_now)),
            check=True,
            capture_output=True,
            timeout=300,
        )


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One demo database, copied for each server, seeded on the day the
    journeys happen (the demo is built from the day it is loaded)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    var_dir = tmp_path_factory.mktemp("seed")
    env = clock.child_env(portal_env(var_dir), clock.parse(IN_WINDOW))
    python = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput", "-v0"], ["createcachetable"]):
        subprocess.run([*python, *command], cwd=ROOT, env=env, check=True)  # noqa: S603
    seed = subprocess.run(  # noqa: S603
        [*python, "seed_demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    code = re.search(r"activation code (\S+)", seed).group(1)
    return var_dir, {"code": code}


def serve(
    seeded: tuple[Path, dict[str, str]], tmp: Path, fake_now: str, **extra_env: str
) -> Iterator[Portal]:
    source, demo = seeded
    var_dir = tmp / "var"
    shutil.copytree(source, var_dir)
    env = {**portal_env(var_dir), **extra_env}
    port, standin_port = free_port(), free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            str(ROOT / "tests/e2e/serve.py"),
            str(port),
            str(standin_port),
        ],
        cwd=ROOT,
        env=clock.child_env(env, clock.parse(fake_now)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/health/", timeout=5)  # noqa: S310 - local server
            break
        except OSError:  # refused, or still starting: a timeout
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the portal did not start") from None
            time.sleep(0.3)
    try:
        yield Portal(url=url, var_dir=var_dir, demo=demo, env=env)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session", params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def portal(seeded, viewport, tmp_path_factory) -> Iterator[Portal]:  # noqa: ANN001
    """In the online payment window (5 December 2026)."""
    yield from serve(seeded, tmp_path_factory.mktemp(f"in-{viewport}"), IN_WINDOW)


@pytest.fixture(scope="session")
def payfip_portal(seeded, viewport, tmp_path_factory) -> Iterator[Portal]:  # noqa: ANN001
    """The portal of a commune that chose PayFiP, with PayFiP's stand-in."""
    tmp = tmp_path_factory.mktemp(f"payfip-{viewport}")
    yield from serve(seeded, tmp, IN_WINDOW, PORTAIL_PAYMENT_PROVIDER="payfip")


@pytest.fixture(scope="session")
def closed_portal(seeded, viewport, tmp_path_factory) -> Iterator[Portal]:  # noqa: ANN001
    """Outside the window (15 December 2026)."""
    yield from serve(seeded, tmp_path_factory.mktemp(f"out-{viewport}"), OUT_OF_WINDOW)


@pytest.fixture(scope="session")
def worker_portal(seeded, viewport, tmp_path_factory) -> Iterator[Portal]:  # noqa: ANN001
    """Tasks wait in the database until the journey runs the worker."""
    yield from serve(
        seeded,
        tmp_path_factory.mktemp(f"worker-{viewport}"),
        IN_WINDOW,
        PORTAIL_TASKS_BACKEND="database",
    )


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, viewport):  # noqa: ANN001, ANN201
    context = browser.new_context(
        viewport=VIEWPORTS[viewport], locale="fr-FR", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    # Anything the Content-Security-Policy blocks is a bug of the page.
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()
    assert refused == []


@pytest.fixture(autouse=True)
def _no_database_access() -> None:
    """The journeys talk to the server process, never to the test database."""
