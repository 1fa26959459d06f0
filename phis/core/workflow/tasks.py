"""Celery tasks: thin wrappers around services (beat escalates every 5 min, see settings)."""

from celery import shared_task

from phis.core.workflow.services import workflow_escalate_overdue


@shared_task(name="phis.core.workflow.tasks.escalate_overdue_task", ignore_result=True)
def escalate_overdue_task() -> int:
    return workflow_escalate_overdue()
