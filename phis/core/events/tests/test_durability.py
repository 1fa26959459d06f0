"""A stopped worker delays delivery but loses nothing (issue 2 "outbox durability")."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from phis.core.events.models import HandlerDelivery, OutboxEvent
from phis.core.events.selectors import outbox_status
from phis.core.events.services import _deliver, event_emit, outbox_drain
from phis.core.events.tests.conftest import effects
from phis.core.orgunits.models import Level, OrgUnit

pytestmark = pytest.mark.django_db


@override_settings(PHIS_EVENTS_DRAIN_ON_COMMIT=False)
def test_events_wait_while_worker_is_stopped_then_each_is_applied_once(
        effect_handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(20):
            with transaction.atomic():
                OrgUnit.objects.create(code=f"W{i}", name="write", level=Level.FACILITY,
                                       path=f"/W{i}/")
                event_emit(topic="test.thing_happened", payload={"i": i})
    status = outbox_status()
    assert (status.due, status.delivered) == (20, 0)
    assert effects() == 0

    # the worker comes back
    report = outbox_drain(limit=1000)
    assert (report.claimed, report.delivered) == (20, 20)
    assert effects() == 20
    # draining again changes nothing
    assert outbox_drain(limit=1000).claimed == 0
    assert effects() == 20
    assert outbox_status().delivered == 20


def test_crashed_drain_events_come_back_after_the_lease(effect_handler):
    event = event_emit(topic="test.thing_happened", payload={})
    t0 = timezone.now()
    from phis.core.events.services import _claim

    claimed = _claim(limit=10, now=t0)  # a worker claims, then dies before delivering
    assert [e.pk for e in claimed] == [event.pk]
    assert outbox_drain(limit=10, now=t0 + timedelta(seconds=60)).claimed == 0  # leased
    report = outbox_drain(limit=10, now=t0 + timedelta(seconds=301))
    assert report.delivered == 1
    assert effects() == 1


def test_redelivery_never_reapplies_an_effect(effect_handler):
    """At-least-once: a second delivery of the same event (a lease ran out while the first
    worker was still busy) finds the handler's delivery row and skips it."""
    event = event_emit(topic="test.thing_happened", payload={})
    assert _deliver(event, now=None)
    event.refresh_from_db()
    assert _deliver(event, now=None)  # e.g. an older copy of the event in another worker
    assert effects() == 1
    assert effect_handler.calls == [event.pk]
    assert HandlerDelivery.objects.filter(event=event).count() == 1


def test_claimed_events_are_skipped_by_a_second_drain(effect_handler):
    from phis.core.events.services import _claim

    events = [event_emit(topic="test.thing_happened", payload={}) for _ in range(4)]
    first = _claim(limit=2, now=None)
    second = _claim(limit=10, now=None)
    assert {e.pk for e in first}.isdisjoint({e.pk for e in second})
    assert {e.pk for e in first} | {e.pk for e in second} == {e.pk for e in events}


def test_status_counts(clean_registry):
    clean_registry.handles("s.fail", name="t.fail")(lambda e: 1 / 0)
    event_emit(topic="s.fail", payload={})
    event_emit(topic="s.ok", payload={})
    outbox_drain(limit=10)
    event_emit(topic="s.ok", payload={})
    status = outbox_status()
    assert (status.due, status.scheduled, status.failing, status.delivered) == (1, 1, 1, 1)
    assert status.undelivered == 2
    assert OutboxEvent.objects.count() == 3
