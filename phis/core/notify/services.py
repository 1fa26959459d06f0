"""Sending notifications: the inbox row and the channel deliveries are written in the
caller's transaction; SMS and e-mail leave after the commit through ``deliveries_send``
(in-process in the embedded default, a Celery task in production), with retries, backoff and
the SMS limit of 5 per hour per number (SECURITY.md §8 item 31)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from phis.core.events.dispatch import run_inline_or_enqueue, schedule_once_after_commit
from phis.core.exceptions import FieldError, ValidationFailed
from phis.core.notify import backends
from phis.core.notify.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationLevel,
)
from phis.core.notify.selectors import notification_get, sms_sent_within

log = logging.getLogger(__name__)

SEND_TASK = "phis.core.notify.tasks.deliveries_send_task"
SMS_PER_HOUR = 5
MAX_ATTEMPTS = 6
SMS_SIGNATURE = "【东营公卫】"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def delivery_backoff(attempts: int) -> timedelta:
    """30 s, 60 s, 120 s … capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


# --- send ---------------------------------------------------------------------------------

def _users(recipients: Iterable[Any]) -> list:
    User = get_user_model()
    ids: list[int] = []
    for r in recipients:
        pk = r if isinstance(r, int) else getattr(r, "pk", None)
        if pk is not None and pk not in ids:
            ids.append(pk)
    by_id = {u.pk: u for u in User.objects.filter(pk__in=ids, is_active=True)}
    return [by_id[i] for i in ids if i in by_id]


def _sms_text(title: str, body: str, link: str) -> str:
    text = f"{SMS_SIGNATURE}{title}" + (f"：{body}" if body else "")
    return text[:480]


def _email_text(n: Notification, base_url: str) -> str:
    link = f"\n\n{base_url}{n.link}" if n.link else ""
    english = f"\n\n---\n{n.title_en}\n\n{n.body_en}" if n.title_en or n.body_en else ""
    return f"{n.title}\n\n{n.body}{link}{english}"


@transaction.atomic
def notification_send(*, recipients: Iterable[Any], title: str, body: str = "",
                      title_en: str = "", body_en: str = "", link: str = "",
                      level: str = NotificationLevel.INFO,
                      channels: Iterable[str] = (Channel.INBOX,)) -> list[Notification]:
    """Notify users (User objects or ids; inactive users are skipped) on the given channels.
    Call inside the caller's transaction: nothing leaves before it commits. SMS go to the
    user's mobile, e-mail to their address; a user without one gets a failed delivery row
    saying so."""
    channels = tuple(dict.fromkeys(str(c) for c in channels))
    errors = []
    if not title.strip():
        errors.append(FieldError("title", "required", "请填写标题", "A title is required"))
    if not channels or any(c not in Channel.values for c in channels):
        errors.append(FieldError("channels", "invalid_choice", "通知渠道无效",
                                 "Unknown notification channel"))
    if level not in NotificationLevel.values:
        errors.append(FieldError("level", "invalid_choice", "通知级别无效",
                                 "Unknown notification level"))
    if errors:
        raise ValidationFailed(errors)
    now = timezone.now()
    base_url = _setting("PHIS_BASE_URL", "")
    notifications: list[Notification] = []
    deliveries: list[Delivery] = []
    for user in _users(recipients):
        n = Notification.objects.create(
            recipient=user, title=title[:200], body=body, title_en=title_en[:200],
            body_en=body_en, link=link, level=level, in_inbox=Channel.INBOX in channels,
            created_at=now)
        notifications.append(n)
        for channel in channels:
            if channel == Channel.INBOX:
                deliveries.append(Delivery(notification=n, channel=channel,
                                           address=user.get_username(), attempts=1,
                                           status=DeliveryStatus.SENT, sent_at=now))
                continue
            address = user.mobile if channel == Channel.SMS else user.email
            d = Delivery(notification=n, channel=channel, address=address or "",
                         subject=f"{n.title} / {n.title_en}" if n.title_en else n.title,
                         text=_sms_text(title, body, link) if channel == Channel.SMS
                         else _email_text(n, base_url))
            if not address:
                d.status = DeliveryStatus.FAILED
                d.last_error = "用户没有登记手机号或邮箱 / the user has no address for this channel"
            deliveries.append(d)
    Delivery.objects.bulk_create(deliveries)
    if any(d.status == DeliveryStatus.PENDING for d in deliveries):
        schedule_once_after_commit(_after_commit)
    return notifications


