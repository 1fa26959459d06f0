"""Test settings: the same as base, with fast hashing and isolated keys/paths."""

import os
import tempfile

os.environ.setdefault("PHIS_VAR_DIR", tempfile.mkdtemp(prefix="phis-test-"))

from config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PHIS_TASKS_IN_PROCESS = True
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PHIS_SMS_BACKEND = "memory"
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
WHITENOISE_USE_FINDERS = True
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Transactional tests flush tables between tests; the audit append-only guard would refuse.
# phis/core/audit/tests install it where they test it.
PHIS_AUDIT_DB_GUARD = False
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
# Demo builds in tests leave out the five-year card history (tests of the history generator
# call it directly with a small city).
PHIS_DEMO_HISTORY_YEARS = 0
