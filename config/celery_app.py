"""Celery app. Production: Redis broker, workers and beat. Embedded: tasks run in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("phis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
