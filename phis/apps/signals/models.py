"""C4 alerts and response: count tables, per-disease detection configuration, detection
runs and the signals with their response (shared/domain/surveillance.md §3.1)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from phis.apps.signals.rules import METHOD_LABELS, Outcome, SignalState
from phis.core.models import TimeStampedModel


class Basis(models.TextChoices):
    REPORT = "report", _("报告日期")
    ONSET = "onset", _("发病日期")


METHOD_CHOICES = [(key, zh) for key, (zh, _en) in METHOD_LABELS.items()]


class CaseCount(models.Model):
    """Counted cards of one disease, township and day on one date basis (county derived from
    the current address). Kept current by the ``notifiable.card.changed`` handler; rebuilt in
    bulk by ``counts_rebuild``. Cells with no cases have no row."""

    basis = models.CharField(_("日期口径"), max_length=8, choices=Basis.choices)
    disease_code = models.CharField(_("病种"), max_length=48)
    county_code = models.CharField(_("县区"), max_length=12)
    township_code = models.CharField(_("乡镇街道"), max_length=12, blank=True)
    day = models.DateField(_("日期"))
    count = models.PositiveIntegerField(_("病例数"))

    class Meta:
        verbose_name = _("病例计数")
        verbose_name_plural = _("病例计数")
        constraints = [models.UniqueConstraint(
            fields=["basis", "disease_code", "county_code", "township_code", "day"],
            name="signals_count_cell_once")]
        indexes = [models.Index(fields=["basis", "day"], name="signals_count_basis_day"),
                   models.Index(fields=["basis", "county_code", "day"],
                                name="signals_count_county_day")]

    def __str__(self) -> str:
        return f"{self.basis}:{self.disease_code}:{self.township_code}:{self.day}={self.count}"


class DetectionConfig(TimeStampedModel):
    """How one disease is watched: method and parameters, date basis, fallback, suppression
    and response clock. Seeded with the CIDARS defaults of rules.py; the city CDC edits it."""

    disease_code = models.CharField(_("病种"), max_length=48, unique=True)
    enabled = models.BooleanField(_("启用"), default=True)
    method = models.CharField(_("预警方法"), max_length=16, choices=METHOD_CHOICES)
    parameters = models.JSONField(_("参数"), default=dict, blank=True)
    basis = models.CharField(_("日期口径"), max_length=8, choices=Basis.choices,
                             default=Basis.REPORT)
    realtime = models.BooleanField(_("实时预警"), default=False)
    fallback_method = models.CharField(_("基线不足时改用"), max_length=16,
                                       choices=METHOD_CHOICES, default="ears_c2")
    min_baseline_blocks = models.PositiveSmallIntegerField(_("最少基线期数"), default=15)
    suppression_days = models.PositiveSmallIntegerField(_("重复预警抑制天数"), default=7)
    response_hours = models.PositiveSmallIntegerField(_("响应时限(小时)"), default=24)
    source_tag = models.CharField(max_length=1, blank=True)  # V/K/U of the default
    note = models.CharField(_("说明"), max_length=500, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ("disease_code",)
        verbose_name = _("预警配置")
        verbose_name_plural = _("预警配置")

    def __str__(self) -> str:
        return f"{self.disease_code}: {self.method}"


class DetectionRun(models.Model):
    """One detection run (scheduled, manual or a real-time check) and what it found."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("定时")
        MANUAL = "manual", _("手动")
        EVENT = "event", _("实时")
        DEMO = "demo", _("演示")

    on = models.DateField(_("预警日期"), db_index=True)
    trigger = models.CharField(_("触发方式"), max_length=10, choices=Trigger.choices)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    diseases = models.JSONField(default=list, blank=True)
    series_evaluated = models.PositiveIntegerField(default=0)
    alarms = models.PositiveIntegerField(default=0)
    signals_new = models.PositiveIntegerField(default=0)
    signals_updated = models.PositiveIntegerField(default=0)
    fallbacks = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, blank=True)  # [{disease, county, reason}]
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ("-started_at", "-pk")
        verbose_name = _("预警运行")
        verbose_name_plural = _("预警运行")


