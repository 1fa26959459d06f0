"""A3 direct-report exchange (网络直报数据交换): what PHIS sent to the national/provincial
system and what came back, what it received from them, and which outside card each local card
mirrors. The file layout itself is ``phis.interop.nidrs`` (docs/modules/directreport.md §3).

Outbound: one ``OutboundRecord`` per card version to send on a channel (queued by the
``notifiable.card.changed`` handler), grouped into immutable ``OutboundBatch`` files that are
delivered at least once with exponential back-off and acknowledged per record.
Inbound: one ``InboundBatch`` per file received, one ``InboundRecord`` per line with its
result; ``ExternalCard`` links an outside card (source system + record id) to the local card
and the version last applied, which makes import idempotent.
"""

from __future__ import annotations

import json

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from phis.core.crypto.fields import field_provider
from phis.core.models import TimeStampedModel

# Batches and records carry identifiers in clear inside the layout; at rest they are
# encrypted like every identifier (SECURITY.md §2), each kind under its own purpose.
RECORD_PURPOSE = "directreport.outbound.record"
OUTBOUND_FILE_PURPOSE = "directreport.outbound.file"
INBOUND_FILE_PURPOSE = "directreport.inbound.file"


def _seal(data: bytes, purpose: str) -> bytes:
    return field_provider().encrypt(data, associated_data=purpose.encode())


def _open(blob, purpose: str) -> bytes:
    if blob is None:
        return b""
    return field_provider().decrypt(bytes(blob), associated_data=purpose.encode())


class Operation(models.TextChoices):
    ADD = "add", _("新增")
    UPDATE = "update", _("更新")
    DELETE = "delete", _("删除")


class OutboundState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送待回执")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    REJECTED = "rejected", _("被拒收")
    SUPERSEDED = "superseded", _("已被新版本取代")


class BatchState(models.TextChoices):
    BUILT = "built", _("待投递")
    FAILED = "failed", _("投递失败待重试")
    DELIVERED = "delivered", _("已投递待回执")
    ACKNOWLEDGED = "acknowledged", _("已回执")
    REJECTED = "rejected", _("整批被拒收")


class OutboundBatch(TimeStampedModel):
    """One batch file as sent; its bytes never change, so every re-delivery is identical."""

    channel = models.CharField(_("通道"), max_length=32)
    batch_id = models.CharField(_("批次号"), max_length=64, unique=True)
    receiver = models.CharField(_("接收方"), max_length=32)
    file_name = models.CharField(_("文件名"), max_length=200)
    content_encrypted = models.BinaryField(_("文件内容"))
    digest_algorithm = models.CharField(max_length=16)
    body_digest = models.CharField(_("摘要"), max_length=128)
    record_count = models.PositiveIntegerField(_("记录数"))
    state = models.CharField(_("状态"), max_length=16, choices=BatchState.choices,
                             default=BatchState.BUILT, db_index=True)
    attempts = models.PositiveIntegerField(_("投递次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次投递时间"), null=True, blank=True,
                                           db_index=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    delivered_at = models.DateTimeField(_("投递时间"), null=True, blank=True)
    delivery_receipt = models.CharField(_("投递回执"), max_length=300, blank=True)
    redeliveries = models.PositiveIntegerField(_("重发次数"), default=0)
    ack_received_at = models.DateTimeField(_("回执时间"), null=True, blank=True)
    ack_batch_id = models.CharField(_("回执批次号"), max_length=64, blank=True)
    ack_content = models.BinaryField(null=True, blank=True)
    batch_code = models.CharField(_("整批拒收代码"), max_length=40, blank=True)
    batch_reason = models.CharField(_("整批拒收原因"), max_length=500, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name = _("上报批次")
        verbose_name_plural = _("上报批次")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="dr_batch_due")]

    def __str__(self) -> str:
        return self.batch_id

    @property
    def content(self) -> bytes:
        return _open(self.content_encrypted, OUTBOUND_FILE_PURPOSE)

    @content.setter
    def content(self, value: bytes) -> None:
        self.content_encrypted = _seal(value, OUTBOUND_FILE_PURPOSE)


