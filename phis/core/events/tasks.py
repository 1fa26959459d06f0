"""Celery tasks: thin wrappers around services (beat drains every 5 s, see settings)."""

from celery import shared_task

from phis.core.events.services import outbox_drain


@shared_task(name="phis.core.events.tasks.outbox_drain_task", ignore_result=True)
def outbox_drain_task(limit: int = 500) -> int:
    return outbox_drain(limit=limit).delivered
