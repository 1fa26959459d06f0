"""In-app inbox and the delivery outbox of the external channels (SMS, e-mail).

``Notification`` is one message to one user (Chinese and English). ``Delivery`` is one
attempt-tracked send of a message over one channel; the inbox channel is delivered the moment
the notification commits, the others by ``deliveries_send`` (a Celery task in production).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationLevel(models.TextChoices):
    INFO = "info", _("提示")
    WARNING = "warning", _("警示")
    URGENT = "urgent", _("紧急")


class Channel(models.TextChoices):
    INBOX = "inbox", _("站内消息")
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("接收人"),
                                  on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    title_en = models.CharField(_("英文标题"), max_length=200, blank=True)
    body_en = models.TextField(_("英文内容"), blank=True)
    link = models.CharField(_("链接"), max_length=500, blank=True)
    level = models.CharField(_("级别"), max_length=10, choices=NotificationLevel.choices,
                             default=NotificationLevel.INFO)
    in_inbox = models.BooleanField(_("显示在站内消息"), default=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notify_inbox_idx"),
            models.Index(fields=["recipient"], name="notify_unread_idx",
                         condition=Q(read_at__isnull=True, in_inbox=True)),
        ]

    def __str__(self) -> str:
        return self.title


class Delivery(models.Model):
    notification = models.ForeignKey(Notification, null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    address = models.CharField(_("地址"), max_length=254, blank=True)  # mobile or e-mail
    subject = models.CharField(_("主题"), max_length=300, blank=True)
    text = models.TextField(_("正文"), blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    next_attempt_at = models.DateTimeField(_("下次尝试"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("投递")
        verbose_name_plural = _("投递")
        indexes = [
            models.Index(fields=["next_attempt_at", "id"], name="notify_due_idx",
                         condition=Q(status="pending")),
            models.Index(fields=["channel", "address", "sent_at"], name="notify_rate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address} {self.status}"