class OutboundRecord(TimeStampedModel):
    """One version of one card to send on one channel (idempotent by card + version)."""

    channel = models.CharField(_("通道"), max_length=32)
    card = models.ForeignKey("notifiable.ReportCard", verbose_name=_("报告卡"),
                             on_delete=models.PROTECT, related_name="+")
    record_id = models.CharField(_("记录编号"), max_length=64)  # the card number
    version = models.PositiveIntegerField(_("版本"))
    operation = models.CharField(_("操作"), max_length=8, choices=Operation.choices)
    # Where the card counts (current address, surveillance.md §2.2), kept for the
    # reconciliation report per county.
    county_code = models.CharField(_("现住址县区"), max_length=12, blank=True, db_index=True)
    disease_code = models.CharField(_("病种"), max_length=48, blank=True)
    # the record as serialised (layout §3.3), encrypted: see ``payload``
    payload_encrypted = models.BinaryField(_("记录内容"))
    state = models.CharField(_("状态"), max_length=16, choices=OutboundState.choices,
                             default=OutboundState.PENDING, db_index=True)
    batch = models.ForeignKey(OutboundBatch, verbose_name=_("批次"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="records")
    send_count = models.PositiveIntegerField(_("发送次数"), default=0)
    first_sent_at = models.DateTimeField(_("首次发送时间"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("最近发送时间"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("回执时间"), null=True, blank=True)
    ack_result = models.CharField(_("回执结果"), max_length=12, blank=True)
    ack_code = models.CharField(_("回执代码"), max_length=40, blank=True)
    ack_reason = models.CharField(_("拒收原因"), max_length=500, blank=True)
    ack_reason_en = models.CharField(max_length=500, blank=True)
    ack_errors = models.JSONField(default=list, blank=True)
    receiver_ref = models.CharField(_("接收方编号"), max_length=64, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name = _("上报记录")
        verbose_name_plural = _("上报记录")
        constraints = [models.UniqueConstraint(fields=["channel", "card", "version"],
                                               name="dr_outbound_once")]
        indexes = [models.Index(fields=["channel", "state", "created_at"],
                                name="dr_outbound_queue"),
                   models.Index(fields=["channel", "record_id"], name="dr_outbound_record")]

    def __str__(self) -> str:
        return f"{self.record_id} v{self.version}"

    @property
    def payload(self) -> dict:
        return json.loads(_open(self.payload_encrypted, RECORD_PURPOSE) or b"{}")

    @payload.setter
    def payload(self, value: dict) -> None:
        self.payload_encrypted = _seal(json.dumps(value, ensure_ascii=False).encode(),
                                       RECORD_PURPOSE)


class InboundState(models.TextChoices):
    PROCESSED = "processed", _("已处理")
    REJECTED = "rejected", _("整批拒收")


class InboundBatch(TimeStampedModel):
    """A batch file received (cards reported elsewhere for the city's residents)."""

    channel = models.CharField(_("通道"), max_length=32, blank=True)
    sender = models.CharField(_("发送方"), max_length=32, blank=True)
    receiver = models.CharField(_("接收方"), max_length=32, blank=True)
    batch_id = models.CharField(_("批次号"), max_length=64, blank=True)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    content_encrypted = models.BinaryField(_("文件内容"))
    content_sha256 = models.CharField(max_length=64)
    state = models.CharField(_("状态"), max_length=12, choices=InboundState.choices)
    batch_code = models.CharField(_("整批拒收代码"), max_length=40, blank=True)
    batch_reason = models.CharField(_("整批拒收原因"), max_length=500, blank=True)
    batch_reason_en = models.CharField(max_length=500, blank=True)
    record_count = models.PositiveIntegerField(_("记录数"), default=0)
    accepted_count = models.PositiveIntegerField(_("接收数"), default=0)
    duplicate_count = models.PositiveIntegerField(_("重复数"), default=0)
    rejected_count = models.PositiveIntegerField(_("拒收数"), default=0)
    ack_batch_id = models.CharField(_("回执批次号"), max_length=64, blank=True)
    ack_file_name = models.CharField(_("回执文件名"), max_length=200, blank=True)
    ack_content = models.BinaryField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name = _("接收批次")
        verbose_name_plural = _("接收批次")
        constraints = [models.UniqueConstraint(
            fields=["sender", "batch_id"], condition=Q(state="processed"),
            name="dr_inbound_batch_once")]

    def __str__(self) -> str:
        return self.batch_id or f"#{self.pk}"

    @property
    def content(self) -> bytes:
        return _open(self.content_encrypted, INBOUND_FILE_PURPOSE)

    @content.setter
    def content(self, value: bytes) -> None:
        self.content_encrypted = _seal(value, INBOUND_FILE_PURPOSE)


class InboundResult(models.TextChoices):
    ACCEPTED = "accepted", _("已接收")
    DUPLICATE = "duplicate", _("重复(无变化)")
    REJECTED = "rejected", _("拒收")


class InboundRecord(models.Model):
    batch = models.ForeignKey(InboundBatch, on_delete=models.CASCADE, related_name="records")
    line = models.PositiveIntegerField(_("行号"))
    record_id = models.CharField(_("记录编号"), max_length=64, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=0)
    operation = models.CharField(_("操作"), max_length=8, blank=True)
    result = models.CharField(_("结果"), max_length=12, choices=InboundResult.choices)
    code = models.CharField(_("代码"), max_length=40, blank=True)
    reason = models.CharField(_("原因"), max_length=500, blank=True)
    reason_en = models.CharField(max_length=500, blank=True)
    errors = models.JSONField(default=list, blank=True)
    card = models.ForeignKey("notifiable.ReportCard", verbose_name=_("报告卡"), null=True,
                             blank=True, on_delete=models.PROTECT, related_name="+")
    county_code = models.CharField(_("现住址县区"), max_length=12, blank=True)

    class Meta:
        ordering = ("batch", "line")
        verbose_name = _("接收记录")
        verbose_name_plural = _("接收记录")


class ExternalCard(TimeStampedModel):
    """An outside card (its system + record id) and the local card that mirrors it."""

    source_system = models.CharField(_("来源系统"), max_length=64)
    record_id = models.CharField(_("外部卡片编号"), max_length=64)
    card = models.OneToOneField("notifiable.ReportCard", verbose_name=_("报告卡"),
                                on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(_("已应用版本"))
    deleted = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("外部报告卡")
        verbose_name_plural = _("外部报告卡")
        constraints = [models.UniqueConstraint(fields=["source_system", "record_id"],
                                               name="dr_external_card_once")]
