"""Project wiring. Every secret comes from the environment.

Development (the default) runs with safe local defaults; production mode
(`OMNI_ENV=production`) refuses to start while a secret is missing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = Path(os.environ.get("OMNI_HOME", Path.cwd())).resolve()
VAR_DIR = PROJECT_DIR / "var"

ENV = os.environ.get("OMNI_ENV", "development")
PRODUCTION = ENV == "production"
TESTING = os.environ.get("OMNI_TESTING") == "1" or "pytest" in sys.modules


def _secret(name: str, dev_default: str) -> str:
    value = os.environ.get(name, "")
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"{name} is not set. In production every secret comes from the environment: "
            f"export {name}=<a long random value> and start again."
        )
    return dev_default


SECRET_KEY = _secret("SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdef")
DEBUG = os.environ.get("DEBUG", "0" if PRODUCTION else "1") == "1"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver"
    ).split(",")
    if h.strip()
]
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. Export ALLOWED_HOSTS=shop.example.com (comma-separated)."
    )
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "omniretail.core",
    "omniretail.catalog",
    "omniretail.customers",
    "omniretail.pricing",
    "omniretail.loyalty",
    "omniretail.inventory",
    "omniretail.orders",
    "omniretail.fulfilment",
    "omniretail.payments",
    "omniretail.accounting",
    "omniretail.channels",
    "omniretail.channels.shop",
    "omniretail.reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "omniretail.urls"
WSGI_APPLICATION = "omniretail.wsgi.application"
ASGI_APPLICATION = "omniretail.asgi.application"

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
            ]
        },
    }
]

# --- Database -------------------------------------------------------------
# DATABASE_URL picks the engine; the default is an embedded SQLite file under
# var/ in WAL mode with IMMEDIATE transactions, so writers queue up at BEGIN
# instead of failing half-way with "database is locked".
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'omniretail.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0 if TESTING else 60)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    _db["TEST"] = {"NAME": os.environ.get("OMNI_SQLITE_TEST_NAME") or None}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Values bound by the server, not spliced into the SQL text: a statement
    # a connection runs again and again (a hold, a price read, an order's
    # inserts) is then prepared once and planned once, not on every call.
    # Django turns psycopg's prepared statements off (for transaction-mode
    # poolers); a direct connection wants them on: a statement run this many
    # times on a connection is then parsed and planned once. Set
    # OMNI_PG_PREPARE_THRESHOLD=off behind PgBouncer in transaction mode.
    _options = _db.setdefault("OPTIONS", {})
    _options["server_side_binding"] = os.environ.get("OMNI_PG_SERVER_SIDE_BINDING", "1") == "1"
    _prepare = os.environ.get("OMNI_PG_PREPARE_THRESHOLD", "5").strip().lower()
    _options["prepare_threshold"] = None if _prepare in ("", "off", "none") else int(_prepare)
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -----------------------------------------------------------------------
# Per process (each web worker its own): the shop keeps product pages and search
# results here. Room for a few thousand pages rather than Django's 300, so a
# large catalogue's busy pages stay cached.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("OMNI_CACHE_MAX_ENTRIES", "5000"))},
    }
}

# --- Background work --------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "OMNI_TASK_BACKEND",
            "django_tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else "django_tasks_db.DatabaseBackend",
        )
    }
}

# --- Auth ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = (
    [
        {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
        {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    ]
    if PRODUCTION
    else []
)
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/admin/login/"
# Admin permissions follow StaffMembership roles (core/access.py ADMIN_PERMISSIONS).
AUTHENTICATION_BACKENDS = ["omniretail.core.auth_backend.RolePermissionBackend"]

# --- Locale, money ---------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

# --- Static ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Security ----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Logging: nothing sensitive (no tokens, no card data) is ever logged -----
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tasks": {"level": os.environ.get("TASKS_LOG_LEVEL", "WARNING")},
    },
}

# --- E-mail: the console in development; SMTP settings from the environment ---
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@omniretail.example")

# --- OmniRetail ----------------------------------------------------------------
OMNI_PICKUP_KEEP_DAYS = int(os.environ.get("OMNI_PICKUP_KEEP_DAYS", "7"))
OMNI_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OMNI_OUTBOX_MAX_ATTEMPTS", "10"))
# How long a worker may price with promotions, tax rates and categories it
# read earlier (a change made in the same worker is seen at once; 0: no cache).
OMNI_PRICING_CACHE_SECONDS = int(os.environ.get("OMNI_PRICING_CACHE_SECONDS", "5"))

# --- Payments: card gateways and refunds (secrets only from the environment) ----
# OMNI_GATEWAY picks the card gateway: "test" (built in, no network) or "stripe".
OMNI_GATEWAY = os.environ.get("OMNI_GATEWAY", "test")
STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "")
# Webhooks are refused while their secret is unset (fail closed).
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
OMNI_TEST_GATEWAY_WEBHOOK_SECRET = os.environ.get("OMNI_TEST_GATEWAY_WEBHOOK_SECRET", "")
# A cashier refunds up to this much per order without a manager's approval.
OMNI_CASHIER_REFUND_LIMIT = os.environ.get("OMNI_CASHIER_REFUND_LIMIT", "50.00")
# Staff discounts above this percent need a manager (the till's per-role limits override it).
OMNI_CASHIER_MAX_DISCOUNT_PERCENT = os.environ.get("OMNI_CASHIER_MAX_DISCOUNT_PERCENT", "10")
if OMNI_GATEWAY == "stripe" and PRODUCTION and not (STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "OMNI_GATEWAY=stripe needs STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET in the environment."
    )
