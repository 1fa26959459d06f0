"""Celery tasks: thin wrappers around services. Beat runs ``detection_daily_task`` every
hour; the service runs yesterday's detection once (a second call the same day does
nothing), so the embedded scheduler and Celery beat behave alike."""

from celery import shared_task

from phis.apps.signals.services import detection_scheduled


@shared_task(name="phis.apps.signals.tasks.detection_daily_task", ignore_result=True)
def detection_daily_task() -> dict | None:
    report = detection_scheduled()
    return report.as_dict() if report is not None else None
