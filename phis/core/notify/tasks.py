"""Celery tasks: thin wrappers around services (beat sends every 10 s, see settings)."""

from celery import shared_task

from phis.core.notify.services import deliveries_send


@shared_task(name="phis.core.notify.tasks.deliveries_send_task", ignore_result=True)
def deliveries_send_task(limit: int = 200) -> int:
    return deliveries_send(limit=limit).sent
