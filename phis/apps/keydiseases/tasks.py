"""Celery tasks: thin wrappers around services (beat entries: see docs/modules/keydiseases.md)."""

from celery import shared_task

from phis.apps.keydiseases.services import ili_reminders_send, keydiseases_daily


@shared_task(name="phis.apps.keydiseases.tasks.keydiseases_daily_task", ignore_result=True)
def keydiseases_daily_task() -> dict:
    return keydiseases_daily()


@shared_task(name="phis.apps.keydiseases.tasks.ili_reminders_task", ignore_result=True)
def ili_reminders_task() -> int:
    return ili_reminders_send()
