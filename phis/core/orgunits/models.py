"""One tree of administrative divisions and facilities (ARCHITECTURE.md §3).

city → county/district/zone → township/street → community/village; facilities hang under the
division where they sit. ``path`` is a materialized path of codes (``/370500/370502/…/``) so
"everything under X" is one indexed prefix query.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    PROVINCE = 1, _("省")
    CITY = 2, _("市")
    COUNTY = 3, _("县/区")
    TOWNSHIP = 4, _("乡镇/街道")
    COMMUNITY = 5, _("社区/村")
    FACILITY = 6, _("机构")


class FacilityType(models.TextChoices):
    HEALTH_COMMISSION = "health_commission", _("卫生健康委员会")
    CDC = "cdc", _("疾病预防控制中心")
    HOSPITAL = "hospital", _("医院")
    TOWNSHIP_HEALTH_CENTRE = "township_health_centre", _("乡镇卫生院")
    COMMUNITY_HEALTH_CENTRE = "community_health_centre", _("社区卫生服务中心")
    VILLAGE_CLINIC = "village_clinic", _("村卫生室")
    SCHOOL = "school", _("学校")
    KINDERGARTEN = "kindergarten", _("幼儿园")
    BLOOD_STATION = "blood_station", _("血站")
    DISPOSAL_COMPANY = "disposal_company", _("医疗废物处置单位")
    CSSD = "cssd", _("消毒供应中心")
    WAREHOUSE = "warehouse", _("应急物资仓库")
    AMBULANCE_STATION = "ambulance_station", _("急救站")
    EMERGENCY_CENTRE = "emergency_centre", _("急救中心")
    MENTAL_HEALTH_CENTRE = "mental_health_centre", _("精神卫生中心")
    MCH_HOSPITAL = "mch_hospital", _("妇幼保健院")


class OrgUnit(models.Model):
    code = models.CharField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名"), max_length=150, blank=True)
    level = models.PositiveSmallIntegerField(_("层级"), choices=Level.choices, db_index=True)
    facility_type = models.CharField(
        _("机构类型"), max_length=32, choices=FacilityType.choices, blank=True, db_index=True
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, unique=True)
    # Approximate positions are generated inside the county and flagged (issue 5 §8).
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    position_approximate = models.BooleanField(default=False)
    population = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["path"]
        indexes = [models.Index(fields=["level", "path"])]
        verbose_name = _("机构/区划")
        verbose_name_plural = _("机构/区划")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    def county(self) -> "OrgUnit | None":
        """The county-level ancestor (or self), found through the path."""
        parts = [p for p in self.path.split("/") if p]
        for code in parts:
            unit = OrgUnit.objects.filter(code=code, level=Level.COUNTY).first()
            if unit:
                return unit
        return None
