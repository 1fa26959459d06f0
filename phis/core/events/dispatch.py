"""Work that runs after the current transaction commits: in this process on the embedded
default (``PHIS_TASKS_IN_PROCESS``), as a Celery task in production. One place for the
outbox drain and the notification sender alike."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


def schedule_once_after_commit(callback: Callable[[], None]) -> None:
    """Register ``callback`` for the commit of the current transaction, once however many
    writes ask for it."""
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(entry[1] is callback for entry in conn.run_on_commit):
        return
    transaction.on_commit(callback)


def run_inline_or_enqueue(*, inline: Callable[[], object], task_name: str) -> None:
    """Run ``inline`` now (embedded default) or enqueue ``task_name`` (production). A failure
    is logged, never raised: the write has committed and the periodic task catches up."""
    if settings.PHIS_TASKS_IN_PROCESS:
        try:
            inline()
        except Exception:
            log.exception("in-process run of %s failed", task_name)
        return
    try:
        from celery import current_app

        current_app.send_task(task_name)
    except Exception:  # broker down: the beat schedule runs the task periodically anyway
        log.warning("could not enqueue %s; the periodic task will run it", task_name,
                    exc_info=True)
