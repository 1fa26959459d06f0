from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from phis.core.exceptions import NotFound, ValidationFailed
from phis.core.notify.models import Channel, Delivery, DeliveryStatus, Notification
from phis.core.notify.selectors import inbox_list, inbox_unread_count
from phis.core.notify.services import (
    MAX_ATTEMPTS,
    deliveries_send,
    delivery_enqueue,
    notification_mark_all_read,
    notification_mark_read,
    notification_send,
)

pytestmark = pytest.mark.django_db


def _send(recipients, **kw):
    args = {"title": "报告待审核", "body": "有1张传染病报告卡待审核",
            "title_en": "Report to review",
            "body_en": "One notifiable-disease report awaits review", "link": "/reports/1/"}
    args.update(kw)
    return notification_send(recipients=recipients, **args)


def test_inbox_notification_in_both_languages(alice, bob):
    notes = _send([alice, bob.pk, alice])  # duplicates collapse
    assert [n.recipient_id for n in notes] == [alice.pk, bob.pk]
    n = inbox_list(user=alice).get()
    assert (n.title, n.title_en, n.link) == ("报告待审核", "Report to review", "/reports/1/")
    assert inbox_unread_count(user=alice) == 1
    assert Delivery.objects.filter(channel=Channel.INBOX, status=DeliveryStatus.SENT).count() == 2


def test_nothing_leaves_before_commit_and_nothing_after_rollback(
        alice, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _send([alice], channels=("inbox", "sms", "email"))
        assert sms_outbox == [] and mail.outbox == []
    assert len(sms_outbox) == 1 and len(mail.outbox) == 1
    assert sms_outbox[0]["to"] == "13800000001"
    assert sms_outbox[0]["text"].startswith("【东营公卫】报告待审核")
    assert "Report to review" in mail.outbox[0].body

    class Boom(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Boom), \
            transaction.atomic():
        _send([alice], channels=("sms",))
        raise Boom
    assert len(sms_outbox) == 1
    assert Notification.objects.count() == 1


def test_sms_only_is_not_in_inbox(alice):
    _send([alice], channels=("sms",))
    assert inbox_unread_count(user=alice) == 0
    assert deliveries_send().sent == 1


def test_missing_address_is_a_failed_delivery(notify_user):
    carol = notify_user("carol", mobile="")
    _send([carol], channels=("inbox", "sms"))
    d = Delivery.objects.get(channel=Channel.SMS)
    assert d.status == DeliveryStatus.FAILED and "no address" in d.last_error


def test_invalid_input():
    with pytest.raises(ValidationFailed) as exc:
        notification_send(recipients=[], title="", body="", channels=("fax",))
    assert {e.field for e in exc.value.errors} == {"title", "channels"}
    with pytest.raises(ValidationFailed):
        delivery_enqueue(channel="inbox", address="x", text="t")


def test_retries_with_backoff_then_gives_up(alice, settings):
    settings.PHIS_SMS_BACKEND = "phis.core.notify.tests.test_services.BrokenSms"
    _send([alice], channels=("sms",))
    t = timezone.now()
    report = deliveries_send(now=t)
    assert report.retried == 1
    d = Delivery.objects.get(channel=Channel.SMS)
    assert d.attempts == 1 and d.next_attempt_at == t + timedelta(seconds=30)
    assert "gateway down" in d.last_error
    assert deliveries_send(now=t + timedelta(seconds=10)).retried == 0  # not due
    for _ in range(MAX_ATTEMPTS - 1):
        t += timedelta(hours=1)
        deliveries_send(now=t)
    d.refresh_from_db()
    assert d.status == DeliveryStatus.FAILED and d.attempts == MAX_ATTEMPTS


class BrokenSms:
    def send(self, **kwargs):
        raise ConnectionError("gateway down")


def test_recovers_after_failure(alice, settings, sms_outbox):
    settings.PHIS_SMS_BACKEND = "phis.core.notify.tests.test_services.BrokenSms"
    _send([alice], channels=("sms",))
    t = timezone.now()
    deliveries_send(now=t)
    settings.PHIS_SMS_BACKEND = "memory"
    assert deliveries_send(now=t + timedelta(seconds=31)).sent == 1
    assert len(sms_outbox) == 1 and sms_outbox[0]["id"].startswith("phis-")


def test_sms_rate_limit_five_per_hour_per_number(alice, bob, sms_outbox):
    for i in range(7):
        delivery_enqueue(channel="sms", address="13900000000", text=f"code {i}")
    delivery_enqueue(channel="sms", address="13900000001", text="other number")
    t = timezone.now()
    report = deliveries_send(now=t)
    assert (report.sent, report.deferred) == (6, 2)
    assert [m["to"] for m in sms_outbox].count("13900000000") == 5
    deferred = Delivery.objects.filter(status=DeliveryStatus.PENDING)
    assert all("5 SMS per hour" in d.last_error for d in deferred)
    assert deliveries_send(now=t + timedelta(minutes=30)).sent == 0
    report = deliveries_send(now=t + timedelta(hours=1, seconds=2))
    assert report.sent == 2
    assert [m["to"] for m in sms_outbox].count("13900000000") == 7


def test_email_through_django_backend(alice):
    _send([alice], channels=("email",))
    assert deliveries_send().sent == 1
    assert mail.outbox[0].to == ["alice@example.org"]
    assert mail.outbox[0].subject == "报告待审核 / Report to review"


def test_mark_read(alice, bob):
    n1, = _send([alice])
    _send([alice])
    notification_mark_read(user=alice, notification_id=n1.pk)
    assert inbox_unread_count(user=alice) == 1
    with pytest.raises(NotFound):  # not bob's message
        notification_mark_read(user=bob, notification_id=n1.pk)
    assert notification_mark_all_read(user=alice) == 1
    assert inbox_unread_count(user=alice) == 0


def test_task_wrapper(alice):
    from phis.core.notify.tasks import deliveries_send_task

    _send([alice], channels=("sms",))
    assert deliveries_send_task() == 1
