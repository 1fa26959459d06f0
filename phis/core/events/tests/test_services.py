from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from phis.core.events.models import HandlerDelivery, OutboxEvent
from phis.core.events.services import event_emit, outbox_backoff, outbox_drain, outbox_retry
from phis.core.events.tests.conftest import effects
from phis.core.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db




def test_emit_records_event_with_json_payload():
    event = event_emit(topic="test.thing_happened",
                       payload={"when": timezone.now(), "n": 1},
                       aggregate_type="tests.thing", aggregate_id=7)
    event.refresh_from_db()
    assert event.aggregate_id == "7"
    assert isinstance(event.payload["when"], str)
    assert event.delivered_at is None


def test_emit_rejects_bad_topic_and_payload():
    with pytest.raises(ValidationFailed):
        event_emit(topic="", payload={})
    with pytest.raises(ValidationFailed):
        event_emit(topic="x.y", payload={"obj": object()})


def test_rolled_back_write_emits_nothing(effect_handler, django_capture_on_commit_callbacks):
    class Boom(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(Boom), transaction.atomic():
        event_emit(topic="test.thing_happened", payload={})
        raise Boom
    assert callbacks == []
    assert OutboxEvent.objects.count() == 0


def test_in_process_delivery_after_commit(effect_handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            first = event_emit(topic="test.thing_happened", payload={"n": 1})
            event_emit(topic="test.thing_happened", payload={"n": 2})
        # before the commit nothing ran
        assert effect_handler.calls == []
    assert len(callbacks) == 1  # one drain per transaction, however many events
    assert effects() == 2
    first.refresh_from_db()
    assert first.delivered_at is not None and first.attempts == 1


def test_event_without_handlers_is_marked_delivered(clean_registry):
    event = event_emit(topic="nobody.listens", payload={})
    assert outbox_drain(limit=10).delivered == 1
    event.refresh_from_db()
    assert event.delivered_at is not None


def test_wildcard_handlers(clean_registry):
    seen = []
    clean_registry.handles("orders.*", name="t.prefix")(lambda e: seen.append(("p", e.topic)))
    clean_registry.handles("*", name="t.all")(lambda e: seen.append(("a", e.topic)))
    event_emit(topic="orders.placed", payload={})
    event_emit(topic="other.thing", payload={})
    outbox_drain(limit=10)
    assert sorted(seen) == [("a", "orders.placed"), ("a", "other.thing"),
                            ("p", "orders.placed")]


def test_handler_name_cannot_switch_topic(clean_registry):
    clean_registry.handles("a.b", name="t.same")(lambda e: None)
    with pytest.raises(ValueError):
        clean_registry.handles("c.d", name="t.same")(lambda e: None)


def test_backoff_doubles_and_is_capped():
    assert outbox_backoff(1) == timedelta(seconds=10)
    assert outbox_backoff(2) == timedelta(seconds=20)
    assert outbox_backoff(4) == timedelta(seconds=80)
    assert outbox_backoff(30) == timedelta(hours=1)


def test_handler_that_fails_is_retried_with_backoff_and_delivered_later(clean_registry):
    state = {"fail": True, "calls": 0}
    ok_calls = []

    @clean_registry.handles("test.flaky", name="t.flaky")
    def flaky(event):
        state["calls"] += 1
        HandlerDelivery.objects.create(event=event, handler="t.flaky-effect")  # an effect
        if state["fail"]:
            raise RuntimeError("gateway down")

    @clean_registry.handles("test.flaky", name="t.steady")
    def steady(event):
        ok_calls.append(event.pk)

    event = event_emit(topic="test.flaky", payload={})
    t0 = timezone.now()
    report = outbox_drain(limit=10, now=t0)
    assert (report.delivered, report.retried) == (0, 1)
    event.refresh_from_db()
    assert event.attempts == 1 and "gateway down" in event.last_error
    assert event.available_at == t0 + timedelta(seconds=10)
    # the failed handler's effect was rolled back with it; the other handler is done
    assert not HandlerDelivery.objects.filter(handler="t.flaky-effect").exists()
    assert ok_calls == [event.pk]

    # not due yet: nothing happens
    assert outbox_drain(limit=10, now=t0 + timedelta(seconds=5)).claimed == 0
    # due again but still failing: backoff doubles
    outbox_drain(limit=10, now=t0 + timedelta(seconds=11))
    event.refresh_from_db()
    assert event.attempts == 2
    assert event.available_at == t0 + timedelta(seconds=11) + timedelta(seconds=20)

    state["fail"] = False
    report = outbox_drain(limit=10, now=t0 + timedelta(seconds=40))
    assert report.delivered == 1
    event.refresh_from_db()
    assert event.delivered_at is not None and event.last_error == ""
    assert state["calls"] == 3
    assert ok_calls == [event.pk]  # the healthy handler never ran twice
    assert set(event.deliveries.values_list("handler", flat=True)) == {
        "t.flaky", "t.steady", "t.flaky-effect"}


def test_retry_makes_scheduled_events_due(clean_registry):
    clean_registry.handles("test.x", name="t.fail")(lambda e: 1 / 0)
    event = event_emit(topic="test.x", payload={})
    outbox_drain(limit=10)
    assert outbox_drain(limit=10).claimed == 0
    assert outbox_retry(event_ids=[event.pk]) == 1
    assert outbox_drain(limit=10).claimed == 1


def test_drain_respects_limit_and_order(effect_handler):
    events = [event_emit(topic="test.thing_happened", payload={"i": i}) for i in range(5)]
    assert outbox_drain(limit=3).delivered == 3
    assert effect_handler.calls == [e.pk for e in events[:3]]
    assert outbox_drain(limit=10).delivered == 2


def test_handler_emitting_events_inside_drain(clean_registry):
    seen = []

    @clean_registry.handles("chain.first", name="t.first")
    def first(event):
        event_emit(topic="chain.second", payload={"from": event.pk})

    clean_registry.handles("chain.second", name="t.second")(lambda e: seen.append(e.payload))
    event = event_emit(topic="chain.first", payload={})
    outbox_drain(limit=10)
    assert seen == [{"from": event.pk}]


@override_settings(PHIS_TASKS_IN_PROCESS=False)
def test_production_mode_enqueues_the_celery_task(effect_handler,
                                                  django_capture_on_commit_callbacks):
    from unittest import mock

    with mock.patch("celery.current_app.send_task") as send, \
            django_capture_on_commit_callbacks(execute=True):
        event_emit(topic="test.thing_happened", payload={})
    send.assert_called_once_with("phis.core.events.tasks.outbox_drain_task")
    assert effects() == 0  # the worker, not the web process, delivers


@override_settings(PHIS_TASKS_IN_PROCESS=False)
def test_broker_down_loses_nothing(effect_handler, django_capture_on_commit_callbacks):
    from unittest import mock

    with mock.patch("celery.current_app.send_task", side_effect=ConnectionError("no redis")), \
            django_capture_on_commit_callbacks(execute=True):
        event_emit(topic="test.thing_happened", payload={})
    assert OutboxEvent.objects.filter(delivered_at__isnull=True).count() == 1
    from phis.core.events.tasks import outbox_drain_task

    assert outbox_drain_task() == 1  # beat's periodic drain delivers it
    assert effects() == 1
