"""Settings fail loudly: a production process without its secret never starts."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_django(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_", "PORTAIL_"))
    }
    clean.update(env)
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_secret_key_with_debug_off_refuses_to_start():
    result = run_django("check")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_bad_boolean_is_refused_with_its_name():
    result = run_django("check", DJANGO_DEBUG="peut-etre")

    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = run_django(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="x" * 20
        + "production-like-secret-with-enough-entropy-1234567890",
        DJANGO_ALLOWED_HOSTS="portail.example.org",
    )

    assert result.returncode == 0, result.stderr


def test_debug_runs_without_any_variable():
    result = run_django("check", DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr
