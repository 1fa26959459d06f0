"""A4 key infectious diseases: managed cases (one per person × disease episode) opened from
reviewed report cards, their follow-ups, contacts and tasks; the influenza-like-illness
sentinel weeks and school ILI clusters.

Plans, clocks and thresholds are data in rules.py. Tasks run on the workflow kernel
(``phis.core.workflow``); ``CaseTask`` links a workflow item to its case and plan step.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from phis.core.models import TimeStampedModel


class CaseStatus(models.TextChoices):
    OPEN = "open", _("管理中")
    CLOSED = "closed", _("已结案")


class CareStatus(models.TextChoices):
    AWAITING = "awaiting", _("待收治")
    HOSPITAL = "hospital", _("住院隔离治疗")
    HOME = "home", _("居家隔离治疗")
    OUTPATIENT = "outpatient", _("门诊治疗")
    REFERRED = "referred", _("已转诊")
    DISCHARGED = "discharged", _("已出院")
    ENDED = "ended", _("治疗结束")


class Severity(models.TextChoices):
    UNKNOWN = "", _("未评估")
    MILD = "mild", _("轻型")
    MODERATE = "moderate", _("中型")
    SEVERE = "severe", _("重型")
    CRITICAL = "critical", _("危重型")


class DrugResistance(models.TextChoices):
    UNKNOWN = "", _("未知")
    SUSCEPTIBLE = "susceptible", _("敏感")
    RIFAMPICIN_RESISTANT = "rr", _("利福平耐药")


class DotMode(models.TextChoices):
    MEDICAL_STAFF = "staff", _("医务人员督导")
    FAMILY = "family", _("家庭成员督导")
    SMART_TOOL = "smart", _("智能工具辅助")
    SELF = "self", _("自服药")


class Outcome(models.TextChoices):
    NONE = "", _("未结案")
    # WHO TB outcomes (rules.TB_OUTCOMES)
    CURED = "cured", _("治愈")
    COMPLETED = "treatment_completed", _("完成治疗")
    FAILED = "treatment_failed", _("治疗失败")
    DIED = "died", _("死亡")
    LOST = "lost_to_follow_up", _("失访")
    NOT_EVALUATED = "not_evaluated", _("未评价")
    # acute key diseases (rules.ACUTE_OUTCOMES)
    RECOVERED = "recovered", _("治愈出院")
    TRANSFERRED = "transferred", _("转出")
    EXCLUDED = "excluded", _("排除诊断")
    REVOKED = "revoked", _("报告卡订正或删除")


class ManagedCase(TimeStampedModel):
    plan = models.CharField(_("管理方案"), max_length=10)  # rules.Plan.key
    disease_code = models.CharField(_("病种"), max_length=48, db_index=True)
    subtype_code = models.CharField(_("病种分型"), max_length=48, blank=True)
    case_classification = models.CharField(_("病例分类"), max_length=1)
    # "person:<id>", "id:<blind index>" or "card:<id>": one open case per key and disease
    identity_key = models.CharField(max_length=80)
    person = models.ForeignKey("people.Person", verbose_name=_("人员"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    patient_name = models.CharField(_("患者姓名"), max_length=64)
    sex = models.PositiveSmallIntegerField(_("性别"), default=0)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True)
    address_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("现住址区划"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    county_code = models.CharField(_("县区"), max_length=12, blank=True, db_index=True)
    township_code = models.CharField(_("乡镇街道"), max_length=12, blank=True)
    treating_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("治疗医院"),
                                      null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    managing_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("基层管理机构"),
                                      null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    cdc_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("负责疾控机构"),
                                 null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    source_card = models.ForeignKey("notifiable.ReportCard", verbose_name=_("报告卡"),
                                    null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    card_number = models.CharField(_("卡片编号"), max_length=32, blank=True)
    onset_date = models.DateField(_("发病日期"), null=True, blank=True)
    diagnosis_date = models.DateField(_("诊断日期"))
    opened_at = models.DateTimeField(_("纳入管理时间"), db_index=True)
    status = models.CharField(_("状态"), max_length=8, choices=CaseStatus.choices,
                              default=CaseStatus.OPEN, db_index=True)
    care_status = models.CharField(_("收治状态"), max_length=12, choices=CareStatus.choices,
                                   default=CareStatus.AWAITING)
    severity = models.CharField(_("临床分型"), max_length=10, choices=Severity.choices,
                                blank=True)
    # --- tuberculosis -------------------------------------------------------------------
    drug_resistance = models.CharField(_("耐药情况"), max_length=12,
                                       choices=DrugResistance.choices, blank=True)
    bacteriologically_confirmed = models.BooleanField(_("病原学阳性"), default=False)
    regimen = models.CharField(_("治疗方案"), max_length=16, blank=True)
    treatment_start_date = models.DateField(_("开始治疗日期"), null=True, blank=True)
    expected_end_date = models.DateField(_("预计疗程结束"), null=True, blank=True)
    treatment_ended_on = models.DateField(_("停止治疗日期"), null=True, blank=True)
    dot_mode = models.CharField(_("督导方式"), max_length=8, choices=DotMode.choices,
                                blank=True)
    dot_supervisor = models.CharField(_("督导人"), max_length=64, blank=True)
    # --- outcome ------------------------------------------------------------------------
    outcome = models.CharField(_("转归"), max_length=20, choices=Outcome.choices, blank=True)
    outcome_date = models.DateField(_("转归日期"), null=True, blank=True)
    outcome_note = models.CharField(_("转归说明"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("结案人"),
                                  null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ("-opened_at", "-pk")
        verbose_name = _("重点传染病管理病例")
        verbose_name_plural = _("重点传染病管理病例")
        constraints = [
            models.UniqueConstraint(fields=["identity_key", "disease_code"],
                                    condition=Q(status="open"), name="kd_one_open_episode"),
        ]
        indexes = [
            models.Index(fields=["disease_code", "status", "opened_at"], name="kd_case_list"),
            models.Index(fields=["county_code", "disease_code"], name="kd_case_county"),
        ]

    def __str__(self) -> str:
        return f"{self.disease_code} {self.patient_name} #{self.pk}"

    @property
    def is_tb(self) -> bool:
        return self.plan == "tb"


class CaseCardLink(models.Model):
    """Every report card folded into a case (the first one and later corrections or cards
    of the same episode from other units). One card belongs to one case."""

    case = models.ForeignKey(ManagedCase, on_delete=models.CASCADE, related_name="card_links")
    card = models.OneToOneField("notifiable.ReportCard", on_delete=models.CASCADE,
                                related_name="+")
    card_number = models.CharField(max_length=32)
    linked_at = models.DateTimeField()

    class Meta:
        ordering = ("linked_at", "pk")


class FollowUpKind(models.TextChoices):
    VISIT = "visit", _("随访")
    SPUTUM = "sputum", _("痰检")
    HOME_VISIT = "home_visit", _("首次入户随访")
    CLINICAL = "clinical", _("诊疗进展")


class FollowUpStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("待随访")
    DONE = "done", _("已完成")
    MISSED = "missed", _("已错过")
    CANCELLED = "cancelled", _("已取消")


class LabOutcome(models.TextChoices):
    NONE = "", _("未检")
    NEGATIVE = "negative", _("阴性")
    POSITIVE = "positive", _("阳性")
    CONTAMINATED = "contaminated", _("污染/无结果")


class FollowUp(TimeStampedModel):
    case = models.ForeignKey(ManagedCase, on_delete=models.CASCADE, related_name="follow_ups")
    kind = models.CharField(_("类型"), max_length=12, choices=FollowUpKind.choices)
    month = models.PositiveSmallIntegerField(_("治疗月"), null=True, blank=True)
    scheduled_date = models.DateField(_("计划日期"), null=True, blank=True, db_index=True)
    window_end = models.DateField(_("最迟日期"), null=True, blank=True)
    done_date = models.DateField(_("随访日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=FollowUpStatus.choices,
                              default=FollowUpStatus.SCHEDULED, db_index=True)
    unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("负责机构"), null=True,
                             blank=True, on_delete=models.PROTECT, related_name="+")
    performed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("随访人"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    # adherence since the previous visit (TB, DOT)
    doses_planned = models.PositiveSmallIntegerField(_("应服药次数"), null=True, blank=True)
    doses_observed = models.PositiveSmallIntegerField(_("督导服药次数"), null=True, blank=True)
    doses_missed = models.PositiveSmallIntegerField(_("漏服次数"), null=True, blank=True)
    last_dose_date = models.DateField(_("末次服药日期"), null=True, blank=True)
    adverse_reaction = models.CharField(_("不良反应"), max_length=200, blank=True)
    # sputum (TB)
    smear_result = models.CharField(_("痰涂片"), max_length=12, choices=LabOutcome.choices,
                                    blank=True)
    culture_result = models.CharField(_("痰培养"), max_length=12, choices=LabOutcome.choices,
                                      blank=True)
    # clinical progress (acute key diseases)
    care_status = models.CharField(_("收治状态"), max_length=12, choices=CareStatus.choices,
                                   blank=True)
    severity = models.CharField(_("临床分型"), max_length=10, choices=Severity.choices,
                                blank=True)
    temperature = models.DecimalField(_("体温(℃)"), max_digits=3, decimal_places=1,
                                      null=True, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)

    class Meta:
        ordering = ("case", "scheduled_date", "done_date", "pk")
        indexes = [models.Index(fields=["status", "window_end"], name="kd_followup_due")]


class ContactRelation(models.TextChoices):
    HOUSEHOLD = "household", _("家庭成员")
    CLOSE = "close", _("密切接触者")
    WORK_SCHOOL = "work", _("同事/同学")
    HEALTHCARE = "healthcare", _("医护人员")
    OTHER = "other", _("其他")


class ContactStatus(models.TextChoices):
    OBSERVING = "observing", _("医学观察中")
    SYMPTOMATIC = "symptomatic", _("出现症状")
    RELEASED = "released", _("解除观察")
    BECAME_CASE = "case", _("转为病例")
    LOST = "lost", _("失访")
    TO_SCREEN = "to_screen", _("待筛查")
    SCREENED = "screened", _("已筛查")


class ScreeningResult(models.TextChoices):
    NONE = "", _("未筛查")
    NEGATIVE = "negative", _("未见异常")
    LTBI = "ltbi", _("潜伏感染")
    SUSPECTED = "suspected", _("疑似肺结核已转诊")
    TB = "tb", _("确诊肺结核")


class Contact(TimeStampedModel):
    case = models.ForeignKey(ManagedCase, on_delete=models.CASCADE, related_name="contacts")
    person = models.ForeignKey("people.Person", verbose_name=_("人员"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("姓名"), max_length=64)
    relation = models.CharField(_("关系"), max_length=12, choices=ContactRelation.choices)
    sex = models.PositiveSmallIntegerField(_("性别"), default=0)
    age_years = models.PositiveSmallIntegerField(_("年龄"), null=True, blank=True)
    phone_encrypted = models.BinaryField(null=True, editable=False)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True)
    address_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("现住址区划"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    last_exposure_date = models.DateField(_("末次接触日期"))
    observation_days = models.PositiveSmallIntegerField(_("医学观察天数"), default=0)
    observation_end = models.DateField(_("观察期满日期"), null=True, blank=True, db_index=True)
    status = models.CharField(_("状态"), max_length=12, choices=ContactStatus.choices,
                              db_index=True)
    screening_date = models.DateField(_("筛查日期"), null=True, blank=True)
    screening_result = models.CharField(_("筛查结果"), max_length=10,
                                        choices=ScreeningResult.choices, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)

    class Meta:
        ordering = ("case", "name", "pk")


class ContactCheck(models.Model):
    """One day of medical observation of a contact (temperature and symptoms)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="checks")
    check_date = models.DateField(_("观察日期"))
    temperature = models.DecimalField(_("体温(℃)"), max_digits=3, decimal_places=1,
                                      null=True, blank=True)
    symptoms = models.JSONField(_("症状"), default=list, blank=True)
    symptomatic = models.BooleanField(_("有症状"), default=False)
    note = models.CharField(_("备注"), max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("contact", "check_date")
        constraints = [models.UniqueConstraint(fields=["contact", "check_date"],
                                               name="kd_one_check_per_day")]


class CaseTask(models.Model):
    """A plan step on the workflow kernel: owner, clock, escalation and history live in the
    ``WorkflowInstance``; this row says which case (or cluster) and step it belongs to."""

    instance = models.OneToOneField("workflow.WorkflowInstance", on_delete=models.CASCADE,
                                    related_name="+")
    case = models.ForeignKey(ManagedCase, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="tasks")
    cluster = models.ForeignKey("IliCluster", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="tasks")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="tasks")
    kind = models.CharField(_("任务"), max_length=32)
    owner_kind = models.CharField(_("责任方"), max_length=10)
    disease_code = models.CharField(_("病种"), max_length=48, db_index=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("created_at", "pk")
        constraints = [models.UniqueConstraint(fields=["case", "kind"],
                                               condition=Q(case__isnull=False,
                                                           contact__isnull=True),
                                               name="kd_one_task_per_step")]


class SiteKind(models.TextChoices):
    GENERAL = "general", _("综合医院")
    CHILDREN = "children", _("儿童医院")


class IliSite(TimeStampedModel):
    """A sentinel hospital of the influenza surveillance network (§4.3)."""

    org_unit = models.OneToOneField("orgunits.OrgUnit", verbose_name=_("哨点医院"),
                                    on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=10, choices=SiteKind.choices,
                            default=SiteKind.GENERAL)
    clinics = models.CharField(_("监测科室"), max_length=200, blank=True)
    active = models.BooleanField(_("在用"), default=True)
    since = models.DateField(_("启用日期"))

    class Meta:
        ordering = ("org_unit__path",)

    def __str__(self) -> str:
        return str(self.org_unit)


class IliWeek(TimeStampedModel):
    """One sentinel hospital's week (Monday–Sunday): ILI by age group, all outpatient +
    emergency visits of the same clinics, and the specimens tested."""

    site = models.ForeignKey(IliSite, on_delete=models.PROTECT, related_name="weeks")
    week_start = models.DateField(_("周一日期"), db_index=True)
    iso_year = models.PositiveSmallIntegerField(_("年"))
    iso_week = models.PositiveSmallIntegerField(_("周"))
    season = models.PositiveSmallIntegerField(_("监测年度"), db_index=True)
    ili_0_4 = models.PositiveIntegerField(_("0–4岁"), default=0)
    ili_5_14 = models.PositiveIntegerField(_("5–14岁"), default=0)
    ili_15_24 = models.PositiveIntegerField(_("15–24岁"), default=0)
    ili_25_59 = models.PositiveIntegerField(_("25–59岁"), default=0)
    ili_60p = models.PositiveIntegerField(_("≥60岁"), default=0)
    ili_total = models.PositiveIntegerField(_("流感样病例数"), default=0)
    visits_total = models.PositiveIntegerField(_("门急诊就诊总数"))
    ili_percent = models.FloatField(_("ILI%"), null=True, blank=True)
    specimens_collected = models.PositiveIntegerField(_("采集标本数"), default=0)
    specimens_tested = models.PositiveIntegerField(_("检测标本数"), default=0)
    pos_a_h1n1pdm09 = models.PositiveIntegerField(default=0)
    pos_a_h3n2 = models.PositiveIntegerField(default=0)
    pos_a_unsubtyped = models.PositiveIntegerField(default=0)
    pos_b_victoria = models.PositiveIntegerField(default=0)
    pos_b_yamagata = models.PositiveIntegerField(default=0)
    pos_b_undetermined = models.PositiveIntegerField(default=0)
    positive_total = models.PositiveIntegerField(_("阳性数"), default=0)
    submitted_at = models.DateTimeField(_("填报时间"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    late = models.BooleanField(_("迟报"), default=False)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ("-week_start", "site")
        constraints = [models.UniqueConstraint(fields=["site", "week_start"],
                                               name="kd_one_ili_week")]


class ClusterLevel(models.TextChoices):
    NONE = "none", _("未达报告标准")
    CLUSTER = "cluster", _("聚集性疫情（报告县区疾控）")
    EMERGENCY = "emergency", _("暴发（2小时内突发事件网络报告）")


class IliCluster(TimeStampedModel):
    """ILI cases within one week in one school, kindergarten or other collective unit
    (§4.3, §5.4)."""

    unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("单位"),
                             on_delete=models.PROTECT, related_name="+")
    unit_name = models.CharField(_("单位名称"), max_length=128, blank=True)
    county_code = models.CharField(_("县区"), max_length=12, db_index=True)
    week_end = models.DateField(_("统计截止日期"))
    first_onset_date = models.DateField(_("首例发病日期"), null=True, blank=True)
    ili_cases = models.PositiveIntegerField(_("流感样病例数"))
    hospitalised = models.PositiveIntegerField(_("住院数"), default=0)
    deaths = models.PositiveIntegerField(_("死亡数"), default=0)
    level = models.CharField(_("级别"), max_length=10, choices=ClusterLevel.choices)
    note = models.CharField(_("备注"), max_length=500, blank=True)

    class Meta:
        ordering = ("-week_end", "-pk")
