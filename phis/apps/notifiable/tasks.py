"""Celery tasks of report cards: thin wrappers around services (beat: see
docs/modules/notifiable.md "Configuration")."""

from celery import shared_task

from phis.apps.notifiable.services import cards_intake_sweep


@shared_task(name="phis.apps.notifiable.tasks.intake_sweep_task", ignore_result=True)
def intake_sweep_task() -> int:
    """Finish batch cards whose person link or review item is still missing."""
    return cards_intake_sweep()
