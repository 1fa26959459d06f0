"""Two drains at once never double-apply an effect. Real concurrency needs PostgreSQL
(row locks, SKIP LOCKED); on SQLite the IMMEDIATE transaction serialises writers and the
sequential equivalents are in test_durability.py."""

import threading
import time

import pytest
from django.db import connection, connections

from phis.core.events.models import HandlerDelivery, OutboxEvent
from phis.core.events.services import _deliver, event_emit, outbox_drain
from phis.core.events.tests.conftest import effects

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _worker_stopped(settings):
    settings.PHIS_EVENTS_DRAIN_ON_COMMIT = False  # only the threads below deliver


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")


def _in_threads(*targets):
    errors = []

    def run(target):
        try:
            target()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors


def test_two_drains_share_the_work_and_apply_each_event_once(clean_registry):
    calls = []
    lock = threading.Lock()

    @clean_registry.handles("conc.thing", name="t.slow")
    def slow(event):
        with lock:
            calls.append(event.pk)
        HandlerDelivery.objects.create(event=event, handler="effect")
        time.sleep(0.02)

    ids = [event_emit(topic="conc.thing", payload={}).pk for _ in range(30)]
    reports = []
    _in_threads(lambda: reports.append(outbox_drain(limit=100, batch_size=3)),
                lambda: reports.append(outbox_drain(limit=100, batch_size=3)))
    assert sorted(calls) == sorted(ids)  # every event handled exactly once
    assert sum(r.delivered for r in reports) == 30
    assert all(r.claimed for r in reports)  # SKIP LOCKED let both work at once
    assert HandlerDelivery.objects.filter(handler="effect").count() == 30
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()


def test_same_event_in_two_workers_applies_once(effect_handler):
    """Worst case: a lease ran out and two workers hold the same event. The second insert of
    the delivery row waits for the first transaction and then fails."""
    original = effect_handler

    def slow_apply(event):
        original(event)
        time.sleep(0.3)

    from phis.core.events import registry

    registry.handler_register(topic="test.thing_happened", func=slow_apply, name="tests.effect")
    event = event_emit(topic="test.thing_happened", payload={})
    copy_a = OutboxEvent.objects.get(pk=event.pk)
    copy_b = OutboxEvent.objects.get(pk=event.pk)
    _in_threads(lambda: _deliver(copy_a, now=None), lambda: _deliver(copy_b, now=None))
    assert effects() == 1
    assert len(effect_handler.calls) == 1
    assert HandlerDelivery.objects.filter(event_id=event.pk).count() == 1
