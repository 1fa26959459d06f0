"""Workflow instances (one per item under review, verification, handover …) and their
history. ``version`` is bumped on every state change; writers compare-and-swap on it."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WorkflowInstance(models.Model):
    definition = models.CharField(_("流程"), max_length=64)
    subject_type = models.ForeignKey(ContentType, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    subject_id = models.CharField(max_length=64, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    subject_key = models.CharField(_("事项标识"), max_length=128, blank=True, db_index=True)
    title = models.CharField(_("标题"), max_length=200, blank=True)
    state = models.CharField(_("状态"), max_length=40)
    is_open = models.BooleanField(_("未办结"), default=True)
    owner_user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("办理人"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="workflow_items")
    owner_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("办理机构"),
                                   on_delete=models.PROTECT, related_name="+")
    state_entered_at = models.DateTimeField(_("进入状态时间"), default=timezone.now)
    due_at = models.DateTimeField(_("办理时限"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("升级时间"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    data = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("流程事项")
        verbose_name_plural = _("流程事项")
        indexes = [
            models.Index(fields=["definition", "state"], name="wf_def_state_idx"),
            models.Index(fields=["subject_type", "subject_id"], name="wf_subject_idx"),
            models.Index(fields=["due_at"], name="wf_due_idx",
                         condition=Q(is_open=True, due_at__isnull=False)),
            models.Index(fields=["owner_unit", "is_open"], name="wf_owner_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.definition}#{self.pk} {self.state}"

    def is_overdue(self, now=None) -> bool:
        return bool(self.is_open and self.due_at and self.due_at <= (now or timezone.now()))


class WorkflowTransition(models.Model):
    instance = models.ForeignKey(WorkflowInstance, on_delete=models.CASCADE,
                                 related_name="history")
    action = models.CharField(_("操作"), max_length=40)
    from_state = models.CharField(_("原状态"), max_length=40, blank=True)
    to_state = models.CharField(_("新状态"), max_length=40)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True,
                           blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    comment = models.TextField(_("意见"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)  # the instance's version afterwards

    class Meta:
        verbose_name = _("流程记录")
        verbose_name_plural = _("流程记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.instance_id}: {self.from_state} -{self.action}-> {self.to_state}"
