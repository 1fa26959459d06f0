"""Celery tasks: thin wrappers around services (beat entry ``epi-weekly-report``: Mondays
06:30 Asia/Shanghai, see docs/modules/epi.md)."""

from celery import shared_task

from phis.apps.epi.services import weekly_reports_generate


@shared_task(name="phis.apps.epi.tasks.weekly_reports_task", ignore_result=True)
def weekly_reports_task() -> int:
    """The previous ISO week's situation reports (city and counties); idempotent."""
    return len(weekly_reports_generate())
