"""C4 item 7: outbreak events opened from signals (or by hand), the cases linked to them,
the investigation steps, close contacts with their daily follow-up, and the closing report.

Docs: docs/modules/outbreaks.md. Signal response: shared/domain/surveillance.md §3.1
("Signal response and verification", step 3 field investigation).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phis.apps.outbreaks.rules import EXPOSURE_KINDS, SETTINGS, STEP_KINDS
from phis.core.models import TimeStampedModel


class OutbreakStatus(models.TextChoices):
    OPEN = "open", _("已立案")
    INVESTIGATING = "investigating", _("调查处置中")
    CONTROLLED = "controlled", _("已控制")
    CLOSED = "closed", _("已结案")


class Conclusion(models.TextChoices):
    OUTBREAK = "outbreak", _("确认为暴发疫情")
    NOT_OUTBREAK = "not_outbreak", _("排除暴发")


class Outbreak(TimeStampedModel):
    number = models.CharField(_("事件编号"), max_length=32, unique=True)
    title = models.CharField(_("事件名称"), max_length=200)
    disease_code = models.CharField(_("病种"), max_length=48, db_index=True)
    county = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("所在县区"),
                               on_delete=models.PROTECT, related_name="+")
    place = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("发生地(乡镇/机构)"),
                              null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    setting = models.CharField(_("场所类型"), max_length=16, choices=SETTINGS)
    place_text = models.CharField(_("具体场所"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=OutbreakStatus.choices,
                              default=OutbreakStatus.OPEN, db_index=True)
    version = models.PositiveIntegerField(default=1)
    signal_id = models.BigIntegerField(_("来源预警信号"), null=True, blank=True, db_index=True)
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("负责人"),
                             on_delete=models.PROTECT, related_name="+")
    summary = models.TextField(_("事件概况"), blank=True)
    opened_at = models.DateTimeField(_("立案时间"))
    # closing report
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("结案人"), null=True,
                                  blank=True, on_delete=models.PROTECT, related_name="+")
    conclusion = models.CharField(_("调查结论"), max_length=16, choices=Conclusion.choices,
                                  blank=True)
    source_of_infection = models.TextField(_("传染源"), blank=True)
    transmission_route = models.TextField(_("传播途径"), blank=True)
    measures = models.TextField(_("采取的措施"), blank=True)
    closing_summary = models.TextField(_("结案报告"), blank=True)
    # figures frozen at closing (the linked cases may change afterwards)
    final_figures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-opened_at", "-pk")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class OutbreakCase(models.Model):
    """A report card linked to an event."""

    outbreak = models.ForeignKey(Outbreak, on_delete=models.CASCADE, related_name="cases")
    card = models.ForeignKey("notifiable.ReportCard", verbose_name=_("报告卡"),
                             on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(_("关联时间"))
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    is_index = models.BooleanField(_("指示病例"), default=False)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["outbreak", "card"],
                                               name="outbreak_case_once")]


class Step(models.Model):
    """One investigation or control step, in the order it happened."""

    outbreak = models.ForeignKey(Outbreak, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(_("类型"), max_length=16, choices=STEP_KINDS)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("记录人"),
                           on_delete=models.PROTECT, related_name="+")
    summary = models.CharField(_("摘要"), max_length=200)
    details = models.TextField(_("详细情况"), blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("outbreak", "at", "pk")


class ContactStatus(models.TextChoices):
    OBSERVING = "observing", _("医学观察中")
    COMPLETED = "completed", _("观察期满解除")
    BECAME_CASE = "became_case", _("转为病例")
    LOST = "lost", _("失访")


class Contact(TimeStampedModel):
    """A close contact of a case, under medical observation until ``observation_end``."""

    outbreak = models.ForeignKey(Outbreak, on_delete=models.CASCADE, related_name="contacts")
    person = models.ForeignKey("people.Person", verbose_name=_("人员"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("姓名"), max_length=64)
    sex = models.PositiveSmallIntegerField(_("性别"), default=0)
    age = models.PositiveSmallIntegerField(_("年龄"), null=True, blank=True)
    id_number_encrypted = models.BinaryField(null=True, editable=False)
    id_number_masked = models.CharField(_("证件号码"), max_length=40, blank=True)
    phone_encrypted = models.BinaryField(null=True, editable=False)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True)
    address_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("现住址区划"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    exposure_kind = models.CharField(_("接触方式"), max_length=16, choices=EXPOSURE_KINDS)
    source_case = models.ForeignKey(OutbreakCase, verbose_name=_("接触的病例"), null=True,
                                    blank=True, on_delete=models.SET_NULL, related_name="+")
    last_exposure = models.DateField(_("末次接触日期"))
    observation_end = models.DateField(_("观察截止日期"), db_index=True)
    status = models.CharField(_("状态"), max_length=16, choices=ContactStatus.choices,
                              default=ContactStatus.OBSERVING, db_index=True)
    observer_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("负责随访单位"),
                                      on_delete=models.PROTECT, related_name="+")
    became_case_card = models.ForeignKey("notifiable.ReportCard", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")
    status_note = models.CharField(_("状态说明"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ("outbreak", "name", "pk")


class FollowUp(models.Model):
    """One day's check of a contact (one per contact and day)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="follow_ups")
    day = models.DateField(_("随访日期"))
    reached = models.BooleanField(_("已联系上"), default=True)
    symptomatic = models.BooleanField(_("有症状"), default=False)
    temperature = models.DecimalField(_("体温(℃)"), max_digits=3, decimal_places=1, null=True,
                                      blank=True)
    symptoms = models.CharField(_("症状"), max_length=200, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("随访人"),
                           on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("记录时间"))

    class Meta:
        ordering = ("contact", "day")
        constraints = [models.UniqueConstraint(fields=["contact", "day"],
                                               name="follow_up_once_a_day")]
