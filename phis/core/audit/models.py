"""Append-only, hash-chained audit log (SECURITY.md §8 items 18-24).

Each row stores ``row_hash = HMAC-SM3(key, prev_hash ‖ canonical row)``; ``AuditChainHead``
holds the newest row's hash so a deleted tail is found too. Database triggers (migration
0002) refuse UPDATE and refuse DELETE of rows younger than the 180-day minimum retention.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditLog(models.Model):
    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("时间"), db_index=True)
    event_type = models.PositiveSmallIntegerField(_("事件"), db_index=True)
    category = models.CharField(_("类别"), max_length=16, db_index=True)
    # Plain values, not foreign keys: an audit row outlives the user and the record.
    actor_id = models.BigIntegerField(_("用户ID"), null=True, db_index=True)
    actor_username = models.CharField(_("用户"), max_length=150, blank=True)
    actor_org_code = models.CharField(_("用户机构"), max_length=32, blank=True)
    ip_address = models.CharField(_("IP"), max_length=45, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, blank=True)  # page/api/export/cli/task
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True, db_index=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True, db_index=True)
    person_id = models.BigIntegerField(_("人员ID"), null=True, db_index=True)
    purpose = models.CharField(_("目的"), max_length=200, blank=True)
    outcome = models.CharField(_("结果"), max_length=16, default="ok")
    detail = models.JSONField(_("详情"), default=dict)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"]),
                   models.Index(fields=["actor_id", "occurred_at"])]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")


class AuditChainHead(models.Model):
    """One row (id=1): the chain's newest row and the anchor left by retention purges."""

    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    purged_through_id = models.BigIntegerField(default=0)
    purged_anchor_hash = models.CharField(max_length=64, default="0" * 64)
