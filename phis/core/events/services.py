"""Writes of the outbox: emit inside the caller's transaction, drain, retry, purge.

Delivery is at least once. A drain claims due events (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``; SQLite: the IMMEDIATE transaction serialises writers) by pushing their due time
one lease ahead, then runs every handler that has no ``HandlerDelivery`` row yet, each in
its own transaction together with that row. A crashed drain's events come back when the
lease ends; a failing handler is retried with exponential backoff; a handler that already
ran is never run again for the same event.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from phis.core.events.dispatch import run_inline_or_enqueue, schedule_once_after_commit
from phis.core.events.models import HandlerDelivery, OutboxEvent
from phis.core.events.registry import (  # re-exported: modules import them from here
    handler_register,
    handler_unregister,
    handlers_for,
    handles,
)
from phis.core.exceptions import FieldError, ValidationFailed

__all__ = ["DrainReport", "event_emit", "handler_register", "handler_unregister", "handles",
           "outbox_backoff", "outbox_drain", "outbox_purge", "outbox_retry"]

log = logging.getLogger(__name__)

DRAIN_TASK = "phis.core.events.tasks.outbox_drain_task"
BATCH_SIZE = 100


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def outbox_backoff(attempts: int) -> timedelta:
    """Wait before retry number ``attempts``: 10 s, 20 s, 40 s … capped at one hour."""
    base = _setting("PHIS_EVENTS_BACKOFF_SECONDS", 10)
    cap = _setting("PHIS_EVENTS_BACKOFF_MAX_SECONDS", 3600)
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


# --- emit -----------------------------------------------------------------------------------

def event_emit(*, topic: str, payload: dict | None = None, aggregate_type: str = "",
               aggregate_id: Any = "") -> OutboxEvent:
    """Record an event in the caller's transaction; it is delivered after the commit (and
    never if the transaction rolls back). ``payload`` must be JSON-serialisable (dates,
    decimals and UUIDs are converted to strings)."""
    if not topic or len(topic) > 100:
        raise ValidationFailed([FieldError("topic", "invalid", "事件主题无效",
                                           "Invalid event topic")])
    try:
        clean = json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))
    except TypeError as exc:
        raise ValidationFailed([FieldError("payload", "invalid", "事件内容须可序列化为JSON",
                                           f"Payload is not JSON-serialisable: {exc}")]) from None
    event = OutboxEvent.objects.create(
        topic=topic, payload=clean, aggregate_type=aggregate_type,
        aggregate_id="" if aggregate_id in (None, "") else str(aggregate_id))
    schedule_once_after_commit(_after_commit)
    return event


_local = threading.local()


def _after_commit() -> None:
    if not _setting("PHIS_EVENTS_DRAIN_ON_COMMIT", True):
        return  # delivery is left to the periodic drain (and to tests that drain by hand)
    if settings.PHIS_TASKS_IN_PROCESS and getattr(_local, "draining", False):
        return  # the drain running in this thread picks the new event up
    run_inline_or_enqueue(inline=lambda: outbox_drain(
        limit=_setting("PHIS_EVENTS_INLINE_LIMIT", 200)), task_name=DRAIN_TASK)


# --- drain ----------------------------------------------------------------------------------

@dataclass
class DrainReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0


def outbox_drain(*, limit: int = 500, now: datetime | None = None,
                 batch_size: int = BATCH_SIZE) -> DrainReport:
    """Deliver up to ``limit`` due events to their pending handlers, claiming ``batch_size``
    at a time. Safe to run in several processes at once."""
    report = DrainReport()
    was_draining = getattr(_local, "draining", False)
    _local.draining = True
    try:
        while report.claimed < limit:
            batch = _claim(limit=min(batch_size, limit - report.claimed), now=now)
            if not batch:
                break
            report.claimed += len(batch)
            for event in batch:
                if _deliver(event, now=now):
                    report.delivered += 1
                else:
                    report.retried += 1
    finally:
        _local.draining = was_draining
    return report


def _claim(*, limit: int, now: datetime | None) -> list[OutboxEvent]:
    now = now or timezone.now()
    lease = timedelta(seconds=_setting("PHIS_EVENTS_LEASE_SECONDS", 300))
    with transaction.atomic():
        qs = (OutboxEvent.objects.filter(delivered_at__isnull=True, available_at__lte=now)
              .order_by("available_at", "id"))
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        events = list(qs[:limit])
        if events:
            OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(
                available_at=now + lease)
    return events


def _deliver(event: OutboxEvent, *, now: datetime | None) -> bool:
    done = set(HandlerDelivery.objects.filter(event=event).values_list("handler", flat=True))
    errors: list[str] = []
    for handler in handlers_for(event.topic):
        if handler.name in done:
            continue
        try:
            with transaction.atomic():
                if not _mark_handled(event, handler.name):
                    continue  # another drain delivered it meanwhile
                handler.func(event)
        except Exception as exc:
            log.warning("event %s handler %s failed: %r", event.pk, handler.name, exc)
            errors.append(f"{handler.name}: {exc!r}")
    finished = now or timezone.now()
    attempts = event.attempts + 1
    if errors:
        OutboxEvent.objects.filter(pk=event.pk).update(
            attempts=attempts, last_error="\n".join(errors)[:4000],
            available_at=finished + outbox_backoff(attempts))
        return False
    OutboxEvent.objects.filter(pk=event.pk).update(attempts=attempts, last_error="",
                                                   delivered_at=finished)
    return True


def _mark_handled(event: OutboxEvent, name: str) -> bool:
    """Insert the delivery row first: on PostgreSQL a concurrent insert of the same row waits
    for this transaction and then fails, so two drains never both apply an effect."""
    try:
        with transaction.atomic():
            HandlerDelivery.objects.create(event=event, handler=name)
    except IntegrityError:
        return False
    return True


# --- maintenance --------------------------------------------------------------------------

@transaction.atomic
def outbox_retry(*, event_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Make undelivered events (all, or the given ones) due now."""
    qs = OutboxEvent.objects.filter(delivered_at__isnull=True)
    if event_ids is not None:
        qs = qs.filter(pk__in=event_ids)
    return qs.update(available_at=now or timezone.now())


@transaction.atomic
def outbox_purge(*, older_than_days: int = 30, now: datetime | None = None) -> int:
    """Delete delivered events (and their delivery rows) older than the given age."""
    cutoff = (now or timezone.now()) - timedelta(days=max(1, older_than_days))
    deleted, _ = OutboxEvent.objects.filter(delivered_at__lt=cutoff).delete()
    return deleted
