"""One settings module; every difference between demo, test and production comes from the
environment (see README "Configuration"). Values are parsed strictly by django-environ, so a
typo such as DJANGO_DEBUG=ture fails at start-up instead of silently meaning False."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (written by dev.py with a generated SECRET_KEY, never committed) is read if present;
# real environment variables win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off "
            "(python3 dev.py writes one into .env for local use)."
        )
    SECRET_KEY = "insecure-dev-only-key"  # noqa: S105 - only reachable with DEBUG on

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # First, so its templates (admin/base_site.html: the workspace header) win over the admin's.
    "desk",
    # The admin, with desk's site as the default one (the agents' queue is its landing page).
    "desk.apps.DeskAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "tickets",
    "classifier",
    "routing",
    "sla",
    "incidents",
]

MIDDLEWARE = [
    # First: it also turns errors raised by the middleware below into JSON for /api/.
    "config.middleware.ApiGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Staff see times in their agent profile's time zone.
    "desk.middleware.AgentTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
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

# --- Database -----------------------------------------------------------------------------
# SQLite file for the one-command demo; PostgreSQL (DATABASE_URL=postgres://...) in production
# and CI. Row locks (routing, SLA watcher) only mean something on PostgreSQL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Web server, qcluster and SLA watcher share the file: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock at BEGIN so two writers queue instead of failing
    # with "database is locked" half-way through a transaction.
    _db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    # Reconnect transparently after a database restart instead of failing the next request.
    _db["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=False):
        _db.setdefault("OPTIONS", {})["server_side_binding"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Security (production defaults; the demo turns DEBUG on, which relaxes the HTTPS ones) ---
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
# includeSubDomains and preload are opt-in: they bind every sibling host under the parent domain
# to HTTPS for a year, and browsers' preload lists take months to leave. Only the domain's owner
# can say that is right, so Django's deploy warnings for them are silenced while they are off.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Load balancers and Prometheus probe these over the internal network in plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tickets.api.authentication.TokenWithRoleAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["config.parsers.Utf8JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "tickets.rest.StrictPageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api_errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.UserThrottle"],
    # Per authenticated user, counted in CACHE_URL's cache (per process with the default
    # local-memory cache: set CACHE_URL=redis://... to share the count between workers).
    "DEFAULT_THROTTLE_RATES": {"user": env.str("API_THROTTLE_USER", default="120/min")},
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
}

# API tokens (django-rest-knox, read by tickets/api/authentication.py): stored as SHA-512
# digests, one row per token (revoke with `manage.py revoke_api_tokens`), expiring.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=90)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,  # a refresh would be a write on every request's hot path
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": "Support tickets, routing and SLA tracking.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI assets served from our own static files (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Several "status" and "severity" choice sets: each enum gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Ticket.Status",
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "IncidentSeverityEnum": "incidents.models.Incident.Severity",
        "AlertStatusEnum": "incidents.api.receivers.ALERT_STATUSES",
        "PagerDutySeverityEnum": ["critical", "error", "warning", "info"],
    },
    # Request bodies get their own components (no read-only fields, minLength on required text).
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents the errors it can answer (401, 403, 400, 404, 413, 415, 429,
    # 503), with their JSON shapes: config/openapi.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.document_error_responses",
    ],
}

# --- Background work (django-q2 on the ORM broker: receipts give at-least-once delivery) -----
Q_CLUSTER = {
    "name": "switchboard",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    # retry must exceed timeout, else a slow task is handed to a second worker while the first
    # still runs it (django-q docs; Koed00/django-q#183).
    "timeout": env.int("Q_TIMEOUT", default=60),
    "retry": env.int("Q_RETRY", default=120),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=5),
    "ack_failures": False,
    "catch_up": False,
    "save_limit": 1000,
    "sync": env.bool("Q_SYNC", default=False),
}

# Where people open Switchboard: links in e-mails are built from it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="switchboard@localhost")

# --- Product limits (documented in README "API") ------------------------------------------
# Request bodies above this are refused with 413 on their Content-Length, unread (a 10,000
# character description is at most ~120 KB of JSON even if every character is \u-escaped).
API_MAX_BODY_BYTES = 256 * 1024
# ... except where a sender posts more: an Alertmanager group of a few hundred alerts is ~0.5 MB
# (its webhook's max_alerts truncates bigger ones). Below Django's DATA_UPLOAD_MAX_MEMORY_SIZE.
API_MAX_BODY_BYTES_BY_PATH = {"/api/v1/integrations/alertmanager/": 2 * 1024 * 1024}
TICKET_SUBJECT_MAX = 200
TICKET_DESCRIPTION_MAX = 10_000
COMMENT_BODY_MAX = 10_000
IDEMPOTENCY_TTL_HOURS = 24

# --- Classifier (see classifier/registry.py and classifier/services.py) --------------------
# How stale a process's idea of the active model may get: it checks at most this often.
CLASSIFIER_REFRESH_SECONDS = env.float("CLASSIFIER_REFRESH_SECONDS", default=30.0)
# Retrain (django-q2 task, checked every 15 min) once agents confirmed this many labels.
CLASSIFIER_RETRAIN_AFTER_LABELS = env.int("CLASSIFIER_RETRAIN_AFTER_LABELS", default=50)
# Precision the confidence threshold is chosen to reach on the validation split.
CLASSIFIER_TARGET_PRECISION = env.float("CLASSIFIER_TARGET_PRECISION", default=0.95)
# Share of labelled examples (chosen by content hash, stable across retrainings) never trained
# on: a retrained version is activated unless its macro-F1 there is lower than the active
# version's on the same examples by more than the tolerance.
CLASSIFIER_HOLDOUT_PERCENT = env.int("CLASSIFIER_HOLDOUT_PERCENT", default=10)
CLASSIFIER_ACTIVATION_TOLERANCE = env.float("CLASSIFIER_ACTIVATION_TOLERANCE", default=0.0)
CLASSIFIER_MIN_EXAMPLES = env.int("CLASSIFIER_MIN_EXAMPLES", default=20)
# What the per-team model search maximises in cross-validation: "macro_f1" (every category
# counts the same) or "accuracy" (every ticket counts the same); and train_classifier's time
# budget in seconds (the search stops early when its remaining candidates and the final fits
# would not fit; the background retrain tasks use at most 80 s, see classifier/tasks.py).
CLASSIFIER_OBJECTIVE = env.str("CLASSIFIER_OBJECTIVE", default="macro_f1")
CLASSIFIER_TRAIN_BUDGET_SECONDS = env.float("CLASSIFIER_TRAIN_BUDGET_SECONDS", default=150.0)
# Model versions whose artifact (megabytes each) is kept, newest first; older inactive ones keep
# their row and metrics but can no longer be activated.
CLASSIFIER_KEEP_ARTIFACTS = env.int("CLASSIFIER_KEEP_ARTIFACTS", default=10)
CLASSIFIER_MAX_CHARS = 20_000  # text beyond this is not read by the model (CPU bound)

# --- Routing (routing/conf.py) --------------------------------------------------------------
# Minimum agent tier per priority, e.g. ROUTING_MIN_TIER_BY_PRIORITY="urgent=3;high=2"
ROUTING_MIN_TIER_BY_PRIORITY = env.dict(
    "ROUTING_MIN_TIER_BY_PRIORITY", cast={"value": int}, default={"urgent": 2}
)
# An agent going offline hands their open tickets back to the queue.
ROUTING_REQUEUE_ON_OFFLINE = env.bool("ROUTING_REQUEUE_ON_OFFLINE", default=True)
# Best candidates read (and recorded) per decision.
ROUTING_CANDIDATES = env.int("ROUTING_CANDIDATES", default=5)

# Log lines: JSON by default in production (one object per line, with the `extra` fields such as
# `ticket` / `incident` references, for a log shipper), plain text in the demo.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger",
                              "process": "pid"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
if LOG_FORMAT not in LOGGING["formatters"]:  # type: ignore[operator]
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")

# /metrics (config/metrics.py): scraped from these networks, or by anyone sending
# "Authorization: Bearer <METRICS_TOKEN>" (empty: networks only). Behind a reverse proxy every
# request comes from the proxy's address: block /metrics there, or use the token.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Incidents (incidents/) -------------------------------------------------------------------
# Alertmanager's `severity` label -> incident severity; anything else gets the default.
ALERTMANAGER_SEVERITY_MAP = {
    "critical": "sev1", "page": "sev1", "sev1": "sev1", "p1": "sev1",
    "error": "sev2", "high": "sev2", "major": "sev2", "sev2": "sev2", "p2": "sev2",
    "warning": "sev3", "warn": "sev3", "minor": "sev3", "sev3": "sev3", "p3": "sev3",
    "info": "sev4", "low": "sev4", "none": "sev4", "sev4": "sev4", "p4": "sev4",
    **env.dict("ALERTMANAGER_SEVERITY_MAP", default={}),
}
ALERTMANAGER_DEFAULT_SEVERITY = env.str("ALERTMANAGER_DEFAULT_SEVERITY", default="sev3")
# Stored Alertmanager notifications are kept this long (the incidents and alerts stay).
ALERT_NOTIFICATION_RETENTION_DAYS = env.int("ALERT_NOTIFICATION_RETENTION_DAYS", default=90)

# Surge detection (incidents/surge.py; README "Surge detection"): an incident when tickets of one
# category or near-identical subject arrive far above their usual rate.
SURGE_ENABLED = env.bool("SURGE_ENABLED", default=True)
SURGE_WINDOW_MINUTES = env.int("SURGE_WINDOW_MINUTES", default=10)
SURGE_MIN_TICKETS = env.int("SURGE_MIN_TICKETS", default=8)
SURGE_FACTOR = env.float("SURGE_FACTOR", default=4.0)
SURGE_BASELINE_BUCKETS = env.int("SURGE_BASELINE_BUCKETS", default=144)  # a day of 10 min
SURGE_BASELINE_FLOOR = env.float("SURGE_BASELINE_FLOOR", default=1.0)
SURGE_WARMUP_BUCKETS = env.int("SURGE_WARMUP_BUCKETS", default=6)
SURGE_SEVERITY = env.str("SURGE_SEVERITY", default="sev3")
SURGE_CACHE_SECONDS = env.float("SURGE_CACHE_SECONDS", default=5.0)

# --- Managers' report (desk/reports.py) ----------------------------------------------------
# KPI targets over the defaults there (fcr 0.85, first_response_2h 0.95, csat 4.8, reopen_rate
# 0.05), e.g. DESK_KPI_TARGETS="csat=4.5,fcr=0.8".
DESK_KPI_TARGETS = env.dict("DESK_KPI_TARGETS", cast={"value": float}, default={})
# The report's independent aggregates run this many at a time on PostgreSQL.
DESK_REPORT_WORKERS = env.int("DESK_REPORT_WORKERS", default=3)

# --- SLA engine (sla/) --------------------------------------------------------------------
# The watcher (`manage.py sla_watch`) polls this often; a 5-minute stage needs seconds, not the
# django-q2 scheduler's minute.
SLA_WATCH_INTERVAL_SECONDS = env.float("SLA_WATCH_INTERVAL_SECONDS", default=1.0)
SLA_WATCH_BATCH_SIZE = env.int("SLA_WATCH_BATCH_SIZE", default=100)
# /healthz reports the watcher stale when no watcher passed for this long.
SLA_WATCHER_STALE_SECONDS = env.int("SLA_WATCHER_STALE_SECONDS", default=60)
# A clock whose escalation raises is retried this much later (poison row), and logged.
SLA_POISON_DELAY_SECONDS = env.int("SLA_POISON_DELAY_SECONDS", default=60)
# How often a process re-checks whether SLA policies changed (sla/policies.py).
SLA_POLICY_CHECK_SECONDS = env.float("SLA_POLICY_CHECK_SECONDS", default=5.0)
# Second escalation level: routing.services.escalate_assignment(min_tier=...).
SLA_ESCALATION_MIN_TIER = env.int("SLA_ESCALATION_MIN_TIER", default=2)
# Who is paged at the second level (default: the managers).
SLA_ONCALL_EMAILS = env.list("SLA_ONCALL_EMAILS", default=[])
# Notification delivery (sla/notifications.py): lease > webhook timeout; retries on 429/5xx/
# network errors only, backoff doubling from SLA_WEBHOOK_BACKOFF_SECONDS.
SLA_NOTIFY_LEASE_SECONDS = env.int("SLA_NOTIFY_LEASE_SECONDS", default=60)
SLA_NOTIFY_REQUEUE_SECONDS = env.int("SLA_NOTIFY_REQUEUE_SECONDS", default=30)
SLA_WEBHOOK_TIMEOUT_SECONDS = env.float("SLA_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
SLA_WEBHOOK_MAX_ATTEMPTS = env.int("SLA_WEBHOOK_MAX_ATTEMPTS", default=6)
SLA_WEBHOOK_BACKOFF_SECONDS = env.int("SLA_WEBHOOK_BACKOFF_SECONDS", default=30)
# A send must end within its lease (or a second sender may claim and send it again) and within
# the django-q2 task timeout (or the worker is killed mid-send): refuse a timeout that cannot.
if not 0 < SLA_WEBHOOK_TIMEOUT_SECONDS < min(SLA_NOTIFY_LEASE_SECONDS, Q_CLUSTER["timeout"]):
    raise ImproperlyConfigured(
        f"SLA_WEBHOOK_TIMEOUT_SECONDS={SLA_WEBHOOK_TIMEOUT_SECONDS} must be above 0 and below "
        f"SLA_NOTIFY_LEASE_SECONDS ({SLA_NOTIFY_LEASE_SECONDS}) and Q_TIMEOUT "
        f"({Q_CLUSTER['timeout']})."
    )
