"""Meridian settings: every value comes from the environment (see `.env.example`).

With no environment at all, Meridian runs on its embedded default: SQLite in `var/` and a Celery
broker on the local filesystem, so a laptop needs no servers. Production sets `DATABASE_URL`
(PostgreSQL) and `CELERY_BROKER_URL` (Redis).
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_bool(name: str, *, default: bool) -> bool:
    """A yes/no variable; anything but a clear yes or no stops start-up instead of guessing."""
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")


# A local `.env` is a convenience for developers and simple deployments; real environment
# variables always win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("MERIDIAN_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (a long random string); "
            "only DEBUG=true may run without one."
        )
    # Development only: a per-process key means sessions do not survive a restart.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Public base URL, used in links inside notification emails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "portal",
    "contracts",
    "tickets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.ViewerTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a clear refusal.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{(VAR_DIR / 'meridian.sqlite3').as_posix()}"
    )
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _db["OPTIONS"] = {
        # The web server, the worker and beat share this file: WAL lets readers run beside the
        # writer, IMMEDIATE transactions take the write lock up front instead of failing on
        # upgrade, and the timeout makes a busy writer wait rather than error.
        "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL",
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=20),
    }
    # A file, not memory, so that a real worker process started by the tests shares it.
    _db["TEST"] = {"NAME": (VAR_DIR / "test-meridian.sqlite3").as_posix()}
else:
    _db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    # Parameters bound by the server, and psycopg prepares a statement once it has run it
    # five times (the write path's few queries), so PostgreSQL no longer parses and plans it
    # on every request. A pooler in between must pool per session (PgBouncer:
    # pool_mode = session); DB_PREPARED_STATEMENTS=false turns both off.
    if env_bool("DB_PREPARED_STATEMENTS", default=True):
        _db.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username/address pair is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "portal.authentication.ProfileBackend",
]
# Login throttling: after AXES_FAILURE_LIMIT failed logins for one username from one address,
# that pair is locked out for AXES_COOLOFF_MINUTES.
AXES_ENABLED = env_bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Time and language ------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- HTTPS and cookies ------------------------------------------------------------------------
# One switch for everything that only makes sense behind HTTPS; on by default outside DEBUG.
HTTPS_ONLY = env_bool("HTTPS_ONLY", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000) if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE_SECONDS", default=60 * 60 * 12)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Email ------------------------------------------------------------------------------------
if env.str("EMAIL_URL", default="") or not DEBUG:
    vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
else:
    # Development: keep notification emails as files to read, not noise in the worker's log.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Meridian Support <support@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- The email channel (docs/email.md) ------------------------------------------------------
# The domain of the Message-IDs Meridian writes; replies that cite them thread to the ticket.
EMAIL_MESSAGE_ID_DOMAIN = env.str("EMAIL_MESSAGE_ID_DOMAIN", default="meridian.localhost")
# A message larger than this is quarantined (its sender told once).
EMAIL_MAX_BYTES = env.int("EMAIL_MAX_BYTES", default=25 * 1024 * 1024)
# Automatic mail (acknowledgements, refusals) to one address per hour: never an endless loop.
EMAIL_AUTOMATIC_PER_HOUR = env.int("EMAIL_AUTOMATIC_PER_HOUR", default=10)
# Languages whose quoting and signature conventions are stripped from replies.
EMAIL_REPLY_LANGUAGES = env.list(
    "EMAIL_REPLY_LANGUAGES",
    default=["en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs", "ja", "ko", "zh"],
)
# How often beat polls the IMAP mailboxes, and how many messages a poll takes from each.
EMAIL_POLL_INTERVAL_SECONDS = env.float("EMAIL_POLL_INTERVAL_SECONDS", default=60.0)
EMAIL_POLL_BATCH = env.int("EMAIL_POLL_BATCH", default=200)

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dirs = {name: VAR_DIR / "celery" / name for name in ("queue", "processed", "control")}
    for _folder in _broker_dirs.values():
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dirs["queue"]),
        "data_folder_out": str(_broker_dirs["queue"]),
        "processed_folder": str(_broker_dirs["processed"]),
        "control_folder": str(_broker_dirs["control"]),
        "store_processed": False,
        # The worker looks for new message files this often (kombu's default, 1 s, lets a
        # backlog drain at about one message per second per process).
        "polling_interval": env.float("CELERY_FILESYSTEM_POLL_SECONDS", default=0.1),
    }
else:
    # With late acknowledgement, a message whose worker died is redelivered once it has been
    # unacknowledged this long; workers look for such messages every interval x throttle
    # seconds. Nothing depends on the redelivery for timing: beat sends a new sweep every
    # minute and the sweep re-sends late emails.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600),
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    }
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="meridian")
# Routing and notification tasks go to their region's queue (`region.<code>`); off, to the
# default queue. Workers consume both: see tickets/region_queues.py.
CELERY_REGION_QUEUES = env_bool("CELERY_REGION_QUEUES", default=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The deadline sweep: how often beat runs it, and how many tickets it handles per transaction.
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=60.0)
SWEEP_BATCH_SIZE = env.int("SWEEP_BATCH_SIZE", default=1000)
# Sweeps that clear a backlog together: the beat's sweep plus this many minus one helpers.
SWEEP_CONCURRENCY = env.int("SWEEP_CONCURRENCY", default=2)
# An unacknowledged P1 breach is notified again this often (unless a tier's policy says else).
ESCALATION_REPEAT_MINUTES = env.int("ESCALATION_REPEAT_MINUTES", default=15)
# An email not sent this long after its notification was written is handed to a sender again.
NOTIFICATION_RESEND_AFTER_SECONDS = env.int("NOTIFICATION_RESEND_AFTER_SECONDS", default=120)
CELERY_BEAT_SCHEDULE = {
    "sweep-deadlines": {
        "task": "tickets.tasks.sweep_deadlines",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "purge-idempotency-keys": {
        "task": "portal.tasks.purge_idempotency_keys",
        "schedule": crontab(hour=3, minute=17),
    },
    "hand-over-shifts": {
        "task": "tickets.tasks.hand_over_shifts",
        "schedule": env.float("HANDOVER_INTERVAL_SECONDS", default=60.0),
    },
    "poll-mailboxes": {
        "task": "tickets.tasks.poll_mailboxes",
        "schedule": EMAIL_POLL_INTERVAL_SECONDS,
    },
    # The month before, once it has ended in every zone (UTC-12, the last, at 12:00 UTC).
    "monthly-statements": {
        "task": "contracts.tasks.generate_monthly_statements",
        "schedule": crontab(day_of_month=1, hour=12, minute=7),
    },
    "heartbeat": {
        "task": "portal.tasks.record_heartbeat",
        "schedule": env.float("HEARTBEAT_INTERVAL_SECONDS", default=60.0),
        "args": ["beat"],
    },
}

# --- Tickets from customers ------------------------------------------------------------------
# Attachments: at most this many files of this size per message, of these kinds.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_MAX_FILES = env.int("ATTACHMENT_MAX_FILES", default=5)
ATTACHMENT_EXTENSIONS = env.list(
    "ATTACHMENT_EXTENSIONS",
    default=[
        "png",
        "jpg",
        "jpeg",
        "gif",
        "webp",
        "pdf",
        "txt",
        "log",
        "csv",
        "json",
        "xml",
        "har",
        "zip",
        "gz",
        "mp4",
        "webm",
        "mov",
        "m4a",
        "wav",
        "pcap",
    ],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# A customer may reopen a resolved ticket for this many days; after that, a new ticket.
REOPEN_WINDOW_DAYS = env.int("REOPEN_WINDOW_DAYS", default=14)

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.authentication.ProfileTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "writes": env.str("API_WRITE_RATE", default="120/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # One error shape for every API error: {"error": {"status", "code", "message", "fields"}}.
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Meridian API",
    "DESCRIPTION": (
        "File and follow support tickets from code. Authenticate with a token "
        "(`Authorization: Token <key>`; create one on your profile page) or a session."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # One name for the clocks wherever a field lists them (`name`, `clock`).
    # Tickets and messages list different channels (agents answer from the desk).
    "ENUM_NAME_OVERRIDES": {
        "ClockEnum": "contracts.sla_names.Clock",
        "ChannelEnum": "tickets.models.Ticket.Channel",
        "MessageChannelEnum": "tickets.models.Message.Channel",
    },
}

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
