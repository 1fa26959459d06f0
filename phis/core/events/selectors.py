"""Reads of the outbox, for the status command and the operations pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min, QuerySet
from django.utils import timezone

from phis.core.events.models import OutboxEvent
from phis.core.events.registry import handlers_all


@dataclass(frozen=True)
class OutboxStatus:
    due: int  # waiting for a drain now
    scheduled: int  # retry or lease in the future
    failing: int  # undelivered with at least one failed attempt
    delivered: int
    oldest_due_at: datetime | None
    handlers: int

    @property
    def undelivered(self) -> int:
        return self.due + self.scheduled


def outbox_status(*, now: datetime | None = None) -> OutboxStatus:
    now = now or timezone.now()
    pending = OutboxEvent.objects.filter(delivered_at__isnull=True)
    due = pending.filter(available_at__lte=now)
    return OutboxStatus(
        due=due.count(),
        scheduled=pending.filter(available_at__gt=now).count(),
        failing=pending.filter(attempts__gt=0).count(),
        delivered=OutboxEvent.objects.filter(delivered_at__isnull=False).count(),
        oldest_due_at=due.aggregate(m=Min("created_at"))["m"],
        handlers=len(handlers_all()),
    )


def outbox_failing(*, limit: int = 20) -> QuerySet[OutboxEvent]:
    return (OutboxEvent.objects.filter(delivered_at__isnull=True, attempts__gt=0)
            .order_by("available_at")[:limit])


def outbox_events_for(*, aggregate_type: str, aggregate_id: str) -> QuerySet[OutboxEvent]:
    return OutboxEvent.objects.filter(aggregate_type=aggregate_type,
                                      aggregate_id=str(aggregate_id)).order_by("id")
