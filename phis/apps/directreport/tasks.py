"""Celery tasks: thin wrappers around services (beat entry ``directreport-cycle``)."""

from celery import shared_task

from phis.apps.directreport.services import exchange_cycle


@shared_task(name="phis.apps.directreport.tasks.exchange_cycle_task", ignore_result=True)
def exchange_cycle_task() -> dict:
    report = exchange_cycle()
    return {"built": report.batches_built, "delivered": report.delivered,
            "failed": report.failed, "redelivered": report.redelivered,
            "acks": report.acks, "inbound": report.inbound}