class Signal(TimeStampedModel):
    """One early-warning signal and its response (§3.1 item 4: signal time, method,
    disease, county, observed count, threshold, responder, response time, verification
    method, judgement, investigation result, link to the event report)."""

    # --- what was detected ------------------------------------------------------------------
    disease_code = models.CharField(_("病种"), max_length=48, db_index=True)
    disease_name = models.CharField(_("病种名称"), max_length=64)
    disease_name_en = models.CharField(max_length=128, blank=True)
    disease_class = models.CharField(_("传染病类别"), max_length=8, blank=True)
    managed_as_class_a = models.BooleanField(default=False)
    county = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("县区"),
                               on_delete=models.PROTECT, related_name="+")
    county_code = models.CharField(_("县区代码"), max_length=12, db_index=True)
    township_codes = models.JSONField(_("聚集乡镇"), default=list, blank=True)  # scan
    method = models.CharField(_("预警方法"), max_length=16, choices=METHOD_CHOICES)
    configured_method = models.CharField(max_length=16, blank=True)  # before any fallback
    algorithm = models.CharField(_("算法版本"), max_length=64)
    parameters = models.JSONField(_("参数"), default=dict)
    basis = models.CharField(_("日期口径"), max_length=8, choices=Basis.choices)
    day = models.DateField(_("预警日期"))
    window_from = models.DateField(_("观察期起"))
    window_to = models.DateField(_("观察期止"))
    observed = models.FloatField(_("观察病例数"))
    threshold = models.FloatField(_("阈值"), null=True, blank=True)
    expected = models.FloatField(_("期望值"), null=True, blank=True)
    statistic = models.FloatField(_("统计量"), null=True, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    priority = models.IntegerField(_("优先级"), default=0)
    run = models.ForeignKey(DetectionRun, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="signals")
    detection_days = models.JSONField(default=list, blank=True)  # days an alarm was seen
    last_detected_on = models.DateField(_("最近预警日期"))
    alert_count = models.PositiveSmallIntegerField(_("提醒次数"), default=1)
    realerted_at = models.DateTimeField(null=True, blank=True)

    # --- the response -------------------------------------------------------------------------
    owner_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("负责机构"),
                                   on_delete=models.PROTECT, related_name="+")
    workflow = models.OneToOneField("workflow.WorkflowInstance", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=16, default=SignalState.NEW, db_index=True)
    is_open = models.BooleanField(_("未关闭"), default=True)
    raised_at = models.DateTimeField(_("信号时间"), db_index=True)
    response_hours = models.PositiveSmallIntegerField(_("响应时限(小时)"))
    response_due_at = models.DateTimeField(_("响应截止"))
    responded_at = models.DateTimeField(_("响应时间"), null=True, blank=True)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("响应人"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    verified_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("核实人"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    verification_method = models.CharField(_("核实方式"), max_length=12, blank=True)
    verification_note = models.TextField(_("核实意见"), blank=True)
    investigated_at = models.DateTimeField(_("调查时间"), null=True, blank=True)
    investigated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    investigation_result = models.CharField(_("调查结果"), max_length=16, blank=True)
    investigation_note = models.TextField(_("调查结论"), blank=True)
    outcome = models.CharField(_("结论"), max_length=16, blank=True, default=Outcome.PENDING)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    close_note = models.TextField(_("关闭说明"), blank=True)
    # Links kept for the outbreak-events app and the emergency reporting system (§3.1, §5.3).
    outbreak_ref = models.CharField(_("暴发事件"), max_length=64, blank=True)
    event_report_ref = models.CharField(_("突发事件报告编号"), max_length=64, blank=True)

    class Meta:
        ordering = ("-raised_at", "-pk")
        verbose_name = _("预警信号")
        verbose_name_plural = _("预警信号")
        constraints = [models.UniqueConstraint(
            fields=["county", "disease_code"], condition=Q(is_open=True),
            name="signals_one_open_per_county_disease")]
        indexes = [models.Index(fields=["is_open", "-priority", "raised_at"],
                                name="signals_queue_idx"),
                   models.Index(fields=["county_code", "raised_at"],
                                name="signals_county_raised")]

    def __str__(self) -> str:
        return f"{self.disease_code}@{self.county_code} {self.day}"
