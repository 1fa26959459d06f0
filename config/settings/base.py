"""PHIS settings. Everything lives here; production differs only through the environment.

Embedded default: SQLite (WAL) under ``var/``, tasks in-process, no server to install.
Production: ``DATABASE_URL`` (PostgreSQL), ``REDIS_URL``, keys from the environment
(see docs/operations.md).
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from config.env import BASE_DIR, env

VAR_DIR = Path(env("PHIS_VAR_DIR", default=str(BASE_DIR / "var")))
DEBUG = env.bool("PHIS_DEBUG", default=False)
# The embedded default generates a per-checkout key on first run (see config/keys.py);
# production must set it.
from config.keys import embedded_secret  # noqa: E402

SECRET_KEY = env("PHIS_SECRET_KEY", default=None) or embedded_secret("django-secret-key")
ALLOWED_HOSTS = env.list("PHIS_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("PHIS_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves the OpenAPI page's assets locally (no CDN on the city's network)
    "oauth2_provider",
    "phis.core.orgunits",
    "phis.core.accounts",
    "phis.core.audit",
    "phis.core.people",
    "phis.core.events",
    "phis.core.workflow",
    "phis.core.notify",
    "phis.core.codes",
    "phis.core.ops",
    "phis.core.ui",
    "phis.apps.esign",
    "phis.apps.outbreaks",
    "phis.apps.notifiable",
    "phis.apps.signals",
    "phis.apps.keydiseases",
    "phis.apps.directreport",
    "phis.apps.epi",
    "phis.demo",
]
PHIS_EXTRA_APPS = env.list("PHIS_EXTRA_APPS", default=[])
INSTALLED_APPS += PHIS_EXTRA_APPS

MIDDLEWARE = [
    "phis.core.ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "phis.core.accounts.middleware.IdleTimeoutMiddleware",
    "phis.core.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "phis.core.audit.middleware.AuditContextMiddleware",
    "phis.core.ui.middleware.ApplicationErrorPageMiddleware",
    "phis.core.ui.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "phis.core.ui.context_processors.portal",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("PHIS_SQLITE_PATH", default=str(VAR_DIR / "phis.sqlite3")),
            "OPTIONS": {
                # WAL lets readers work while one writer commits (ARCHITECTURE.md §5).
                # A 64 MiB page cache (the default is 2 MiB) and 256 MiB of the file mapped
                # into memory, per connection and only as far as used: a larger cache and
                # mmap took about a third off the CPU of a name search over 1M persons in a
                # side test (bench/person_lookup_bench.py, docs/benchmarks.md).
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; "
                "PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and login policy (SECURITY.md §8) ------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_URL_PATH = "/accounts/login/"
LOGIN_REDIRECT_URL = "ui:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTHENTICATION_BACKENDS = ["phis.core.accounts.backends.LockoutAwareBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "phis.core.accounts.validators.ComplexityValidator"},
]
PHIS_LOGIN_MAX_FAILURES = env.int("PHIS_LOGIN_MAX_FAILURES", default=5)
PHIS_LOGIN_LOCK_MINUTES = env.int("PHIS_LOGIN_LOCK_MINUTES", default=30)
PHIS_IDLE_TIMEOUT_MINUTES = env.int("PHIS_IDLE_TIMEOUT_MINUTES", default=30)
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("PHIS_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env.bool("PHIS_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("PHIS_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("PHIS_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("PHIS_HSTS_PRELOAD", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- OIDC provider: unified identity for the city's other systems (C1) --------------------
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": env("PHIS_OIDC_RSA_PRIVATE_KEY", default="")
    or embedded_secret("oidc-rsa-key", kind="rsa"),
    "PKCE_REQUIRED": True,
    "SCOPES": {
        "openid": "OpenID Connect",
        "profile": "姓名与机构 Name and organisation",
        "email": "电子邮件 E-mail",
        "phis.api": "以您的身份调用PHIS接口 Call the PHIS API as you",
    },
    "OAUTH2_VALIDATOR_CLASS": "phis.core.accounts.oidc.PhisOIDCValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    # OAuth 2.0 security BCP (RFC 9700): no implicit or password grant, S256 PKCE only,
    # tokens stored hashed, refresh-token reuse detection.
    # Discovery lists only the authorization-code flow: the toolkit's default also lists
    # the hybrid "code id_token" types, which this provider does not offer to partners.
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list(
        "PHIS_OIDC_REDIRECT_SCHEMES", default=["https"] if SECURE_SSL_REDIRECT
        else ["http", "https"]),
}

# --- Field encryption and blind index (SECURITY.md §2; ADR 0002) --------------------------
PHIS_CRYPTO_PROVIDER = env("PHIS_CRYPTO_PROVIDER", default="sm4")  # "sm4" or "aes-gcm"
PHIS_FIELD_KEY = env("PHIS_FIELD_KEY", default="") or embedded_secret("field-key", kind="hex32")
PHIS_BLIND_INDEX_KEY = env("PHIS_BLIND_INDEX_KEY", default="") or embedded_secret(
    "blind-index-key", kind="hex32"
)

# --- Audit ---------------------------------------------------------------------------------
PHIS_AUDIT_KEY = env("PHIS_AUDIT_KEY", default="") or embedded_secret("audit-key", kind="hex32")
PHIS_TRUSTED_PROXY_COUNT = env.int("PHIS_TRUSTED_PROXY_COUNT", default=0)
PHIS_AUDIT_RETENTION_DAYS = max(180, env.int("PHIS_AUDIT_RETENTION_DAYS", default=365))

# --- Events, tasks, notifications ----------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# Embedded default: no broker; the outbox is drained in-process after each commit and by
# `phis events drain`. Production: Celery workers + beat with Redis.
PHIS_TASKS_IN_PROCESS = env.bool("PHIS_TASKS_IN_PROCESS", default=not REDIS_URL)
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = PHIS_TASKS_IN_PROCESS
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE = {
    "events-drain": {"task": "phis.core.events.tasks.outbox_drain_task", "schedule": 5.0},
    "workflow-escalate": {
        "task": "phis.core.workflow.tasks.escalate_overdue_task",
        "schedule": timedelta(minutes=5),
    },
    "notify-deliver": {"task": "phis.core.notify.tasks.deliveries_send_task", "schedule": 10.0},
    # A3: cards stored in bulk get their MPI link and review item after the commit; this
    # catches up when a worker was down.
    "notifiable-intake-sweep": {"task": "phis.apps.notifiable.tasks.intake_sweep_task",
                                "schedule": 300.0},
    # A3 direct report: read inboxes, batch, deliver, re-send unacknowledged batches.
    "directreport-cycle": {"task": "phis.apps.directreport.tasks.exchange_cycle_task",
                           "schedule": 60.0},
    # C4: detection for yesterday, once a day (the task skips days already run); fixed-
    # threshold signals are raised in real time from the card events.
    "signals-detect": {"task": "phis.apps.signals.tasks.detection_daily_task",
                       "schedule": timedelta(hours=1)},
    # The weekly situation report (PDF, kept) for the city and every county, Monday morning.
    "epi-weekly-report": {"task": "phis.apps.epi.tasks.weekly_reports_task",
                          "schedule": crontab(minute=30, hour=6, day_of_week="mon")},
    # A4: daily clocks of managed key-disease cases; ILI weekly reminders on Mondays.
    "keydiseases-daily": {"task": "phis.apps.keydiseases.tasks.keydiseases_daily_task",
                          "schedule": crontab(hour=1, minute=30)},
    "keydiseases-ili-reminders": {"task": "phis.apps.keydiseases.tasks.ili_reminders_task",
                                  "schedule": crontab(hour=9, minute=0, day_of_week=1)},
}
# Years of notifiable-disease history the demo city gets (issue 5: 5 by default, 10 on
# request; 0 for none).
PHIS_DEMO_HISTORY_YEARS = env.int("PHIS_DEMO_HISTORY_YEARS", default=5)
PHIS_SMS_BACKEND = env("PHIS_SMS_BACKEND", default="file")  # "file", "console" or "http"
PHIS_SMS_GATEWAY_URL = env("PHIS_SMS_GATEWAY_URL", default="")
PHIS_SMS_GATEWAY_TOKEN = env("PHIS_SMS_GATEWAY_TOKEN", default="")
EMAIL_BACKEND = env(
    "PHIS_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = str(VAR_DIR / "outbox-mail")
DEFAULT_FROM_EMAIL = env("PHIS_DEFAULT_FROM_EMAIL", default="phis@localhost")
PHIS_NOTIFY_FILE_DIR = str(VAR_DIR / "outbox-sms")

# --- Language and time (ARCHITECTURE.md §6) ------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files: front-end packages come from npm at set-up, never committed -------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "phis.core.ui.vendor_finder.VendorFinder",  # the npm packages' built files
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(VAR_DIR / "media")}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Logging: JSON lines with request id (structured logs) ---------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "phis.core.ops.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json",
                    "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env("PHIS_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Demo ---------------------------------------------------------------------------------
PHIS_DEMO_PASSWORD = env("PHIS_DEMO_PASSWORD", default="Demo@2026!")
