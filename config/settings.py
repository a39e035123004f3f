"""Herald settings, read from the environment (12-factor).

Every variable is listed in README.md and .env.example. Defaults make local
development work with no services at all (SQLite, eager tasks); production sets
DEBUG=0 and its secrets.
"""

import ipaddress
import os
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    """A variable, or the content of the file named by <NAME>_FILE (for secrets)."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = env(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    # A fresh key per process is fine for development: sessions just don't survive restarts.
    SECRET_KEY = "django-insecure-dev-" + get_random_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Where Herald is reached from outside; used to build tracking links in messages.
SITE_URL = (env("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "campaigns",
    "assets",
    "analytics",
    "messaging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # CORS of the web SDK's paths (/sdk/…) only; the dashboard and REST API have none.
    "messaging.sdk.cors.SdkCorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'herald.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Development default: a single file, no persistent connections, and a busy timeout so
    # the dev server and an eager task don't trip over each other's write locks.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The hot paths' statements (config.sql.fetch, the tracking hit) are prepared on their
    # connection: Django turns psycopg's prepared statements off unless this is set, and
    # PostgreSQL then plans each of them again on every request (about 100 µs of its CPU
    # a statement here). Django's own cursors bind on the client and never prepare. 0
    # turns it off, for a pooler that cannot keep prepared statements (PgBouncer before
    # 1.21, or without max_prepared_statements).
    _prepare = env_int("DATABASE_PREPARE_THRESHOLD", 5)
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = _prepare or None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------

REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",  # one client per pool; see its docstring
            "LOCATION": REDIS_URL,
            # A dead Redis must fail fast: the API edge then falls back to the database
            # and stops rate limiting (messaging/access/cache_outage.py). redis-py waits
            # forever by default; these reach its connection pool.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "campaigns:list"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation -----------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date style on every page ("28 Nov 2026, 19:08"): see config/formats/en/formats.py.
FORMAT_MODULE_PATH = ["config.formats"]

# --- Static files -------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# --- Uploaded media (Templates & Media › Media library) ------------------------------
# Files go through Django's default storage: the local disk under MEDIA_ROOT unless
# MEDIA_STORAGE_BACKEND names another (e.g. storages.backends.s3.S3Storage, configured
# by its own settings). Herald serves them itself at /media/<id>.<ext> (assets.views),
# so their URLs stay valid while the asset exists, whatever the backend.
MEDIA_ROOT = env("MEDIA_ROOT", str(BASE_DIR / "media"))
MEDIA_URL = "/media/"

STORAGES = {
    "default": {
        "BACKEND": env("MEDIA_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve files found by the finders when collectstatic was not run (dev and tests).
WHITENOISE_USE_FINDERS = DEBUG

# --- Files Herald writes (user exports) -----------------------------------------------
# STORAGES["default"] holds them: this directory, unless another backend is configured.
MEDIA_ROOT = env("HERALD_MEDIA_ROOT", str(BASE_DIR / "media"))
# Seconds a signed user-export URL (/users/export/segment …) stays valid.
EXPORT_URL_MAX_AGE = env_int("EXPORT_URL_MAX_AGE", 86_400)

# --- Security (effective when DEBUG is off) -------------------------------------------

# SECURE_PROXY_SSL_HEADER: with TRUSTED_PROXIES, at the end of this file.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HSTS preloading commits the operator's whole domain for months: it is their choice
# (SECURE_HSTS_PRELOAD=1), so Django's reminder about it is silenced.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# --- Email --------------------------------------------------------------------------

EMAIL_HOST = env("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Herald <herald@localhost>")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    # No SMTP server configured: print messages to the console (the demo shows them).
    else "django.core.mail.backends.console.EmailBackend",
)

# --- Celery -------------------------------------------------------------------------

_broker = env("CELERY_BROKER_URL") or REDIS_URL or ""
# No broker: run tasks in-process, so the embedded default needs no services. The
# in-memory transport keeps kombu from looking for an AMQP server on localhost.
CELERY_TASK_ALWAYS_EAGER = not _broker
CELERY_BROKER_URL = _broker or "memory://localhost/"
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
    # kombu's Redis transport, keeping its publishing client (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Queues (messaging.tasks): `transactional` for sends to a few listed recipients (and
# every small task), `bulk` for the shards of broadcasts and segments, `sweeper` for the
# periodic sweep, so none waits behind a broadcast's backlog. A worker started without -Q
# consumes all three; production runs a dedicated `-Q transactional` worker as well.
CELERY_TASK_QUEUES = {
    "sweeper": {"exchange": "sweeper", "routing_key": "sweeper"},
    "transactional": {"exchange": "transactional", "routing_key": "transactional"},
    "bulk": {"exchange": "bulk", "routing_key": "bulk"},
}
CELERY_TASK_DEFAULT_QUEUE = "transactional"
CELERY_TASK_ROUTES = {
    "messaging.tasks.dispatch_shard_task": {"queue": "bulk"},
    "messaging.tasks.dispatch_sweep_task": {"queue": "sweeper"},
}
# A task taken but not acknowledged (acks_late) goes back to the queue after this many
# seconds: longer than the longest task, including a retry's countdown (at most 600 s)
# that the worker holds unacknowledged until it is due.
# "priority": a free worker takes from the queues in the order above (Redis BRPOP lists
# them in that order) instead of round-robin, so a transactional send waits for at most
# the shard running now, never behind a bulk backlog.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7200),
    "queue_order_strategy": "priority",
}

# --- Herald -------------------------------------------------------------------------

# Comma-separated CIDRs that webhooks may reach although they are private or loopback.
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS")
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# Comma-separated CIDRs of reverse proxies whose X-Forwarded-For gives the client address
# for API key IP allowlists (config/addresses.py, client_address). Empty:
# REMOTE_ADDR only.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _cidr in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_cidr!r} is not a CIDR") from None
# Largest request body the REST API reads (bytes); larger bodies get a 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024)


def _rate_limits(raw: str) -> dict[str, tuple[int, int]]:
    """`users.track=3000/3,default=250000/3600` -> {scope: (requests, seconds)}."""
    limits: dict[str, tuple[int, int]] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        scope, _, rule = item.partition("=")
        requests, _, seconds = rule.partition("/")
        try:
            limits[scope.strip()] = (int(requests), int(seconds))
        except ValueError:
            raise ImproperlyConfigured(
                f"RATE_LIMITS items look like scope=requests/seconds, not {item!r}"
            ) from None
        if not scope.strip() or limits[scope.strip()][0] < 1 or limits[scope.strip()][1] < 1:
            raise ImproperlyConfigured(f"RATE_LIMITS: bad item {item!r}")
    return limits


# Per-scope overrides of Braze's default rate limits (scopes: messaging/access/ratelimit.py).
RATE_LIMITS = _rate_limits(env("RATE_LIMITS", "") or "")
# Key for credentials encrypted at rest (Fernet); derived from SECRET_KEY when unset.
HERALD_ENCRYPTION_KEY = env("HERALD_ENCRYPTION_KEY", "")
# PEM CA bundle that push/SMS provider connections trust (a TLS proxy); empty: system CAs.
HERALD_PROVIDER_CA_BUNDLE = env("HERALD_PROVIDER_CA_BUNDLE", "")
# HS256 secret shared with the customer's backend, which signs per-profile tokens
# (`sub` = external_id) for apps reading GET /content_cards/sdk/feed. Unset: that feed is off.
CONTENT_CARD_JWT_SECRET = env("CONTENT_CARD_JWT_SECRET", "")
# Dispatches still queued after this many minutes are re-enqueued by the sweeper task
# (a last resort: a dispatch whose message could not be published, or that Redis lost in
# a restart, is re-enqueued at the sweeper's next run).
DISPATCH_SWEEP_AFTER_MINUTES = env_int("DISPATCH_SWEEP_AFTER_MINUTES", 5)
# The delivery engine (messaging.delivery): profiles per shard (one task each), rows
# claimed and sent together, seconds an adapter gets per chunk, how often in-flight rows
# and running shards refresh their heartbeat, and after how long without one the sweeper
# takes them as lost (their worker died) and puts them back to pending.
DISPATCH_SHARD_SIZE = env_int("DISPATCH_SHARD_SIZE", 2000)
# A shard task stops after the first chunk past this many seconds and leaves the rest to
# a new task at the back of the queue: the longest a transactional send waits for a free
# worker, whatever the broadcast's receivers (one more task per slice).
DISPATCH_SHARD_SLICE_SECONDS = env_float("DISPATCH_SHARD_SLICE_SECONDS", 1.0)
# Dispatches to at most this many listed recipients go to the `transactional` queue.
DISPATCH_TRANSACTIONAL_MAX = env_int("DISPATCH_TRANSACTIONAL_MAX", 50)
DELIVERY_CHUNK_SIZE = env_int("DELIVERY_CHUNK_SIZE", 200)
DELIVERY_CHUNK_SECONDS = env_int("DELIVERY_CHUNK_SECONDS", 30)
DELIVERY_HEARTBEAT_SECONDS = env_int("DELIVERY_HEARTBEAT_SECONDS", 5)
DELIVERY_STALE_SECONDS = env_int("DELIVERY_STALE_SECONDS", 60)

# --- Channel adapters: concurrency, time limits, rate limits (messaging/delivery/registry.py)


def _delivery_rates(raw: str) -> dict[str, float]:
    """`smtp=50,twilio=10` -> {"smtp": 50.0, "twilio": 10.0} (messages per second)."""
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        kind, _, rate = item.partition("=")
        try:
            rates[kind.strip()] = float(rate)
        except ValueError:
            raise ImproperlyConfigured(
                f"DELIVERY_RATE_LIMITS items look like kind=messages_per_second, not {item!r}"
            ) from None
        if not kind.strip() or rates[kind.strip()] < 0:
            raise ImproperlyConfigured(f"DELIVERY_RATE_LIMITS: bad item {item!r}")
    return rates


# Sends in flight at once per batch, per adapter (webhooks, each push app, each Twilio
# account, ...); the process's one HTTP client pools 4x as many connections.
DELIVERY_CONCURRENCY = env_int("DELIVERY_CONCURRENCY", 32)
# At most this many at once per receiving host, for webhooks and web push endpoints, so
# one slow receiver delays only its own messages and none is flooded.
DELIVERY_PER_HOST_CONCURRENCY = env_int("DELIVERY_PER_HOST_CONCURRENCY", 8)
# SMTP connections (and sender threads) per worker process, reused between batches.
DELIVERY_SMTP_CONNECTIONS = env_int("DELIVERY_SMTP_CONNECTIONS", 4)
# (The time limit of a chunk is DELIVERY_CHUNK_SECONDS above: sends not started by then
# are retried later as not attempted; one in flight runs on to its own timeout —
# WEBHOOK_TIMEOUT_SECONDS, 10-15 s for providers, EMAIL_TIMEOUT per SMTP command.)
# Messages per second, by kind: "smtp" (per relay, EMAIL_HOST:EMAIL_PORT), "twilio" (per
# account SID), "apns", "fcm", "adm", "webpush" (per push app's channel configuration).
# 0 or absent: unlimited. Shared by every worker when the cache is Redis (REDIS_URL),
# else counted per process. Env: DELIVERY_RATE_LIMITS="smtp=50,twilio=10".
DELIVERY_RATE_LIMITS = _delivery_rates(env("DELIVERY_RATE_LIMITS", "") or "")
# Domain of email Message-IDs (<message_id@domain>, stable across resends); empty: the
# host of SITE_URL.
DELIVERY_EMAIL_MESSAGE_ID_DOMAIN = env("DELIVERY_EMAIL_MESSAGE_ID_DOMAIN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No API key reaches a log line, whoever wrote it (config/redact.py).
    "filters": {"redact_keys": {"()": "config.redact.RedactKeys"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_keys"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # At INFO httpx logs each request URL: web push endpoints are capability URLs.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}


# --- Roles, audit log, logins (issue 12) ----------------------------------------------
# Kept in one block: the apps, middleware and backends that accounts/ needs.

INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "accounts",  # last: its post_migrate receiver needs every other app's permissions
]
_after_auth = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
MIDDLEWARE[_after_auth:_after_auth] = [
    "accounts.middleware.AuditContextMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
]
# django-axes answers a locked-out login itself; it must be the last middleware.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Failed logins: after LOGIN_FAILURE_LIMIT failures, that account (from anywhere) and that
# address (for any account) are locked for LOGIN_LOCKOUT_MINUTES. Two separate lists, so
# neither a password spray from one address nor a distributed guess at one account works.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
# The audit log records every attempt; axes keeps only what locking needs.
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_DISABLE_ACCESS_LOG = True
AXES_CLIENT_IP_CALLABLE = "config.addresses.client_address"
AXES_SENSITIVE_PARAMETERS = ["password"]
# Axes's own log lines carry usernames and addresses; the audit log is the record.
AXES_VERBOSE = False
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Herald")

# Believing X-Forwarded-Proto: https from any client would let it claim HTTPS (and
# secure cookies and redirects with it): only when a proxy in front is declared.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None

# --- Demo and operations (manage.py demo; /health, /metrics, JSON logs) ------------------

# `manage.py demo` sets HERALD_DEMO=1 for itself and the Celery worker it starts, with
# HERALD_DEMO_DIR (a directory beside the database) for the state they share: the
# embedded broker's messages, the cache, collected emails, metrics. Nothing below changes
# a server that is not the demo.
HERALD_DEMO = env_bool("HERALD_DEMO", False)
HERALD_DEMO_DIR = Path(env("HERALD_DEMO_DIR", "") or BASE_DIR / ".demo")
# Where the demo's emails are collected (Settings › Sent emails reads them back).
HERALD_MAILBOX_DIR = Path(env("HERALD_MAILBOX_DIR", "") or HERALD_DEMO_DIR / "mail")
if HERALD_DEMO:
    # DEBUG is off (the demo shows the app's own 404 and 500 pages), but it runs on plain
    # HTTP on the developer's machine: no HTTPS redirect, no secure-only cookies.
    SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
    SECURE_HSTS_SECONDS = 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS = False
    # No collectstatic in a one-command start: whitenoise serves from the finders.
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    WHITENOISE_USE_FINDERS = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        # The web server and the worker write the same file: WAL lets readers go on
        # while one of them writes.
        DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL;"
    if not REDIS_URL:
        # Shared by the web process and the worker (heartbeats, rate limits, key cache).
        CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(HERALD_DEMO_DIR / "cache"),
            }
        }
    if not env("EMAIL_HOST") and not env("EMAIL_BACKEND"):
        EMAIL_BACKEND = "messaging.mailbox.MailboxBackend"
    # The console shows the banner, then what goes wrong, not a line per task.
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}
    LOGGING["loggers"]["django.server"] = {"level": "WARNING"}
    # Expected in a one-command start (no collectstatic; a root shell in a container).
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    warnings.filterwarnings("ignore", "You're running the worker with superuser privileges")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The demo's embedded broker: one directory of message files that the web process
    # writes and the worker reads (kombu's filesystem transport), polled 5 times a second.
    _broker_dir = HERALD_DEMO_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "polling_interval": 0.2,
    }

# GET /metrics (Prometheus): allowed with `Authorization: Bearer METRICS_TOKEN`, or from
# an address in METRICS_ALLOWED_NETWORKS (CIDRs); with neither set, from loopback only.
METRICS_TOKEN = env("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
for _cidr in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_cidr!r} is not a CIDR") from None
# LOG_FORMAT=json: one JSON object per line, with the dispatch and message IDs of the
# delivery being worked on (config/logs.py).
LOG_FORMAT = env("LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING["filters"]["log_context"] = {"()": "config.logs.AddContext"}
LOGGING["handlers"]["console"]["filters"].append("log_context")
if LOG_FORMAT == "json":
    LOGGING["formatters"] = {"json": {"()": "config.logs.JsonFormatter"}}
    LOGGING["handlers"]["console"]["formatter"] = "json"
# First, so that it counts every answer, those of other middleware included.
MIDDLEWARE.insert(0, "config.middleware.request_metrics")
