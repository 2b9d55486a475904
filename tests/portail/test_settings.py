"""Settings fail loudly: a production process without its secret never starts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_django(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_", "PORTAIL_", "STRIPE_", "PAYFIP_"))
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


# The service's contact, required in production.
CONTACT = {
    "PORTAIL_SERVICE_PHONE": "0590 00 00 00",
    "PORTAIL_SERVICE_EMAIL": "restauration@example.org",
    "PORTAIL_SERVICE_HOURS": "du lundi au vendredi, de 8 h à 12 h",
}


def test_production_settings_pass_the_deploy_check():
    result = run_django(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="x" * 20
        + "production-like-secret-with-enough-entropy-1234567890",
        DJANGO_ALLOWED_HOSTS="portail.example.org",
        STRIPE_SECRET_KEY="sk_live_example",
        STRIPE_WEBHOOK_SECRET="whsec_example",
        PORTAIL_PUBLIC_URL="https://portail.example.org",
        **CONTACT,
    )

    assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_without_stripe_keys_or_with_the_stand_in():
    secret = "x" * 20 + "production-like-secret-with-enough-entropy-1234567890"
    site = {
        "DJANGO_SECRET_KEY": secret,
        "DJANGO_ALLOWED_HOSTS": "portail.example.org",
        "PORTAIL_PUBLIC_URL": "https://portail.example.org",
        **CONTACT,
    }
    without_keys = run_django("check", **site)
    with_standin = run_django(
        "check",
        **site,
        STRIPE_SECRET_KEY="sk_live_example",
        STRIPE_WEBHOOK_SECRET="whsec_example",
        STRIPE_API_BASE="http://127.0.0.1:12111",
    )

    assert without_keys.returncode != 0
    assert "STRIPE_SECRET_KEY" in without_keys.stderr
    assert with_standin.returncode != 0
    assert "stand-in" in with_standin.stderr


def test_a_commune_on_payfip_needs_no_stripe_keys():
    result = run_django(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY=STRONG,
        DJANGO_ALLOWED_HOSTS="portail.example.org",
        PORTAIL_PUBLIC_URL="https://portail.example.org",
        PORTAIL_PAYMENT_PROVIDER="payfip",
        PAYFIP_NUMCLI="123456",
        PAYFIP_MODE="W",
        **CONTACT,
    )

    assert result.returncode == 0, result.stderr


def test_debug_runs_without_any_variable():
    result = run_django("check", DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr


STRONG = "k8Jq2vX9mP4rT7wZ1yB6nC3dF5gH0jL-a_sdfQWERTYuiopZXCVbnm1234567890"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DJANGO_SECRET_KEY": "short-key"}, "too weak"),
        ({"DJANGO_SECRET_KEY": "a" * 60}, "too weak"),
        ({"DJANGO_DEBUG": "1", "PORTAIL_ENV": "production"}, "DJANGO_DEBUG"),
        (
            {"DJANGO_DEBUG": "1", "STRIPE_SECRET_KEY": "sk_live_x", "PORTAIL_ENV": ""},
            "live Stripe key",
        ),
        ({"STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_WEBHOOK_SECRET"),
        ({"STRIPE_API_BASE": "http://127.0.0.1:12111"}, "stand-in"),
        ({"PORTAIL_LOG_FORMAT": "xml"}, "PORTAIL_LOG_FORMAT"),
        ({"PORTAIL_PUBLIC_URL": ""}, "PORTAIL_PUBLIC_URL"),
        ({"PORTAIL_STAFF_REQUIRE_2FA": "0"}, "PORTAIL_STAFF_REQUIRE_2FA"),
        ({"PORTAIL_PUBLIC_URL": "portail.example.org"}, "PORTAIL_PUBLIC_URL"),
        ({"PORTAIL_SERVICE_PHONE": ""}, "PORTAIL_SERVICE_PHONE"),
        ({"PORTAIL_SERVICE_HOURS": ""}, "PORTAIL_SERVICE_HOURS"),
        ({"PORTAIL_PAYMENT_PROVIDER": "paypal"}, "PORTAIL_PAYMENT_PROVIDER"),
        ({"PORTAIL_PAYMENT_PROVIDER": "payfip"}, "PAYFIP_NUMCLI"),
        (
            {"PORTAIL_PAYMENT_PROVIDER": "payfip", "PAYFIP_NUMCLI": "12345"},
            "PAYFIP_NUMCLI",
        ),
        (
            {
                "PORTAIL_PAYMENT_PROVIDER": "payfip",
                "PAYFIP_NUMCLI": "123456",
                "PAYFIP_MODE": "P",
            },
            "PAYFIP_MODE",
        ),
        (
            {
                "PORTAIL_PAYMENT_PROVIDER": "payfip",
                "PAYFIP_NUMCLI": "123456",
                "PAYFIP_SERVICE_URL": "http://127.0.0.1:12112/tpa/services/securite",
            },
            "stand-in",
        ),
    ],
)
def test_unsafe_production_configurations_are_refused(env, named):
    base = {
        "DJANGO_SECRET_KEY": STRONG,
        "DJANGO_ALLOWED_HOSTS": "portail.example.org",
        "STRIPE_SECRET_KEY": "sk_live_example",
        "STRIPE_WEBHOOK_SECRET": "whsec_example",
        "PORTAIL_PUBLIC_URL": "https://portail.example.org",
        **CONTACT,
        "PORTAIL_ENV": "production",
    }
    base.update(env)

    result = run_django("check", **{k: v for k, v in base.items() if v != ""})

    assert result.returncode != 0
    assert named in result.stderr
