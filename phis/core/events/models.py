"""The transactional outbox (ARCHITECTURE.md §3 "Events").

A service writes its rows and an ``OutboxEvent`` in one transaction, so the event exists
exactly when the change does. Workers deliver each event at least once to every handler of
its topic; ``HandlerDelivery`` is written in the handler's own transaction together with
the handler's effect, so an effect is applied once even when an event is delivered twice.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    topic = models.CharField(_("主题"), max_length=100, db_index=True)
    payload = models.JSONField(_("内容"), default=dict)
    aggregate_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    aggregate_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("产生时间"), default=timezone.now)
    # Due time: creation, then the next retry, or the end of a worker's lease while claimed.
    available_at = models.DateTimeField(_("可投递时间"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)
    delivered_at = models.DateTimeField(_("投递完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        indexes = [
            models.Index(fields=["available_at", "id"], name="outbox_due_idx",
                         condition=Q(delivered_at__isnull=True)),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic}"


class HandlerDelivery(models.Model):
    """One row per (event, handler) whose effect has committed."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(_("处理程序"), max_length=200)
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("事件处理记录")
        verbose_name_plural = _("事件处理记录")
        constraints = [models.UniqueConstraint(fields=["event", "handler"],
                                               name="uniq_event_handler")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.handler}"
