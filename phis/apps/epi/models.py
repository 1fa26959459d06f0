"""The weekly situation reports (疫情周报) that were generated, kept with their PDF."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phis.core.models import TimeStampedModel


class ReportTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("每周自动生成")
    MANUAL = "manual", _("手动生成")


class SituationReport(TimeStampedModel):
    """One generated weekly report of one scope (the city or a county) for one ISO week.
    Regenerating (late cards change the figures) adds a revision; earlier ones are kept."""

    iso_year = models.PositiveSmallIntegerField(_("年"))
    iso_week = models.PositiveSmallIntegerField(_("周"))
    week_start = models.DateField(_("周开始"))
    week_end = models.DateField(_("周结束"))
    scope_code = models.CharField(_("范围代码"), max_length=12, db_index=True)
    scope_name = models.CharField(_("范围"), max_length=100)
    scope_level = models.CharField(_("范围层级"), max_length=8)  # "city" | "county"
    revision = models.PositiveSmallIntegerField(_("版本"), default=1)
    trigger = models.CharField(_("生成方式"), max_length=10, choices=ReportTrigger.choices)
    file = models.FileField(_("文件"), upload_to="epi/reports/%Y/", max_length=200)
    checksum = models.CharField(_("SHA-256校验值"), max_length=64)
    size = models.PositiveIntegerField(_("字节数"))
    generated_at = models.DateTimeField(_("生成时间"), db_index=True)
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("生成人"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    # Headline figures for the list page (cards, previous week, deaths, classes).
    summary = models.JSONField(_("摘要"), default=dict, blank=True)

    class Meta:
        ordering = ("-iso_year", "-iso_week", "scope_code", "-revision")
        constraints = [models.UniqueConstraint(
            fields=["scope_code", "iso_year", "iso_week", "revision"],
            name="epi_report_revision_once")]
        verbose_name = _("疫情周报")
        verbose_name_plural = _("疫情周报")

    def __str__(self) -> str:
        return f"{self.scope_name} {self.iso_year}-W{self.iso_week:02d} r{self.revision}"

    @property
    def filename(self) -> str:
        return (f"epi-weekly-{self.scope_code}-{self.iso_year}-W{self.iso_week:02d}"
                f"-r{self.revision}.pdf")
