"""Settings of Portail Familles: one file, read from environment variables.

Every variable has an embedded default that lets a fresh checkout run on SQLite
with local files, except the secrets of a production run (DEBUG off), which
must be given: the process refuses to start without them. `.env.example`
lists every variable.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    """Return the variable, or `default`; fail loudly if neither exists."""
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"The environment variable {name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name} must be a boolean (1/0, true/false), not {value!r}."
    )


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be an integer, not {value!r}."
        ) from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# pytest (>= 8.2) sets PYTEST_VERSION for the run: the suite gets a fixed test
# key instead of asking every contributor to export one.
TESTING = "PYTEST_VERSION" in os.environ

DEBUG = env_bool("DJANGO_DEBUG", False)

# The deployment's environment file says PORTAIL_ENV=production: then no
# development switch is accepted, whatever else the environment says.
PRODUCTION = env_str("PORTAIL_ENV", "development") == "production"
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off when PORTAIL_ENV=production.")

if DEBUG or TESTING:
    SECRET_KEY = env_str(
        "DJANGO_SECRET_KEY", "insecure-development-key-never-use-in-production"
    )
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 10 or "insecure" in SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is too weak: use at least 50 random characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )

# Old keys, still accepted while sessions and encrypted secrets move to the
# new one (comma-separated).
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS",
    ["127.0.0.1", "localhost", "testserver"] if DEBUG or TESTING else [],
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Where the portal keeps its files when no other place is configured:
# the SQLite database, development e-mails and uploaded documents.
VAR_DIR = Path(env_str("PORTAIL_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "phonenumber_field",
    "django_tasks_db",
    "simple_history",
    "portail",
    "familles",
    "factures",
    "paiements",
    "signalements",
    "fusions",
]
# The developers' tools (the Stripe stand-in's command) are never installed
# in production.
if DEBUG or TESTING:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "portail.logging.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portail.methods.AllowedMethodsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "familles.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "familles.middleware.ActivationRequiredMiddleware",
    "familles.middleware.StaffSecondFactorMiddleware",
]

ROOT_URLCONF = "portail.urls"
WSGI_APPLICATION = "portail.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portail.context_processors.portal",
            ],
        },
    },
]

# SQLite by default so that a checkout runs with nothing installed;
# DATABASE_URL=postgres://... for production (and the PostgreSQL test run).
if "DATABASE_URL" not in os.environ:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portail.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves the web process, the task worker and the
    # jobs at once: write transactions take SQLite's write lock when they
    # begin (a read-then-write transaction cannot wait for it later) and
    # wait up to 20 s for it; WAL lets readers go on meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: the balance SQL's correlated subqueries give
    # PostgreSQL cost estimates that switch it on, and compiling took 15 ms
    # to save less than one on queries that run in a few (bench/invoicing.py).
    # Sent when connecting; a pooler such as PgBouncer must let it through
    # (ignore_startup_parameters = options), or set jit = off on the role.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds the failed-login counters, so it must be shared by every
# server process: Redis when REDIS_URL is set, else a table of the database.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portail",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portail_cache",
        }
    }

AUTH_USER_MODEL = "familles.User"
AUTHENTICATION_BACKENDS = [
    "familles.auth_backends.AccountBackend",  # allauth's, user read with family
    "familles.auth_backends.ActivationCodeBackend",
]
_VALIDATORS = "django.contrib.auth.password_validation"
# At least 8 characters, common and all-digit passwords refused, no maximum
# length and no composition rules.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {
        "NAME": f"{_VALIDATORS}.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]

if TESTING:
    # Hashing cost is not what the suite tests; PBKDF2 would dominate its time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: families log in with their identifier; nobody signs up
# (agents create the logins).
ACCOUNT_ADAPTER = "familles.adapters.PortalAccountAdapter"
ACCOUNT_FORMS = {
    "login": "familles.forms.LoginForm",
    "reset_password": "familles.forms.ResetPasswordForm",
}
# An address with no confirmed login gets no e-mail at all.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_PREVENT_ENUMERATION = True
# Changing an e-mail address asks for the password again after 5 minutes.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
# A parent may be a guardian in two households: an address can belong to
# several logins (a reset then reaches each of them).
ACCOUNT_UNIQUE_EMAIL = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Portail Familles] "
ACCOUNT_RATE_LIMITS = {
    # A brute force on one identifier, or from one address, is slowed down.
    "login_failed": env_str("PORTAIL_LOGIN_RATE_LIMIT", "5/15m/key,30/15m/ip"),
    "reset_password": "5/h/ip,3/h/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "familles.mfa.PortalMFAAdapter"  # secrets encrypted at rest
MFA_TOTP_ISSUER = "Portail Familles"

# Staff reach the admin only after a second factor (TOTP). On by default
# outside DEBUG; the demo (DEBUG on) leaves it off and says so.
STAFF_REQUIRE_SECOND_FACTOR = env_bool("PORTAIL_STAFF_REQUIRE_2FA", not DEBUG)
if PRODUCTION and not STAFF_REQUIRE_SECOND_FACTOR:
    raise ImproperlyConfigured(
        "PORTAIL_STAFF_REQUIRE_2FA cannot be off when PORTAIL_ENV=production: "
        "staff reach every family's data and money."
    )

# Sessions: a new key at every login (django.contrib.auth.login does it), an
# inactivity timeout and an absolute lifetime (SessionLifetimeMiddleware).
SESSION_INACTIVITY_TIMEOUT = env_int("PORTAIL_SESSION_INACTIVITY_SECONDS", 30 * 60)
SESSION_ABSOLUTE_LIFETIME = env_int("PORTAIL_SESSION_LIFETIME_SECONDS", 12 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_LIFETIME
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "portail.views.csrf_failure"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not (DEBUG or TESTING))
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env_bool("DJANGO_BEHIND_HTTPS_PROXY", False)
    else None
)
# Behind the proxy, allauth's per-address rate limits must see the client's
# address (X-Forwarded-For), not the proxy's: otherwise one person could
# lock every family out.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int(
    "PORTAIL_TRUSTED_PROXY_COUNT", 1 if SECURE_PROXY_SSL_HEADER else 0
)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Calendar rules are decided on the commune's local date (UTC-4, no DST).
TIME_ZONE = env_str("PORTAIL_TIME_ZONE", "America/Guadeloupe")
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = env_str("PORTAIL_PHONE_REGION", "GP")
PHONENUMBER_DB_FORMAT = "E164"

# Content-Security-Policy (Django's own): the portal's pages load their
# scripts, styles and images from the portal alone, run no inline script or
# style, and are never framed. (Card payment redirects to Stripe's page.)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}

# Families' documents and the paper batches are readable by the portal's
# user alone, whatever the server's umask.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Tests and development read static files from their sources; no collectstatic.
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "private")},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# E-mail: SMTP in production; in development every message is written as a
# file under var/mail/ (the test suite keeps them in memory).
DEFAULT_FROM_EMAIL = env_str(
    "DJANGO_DEFAULT_FROM_EMAIL", "Portail Familles <ne-pas-repondre@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if DEBUG:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("DJANGO_EMAIL_HOST", "localhost"),
                "port": env_int("DJANGO_EMAIL_PORT", 25),
                "username": env_str("DJANGO_EMAIL_USER", ""),
                "password": env_str("DJANGO_EMAIL_PASSWORD", ""),
                "use_tls": env_bool("DJANGO_EMAIL_TLS", False),
                "timeout": 20,
            },
        }
    }

# Background work (e-mails): run at once in development and tests; in
# production stored in the database and run by `manage.py db_worker`.
_TASK_BACKENDS = {
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}
_task_backend = env_str(
    "PORTAIL_TASKS_BACKEND", "immediate" if DEBUG or TESTING else "database"
)
if _task_backend not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"PORTAIL_TASKS_BACKEND must be one of {sorted(_TASK_BACKENDS)}, "
        f"not {_task_backend!r}."
    )
# Paper batches print on a queue of their own ("impressions"), so that a
# worker given to it leaves e-mails to the others (docs/DEPLOYMENT.md).
TASKS = {
    "default": {
        "BACKEND": _TASK_BACKENDS[_task_backend],
        "QUEUES": ["default", "impressions"],
    }
}

# One JSON object per line in production (for the log collector); plain text
# while developing.
LOG_FORMAT = env_str("PORTAIL_LOG_FORMAT", "text" if DEBUG or TESTING else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(
        f"PORTAIL_LOG_FORMAT must be json or text, not {LOG_FORMAT!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "portail.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"production": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
        # The worker's own failures, e-mailed to ADMINS like the server errors
        # and failed tasks that Django's "django" logger already sends them.
        "operators": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["production"],
            "include_html": False,
        },
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # WeasyPrint and fontTools narrate every PDF at INFO.
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
        "django_tasks_db": {"handlers": ["operators"]},
    },
}
# Who is told of a server error or a failed job (comma-separated e-mail
# addresses); the report carries no form value, query or cookie.
ADMINS = env_list("PORTAIL_ADMINS", [])
DEFAULT_EXCEPTION_REPORTER_FILTER = "portail.logging.PersonalDataFilter"
DEFAULT_EXCEPTION_REPORTER = "portail.logging.PersonalDataReporter"

# --- The commune: facts printed on letters, invoices and help pages. -------
PORTAIL_COMMUNE = {
    "name": env_str("PORTAIL_COMMUNE_NAME", "Petit-Bourg"),
    "service": env_str("PORTAIL_SERVICE_NAME", "Service de la restauration scolaire"),
    "address": env_str("PORTAIL_SERVICE_ADDRESS", "Hôtel de ville, 97170 Petit-Bourg"),
    # How families reach the service: on every page's footer, the help, the
    # blocked and reset pages, e-mails and PDFs. Demo values in development
    # and tests; production refuses to start without them (below).
    "phone": env_str(
        "PORTAIL_SERVICE_PHONE", "0590 00 00 00" if DEBUG or TESTING else ""
    ),
    "email": env_str(
        "PORTAIL_SERVICE_EMAIL", "restauration@example.org" if DEBUG or TESTING else ""
    ),
    "hours": env_str(
        "PORTAIL_SERVICE_HOURS",
        "lundi, mardi, jeudi et vendredi, de 8 h à 12 h" if DEBUG or TESTING else "",
    ),
    # The public-sector pages (legal notice, personal data, accessibility).
    "publication_director": env_str(
        "PORTAIL_PUBLICATION_DIRECTOR",
        f"le maire de {env_str('PORTAIL_COMMUNE_NAME', 'Petit-Bourg')}",
    ),
    "host": env_str(
        "PORTAIL_HOST",
        "les serveurs de la commune (à préciser par l’exploitant : PORTAIL_HOST)",
    ),
    "dpo_email": env_str("PORTAIL_DPO_EMAIL", ""),
    "accounts_keep_years": str(env_int("PORTAIL_ACCOUNTS_KEEP_YEARS", 10)),
    "accessibility_checked_on": env_str("PORTAIL_ACCESSIBILITY_DATE", "2026-12-06"),
    # The portal's public address, printed on PDFs, letters and e-mails.
    "portal_url": env_str(
        "PORTAIL_PUBLIC_URL", "http://127.0.0.1:8000" if DEBUG or TESTING else None
    ).rstrip("/"),
}
_CONTACT = ["PORTAIL_SERVICE_PHONE", "PORTAIL_SERVICE_EMAIL", "PORTAIL_SERVICE_HOURS"]
if not all(PORTAIL_COMMUNE[key] for key in ("phone", "email", "hours")):
    raise ImproperlyConfigured(
        f"{', '.join(_CONTACT)} must be set: families are told how to reach the "
        "canteen service (its phone, e-mail and desk hours) on the pages, in "
        "e-mails and on PDFs."
    )
if not PORTAIL_COMMUNE["portal_url"].startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        "PORTAIL_PUBLIC_URL must be the portal's address as families type it, "
        f"like https://portail.example.org; got {PORTAIL_COMMUNE['portal_url']!r}."
    )
# Payment rules (read through paiements.rules, never from here directly):
# the days of the month when families pay online and at the canteen desk, and
# how many unpaid invoices may still be paid online.
PORTAIL_ONLINE_PAYMENT_DAYS = env_str("PORTAIL_ONLINE_PAYMENT_DAYS", "1-10")
PORTAIL_DESK_PAYMENT_DAYS = env_str("PORTAIL_DESK_PAYMENT_DAYS", "7-25")
PORTAIL_UNPAID_LIMIT = env_int("PORTAIL_UNPAID_LIMIT", 2)
# /health/: how many tasks may wait, and how old the last reconciliation may be.
PORTAIL_HEALTH_MAX_BACKLOG = env_int("PORTAIL_HEALTH_MAX_BACKLOG", 100)
PORTAIL_HEALTH_RECONCILE_MINUTES = env_int("PORTAIL_HEALTH_RECONCILE_MINUTES", 30)
# The day of the month when families with payable invoices get a reminder.
PORTAIL_REMINDER_DAY = env_int("PORTAIL_REMINDER_DAY", 8)

# --- Online payments: Stripe Checkout or PayFiP. ---------------------------------
# The commune's provider; a payment keeps the one it was opened with.
PORTAIL_PAYMENT_PROVIDER = env_str("PORTAIL_PAYMENT_PROVIDER", "stripe")
if PORTAIL_PAYMENT_PROVIDER not in ("stripe", "payfip"):
    raise ImproperlyConfigured(
        "PORTAIL_PAYMENT_PROVIDER must be stripe or payfip; "
        f"got {PORTAIL_PAYMENT_PROVIDER!r}."
    )

# --- Card payments: Stripe Checkout. --------------------------------------------
# Without keys (development, tests, the demo) the portal talks to the local
# stand-in (`manage.py stripe_standin`), which is refused outside DEBUG/tests.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
if DEBUG and STRIPE_SECRET_KEY.startswith("sk_live_"):
    raise ImproperlyConfigured("A live Stripe key is refused while DJANGO_DEBUG is on.")
if DEBUG or TESTING:
    _STANDIN_KEY = "sk_test_standin"  # noqa: S105 - the local stand-in's, not a secret
    STRIPE_SECRET_KEY = STRIPE_SECRET_KEY or _STANDIN_KEY
    STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or "whsec_standin"
    if STRIPE_SECRET_KEY == _STANDIN_KEY:
        STRIPE_API_BASE = STRIPE_API_BASE or "http://127.0.0.1:12111"
else:
    if PORTAIL_PAYMENT_PROVIDER == "stripe" and not (
        STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET
    ):
        raise ImproperlyConfigured(
            "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set (card payments)."
        )
    if STRIPE_API_BASE:
        raise ImproperlyConfigured(
            "STRIPE_API_BASE points the portal at a Stripe stand-in: never in "
            "production. Unset it."
        )
# Where the stand-in delivers its webhooks (development only).
STRIPE_STANDIN_WEBHOOK_URL = env_str(
    "STRIPE_STANDIN_WEBHOOK_URL", "http://127.0.0.1:8000/paiements/webhook/stripe/"
)
# A Checkout Session stays payable this long; reconciliation looks at sessions
# still pending after PORTAIL_RECONCILE_AFTER_MINUTES.
# (Stripe's minimum is 30 minutes: keep a margin.)
STRIPE_SESSION_MINUTES = env_int("PORTAIL_CHECKOUT_MINUTES", 35)

# --- PayFiP, the Treasury's online payment (PORTAIL_PAYMENT_PROVIDER=payfip). ---
# The régie's client number (numcli, six digits, given by the DGFiP) and the
# mode: T test, X activation, W production (docs/DEPLOYMENT.md). Without them
# in development and tests, the local stand-in's (`manage.py payfip_standin`),
# which is refused outside DEBUG/tests.
PAYFIP_NUMCLI = os.environ.get("PAYFIP_NUMCLI", "")
PAYFIP_MODE = env_str("PAYFIP_MODE", "T")
PAYFIP_SERVICE_URL = os.environ.get("PAYFIP_SERVICE_URL", "")
PAYFIP_PAYMENT_URL = os.environ.get("PAYFIP_PAYMENT_URL", "")
PAYFIP_TIMEOUT_SECONDS = env_int("PAYFIP_TIMEOUT_SECONDS", 15)
if PAYFIP_MODE not in ("T", "X", "W"):
    raise ImproperlyConfigured(
        f"PAYFIP_MODE must be T (test), X (activation) or W (production); "
        f"got {PAYFIP_MODE!r}."
    )
if DEBUG or TESTING:
    PAYFIP_NUMCLI = PAYFIP_NUMCLI or "000000"
    if PAYFIP_NUMCLI == "000000":  # the stand-in's client number
        PAYFIP_SERVICE_URL = (
            PAYFIP_SERVICE_URL or "http://127.0.0.1:12112/tpa/services/securite"
        )
        PAYFIP_PAYMENT_URL = PAYFIP_PAYMENT_URL or PAYFIP_SERVICE_URL.replace(
            "/tpa/services/securite", "/tpa/paiementws.web"
        )
elif PORTAIL_PAYMENT_PROVIDER == "payfip":
    if not (len(PAYFIP_NUMCLI) == 6 and PAYFIP_NUMCLI.isdigit()):
        raise ImproperlyConfigured(
            "PAYFIP_NUMCLI must be the régie's six-digit PayFiP client number "
            "(PayFiP payments)."
        )
    if PAYFIP_SERVICE_URL or PAYFIP_PAYMENT_URL:
        raise ImproperlyConfigured(
            "PAYFIP_SERVICE_URL or PAYFIP_PAYMENT_URL points the portal at a PayFiP "
            "stand-in: never in production. Unset them."
        )
PORTAIL_RECONCILE_AFTER_MINUTES = env_int("PORTAIL_RECONCILE_AFTER_MINUTES", 5)
# Family identifiers look like PB-004217: the commune's prefix, six digits.
FAMILY_IDENTIFIER_PREFIX = env_str("PORTAIL_FAMILY_PREFIX", "PB")
# Documents sent by families (proofs of address, report attachments).
PORTAIL_MAX_UPLOAD_BYTES = env_int("PORTAIL_MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
PORTAIL_MAX_UPLOAD_FILES = env_int("PORTAIL_MAX_UPLOAD_FILES", 5)
# How long an activation code handed to a family stays valid.
ACTIVATION_CODE_VALID_DAYS = env_int("PORTAIL_ACTIVATION_CODE_DAYS", 30)