@transaction.atomic
def delivery_enqueue(*, channel: str, address: str, text: str, subject: str = "") -> Delivery:
    """A message to an address that is not a user's (e.g. a one-time code to a mobile
    number). Same outbox, retries and SMS limit as ``notification_send``."""
    if channel not in (Channel.SMS, Channel.EMAIL):
        raise ValidationFailed([FieldError("channel", "invalid_choice", "通知渠道无效",
                                           "Only sms or email can be sent to an address")])
    if not address.strip():
        raise ValidationFailed([FieldError("address", "required", "请填写地址",
                                           "An address is required")])
    d = Delivery.objects.create(channel=channel, address=address.strip(), subject=subject,
                                text=text)
    schedule_once_after_commit(_after_commit)
    return d


def _after_commit() -> None:
    if not _setting("PHIS_NOTIFY_SEND_ON_COMMIT", True):
        return
    run_inline_or_enqueue(inline=lambda: deliveries_send(
        limit=_setting("PHIS_NOTIFY_INLINE_LIMIT", 100)), task_name=SEND_TASK)


# --- deliver ------------------------------------------------------------------------------

@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # SMS over the hourly limit, sent later


def _claim(*, limit: int, now: datetime) -> list[Delivery]:
    lease = timedelta(seconds=_setting("PHIS_NOTIFY_LEASE_SECONDS", 300))
    with transaction.atomic():
        qs = (Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
              .order_by("next_attempt_at", "id"))
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        rows = list(qs[:limit])
        if rows:
            Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
                next_attempt_at=now + lease)
    return rows


def _sms_wait(number: str, now: datetime) -> timedelta | None:
    sent = sms_sent_within(number=number, since=now - timedelta(hours=1))
    if len(sent) < SMS_PER_HOUR:
        return None
    return sent[-SMS_PER_HOUR] + timedelta(hours=1) - now + timedelta(seconds=1)


def deliveries_send(*, limit: int = 200, now: datetime | None = None) -> SendReport:
    """Send due SMS and e-mail deliveries. Each is tried up to 6 times with backoff, then
    marked failed. Network I/O happens outside any transaction."""
    now = now or timezone.now()
    report = SendReport()
    for d in _claim(limit=limit, now=now):
        if d.channel == Channel.SMS:
            wait = _sms_wait(d.address, now)
            if wait is not None:
                Delivery.objects.filter(pk=d.pk).update(
                    next_attempt_at=now + wait,
                    last_error="超过每小时5条短信限制，稍后发送 / over 5 SMS per hour; deferred")
                report.deferred += 1
                continue
        attempts = d.attempts + 1
        try:
            if d.channel == Channel.SMS:
                backends.sms_backend().send(number=d.address, text=d.text,
                                            message_id=f"phis-{d.pk}")
            else:
                backends.email_send(address=d.address, subject=d.subject, text=d.text)
        except Exception as exc:
            give_up = attempts >= MAX_ATTEMPTS
            Delivery.objects.filter(pk=d.pk).update(
                attempts=attempts, last_error=repr(exc)[:2000],
                status=DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING,
                next_attempt_at=now + delivery_backoff(attempts))
            log.warning("delivery %s over %s failed (attempt %s): %r", d.pk, d.channel,
                        attempts, exc)
            if give_up:
                report.failed += 1
            else:
                report.retried += 1
            continue
        Delivery.objects.filter(pk=d.pk).update(attempts=attempts, status=DeliveryStatus.SENT,
                                                sent_at=now, last_error="")
        report.sent += 1
    return report


# --- inbox --------------------------------------------------------------------------------

@transaction.atomic
def notification_mark_read(*, user, notification_id: int) -> Notification:
    item = notification_get(user=user, notification_id=notification_id)
    if item.read_at is None:
        item.read_at = timezone.now()
        item.save(update_fields=["read_at"])
    return item


@transaction.atomic
def notification_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now())
