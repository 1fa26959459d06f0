from io import StringIO

import pytest
from django.core.management import call_command

from phis.core.events.services import event_emit
from phis.core.events.tests.conftest import effects

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command("events", *args, stdout=out)
    return out.getvalue()


def test_status_then_drain(effect_handler):
    event_emit(topic="test.thing_happened", payload={})
    assert "due=1" in _run("status")
    assert "delivered=1" in _run("drain")
    assert effects() == 1
    assert "due=0" in _run("status")


def test_retry_and_purge(clean_registry):
    clean_registry.handles("c.fail", name="t.fail")(lambda e: 1 / 0)
    event_emit(topic="c.fail", payload={})
    _run("drain")
    status = _run("status")
    assert "failing=1" in status and "ZeroDivisionError" in status
    assert "1 event(s) due now" in _run("retry")
    assert "deleted 0" in _run("purge", "--days", "1")


def test_run_once_calls_every_scheduled_task(settings):
    from unittest import mock

    settings.CELERY_BEAT_SCHEDULE = {
        "events-drain": {"task": "phis.core.events.tasks.outbox_drain_task", "schedule": 5.0}}
    with mock.patch("phis.core.events.tasks.outbox_drain_task") as task:
        out = _run("run", "--once")
    assert "events-drain" in out
    task.assert_called_once_with()


def test_embedded_scheduler_runs_crontab_entries_when_due():
    """`phis events run` honours daily/weekly crontab entries, not only fixed intervals."""
    from datetime import timedelta

    from celery.schedules import crontab
    from django.utils import timezone

    from phis.core.events.management.commands.events import _Job

    calls = []
    daily = crontab(hour=1, minute=30)
    waited = _Job("daily", lambda: calls.append(1), schedule=daily,
                  last_run_at=timezone.now())
    assert not waited.due(once=False)  # just ran: not due again until tomorrow 01:30
    assert 0 < waited.wait() <= 60
    overdue = _Job("daily", lambda: calls.append(1), schedule=daily,
                   last_run_at=timezone.now() - timedelta(days=2))
    assert overdue.due(once=False)
    assert not overdue.due(once=False)  # its last run moved to now
    assert not overdue.due(once=True)  # `--once` leaves crontab jobs to their time
    interval = _Job("every", lambda: None, interval=5.0)
    assert interval.due(once=True) and not interval.due(once=True)
