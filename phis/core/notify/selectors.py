"""Reads of the inbox and the delivery outbox. A user only ever reads their own inbox."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, QuerySet

from phis.core.exceptions import NotFound
from phis.core.notify.models import Channel, Delivery, DeliveryStatus, Notification


def inbox_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user, in_inbox=True)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def inbox_unread_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, in_inbox=True,
                                       read_at__isnull=True).count()


def notification_get(*, user, notification_id: int) -> Notification:
    item = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if item is None:
        raise NotFound("通知", "notification")
    return item


def sms_sent_within(*, number: str, since: datetime) -> list[datetime]:
    """Send times of the SMS to ``number`` since ``since``, oldest first (rate limit)."""
    return list(Delivery.objects.filter(channel=Channel.SMS, address=number,
                                        status=DeliveryStatus.SENT, sent_at__gte=since)
                .order_by("sent_at").values_list("sent_at", flat=True))


def delivery_status_counts() -> dict[tuple[str, str], int]:
    rows = Delivery.objects.values("channel", "status").annotate(n=Count("id"))
    return {(r["channel"], r["status"]): r["n"] for r in rows}


def deliveries_failed(*, within: timedelta = timedelta(days=7), now: datetime) -> QuerySet:
    return Delivery.objects.filter(status=DeliveryStatus.FAILED,
                                   created_at__gte=now - within).order_by("-created_at")
