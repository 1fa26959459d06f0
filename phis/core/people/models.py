"""Persons: every module's subject links to one Person (ARCHITECTURE.md §3).

Identifiers and phone are stored encrypted (phis.core.crypto) and found through keyed blind
indexes; only masked forms are stored in clear.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from phis.core.models import TimeStampedModel


class Sex(models.IntegerChoices):
    """GB/T 2261.1-2003."""

    UNKNOWN = 0, _("未知的性别")
    MALE = 1, _("男性")
    FEMALE = 2, _("女性")
    UNSPECIFIED = 9, _("未说明的性别")


class IdType(models.TextChoices):
    """Identity document types used on the national report cards."""

    RESIDENT_ID = "01", _("居民身份证")
    RESIDENCE_BOOKLET = "02", _("居民户口簿")
    PASSPORT = "03", _("护照")
    OFFICER_ID = "04", _("军官证")
    DRIVING_LICENCE = "05", _("驾驶证")
    HK_MACAO_PERMIT = "06", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "07", _("台湾居民来往内地通行证")
    FOREIGN_PERMANENT = "08", _("外国人永久居留身份证")
    HKMT_RESIDENCE = "09", _("港澳台居民居住证")
    BIRTH_CERTIFICATE = "10", _("出生医学证明")
    OTHER = "99", _("其他法定有效证件")


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    MERGED = "merged", _("已合并")


PATTERN = "varchar_pattern_ops"  # PostgreSQL operator class for LIKE 'prefix%'


class Person(TimeStampedModel):
    name = models.CharField(_("姓名"), max_length=64, db_index=True)
    name_pinyin = models.CharField(_("姓名拼音"), max_length=128, blank=True, db_index=True)
    sex = models.PositiveSmallIntegerField(_("性别"), choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True, db_index=True)
    ethnicity = models.CharField(_("民族"), max_length=2, blank=True)  # GB/T 3304
    nationality = models.CharField(_("国籍"), max_length=3, default="CHN")  # GB/T 2659
    id_masked = models.CharField(_("证件号码"), max_length=40, blank=True)
    phone_encrypted = models.BinaryField(null=True, editable=False)
    phone_index = models.CharField(max_length=40, blank=True, db_index=True)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True)
    address_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("现住址区划"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="residents")
    # Code of the county-level division that holds ``address_unit`` ("" without one), kept
    # beside it by person_create / person_update and the demo loader
    # (selectors.person_address_county). It lets a county user's name search read one range
    # of the (county, name) index instead of joining every match to its org unit; the scope
    # test itself still goes through the org unit's path (bench/person_lookup_bench.py).
    address_county = models.CharField(max_length=32, blank=True, default="", editable=False)
    address_text_encrypted = models.BinaryField(null=True, editable=False)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    deceased_date = models.DateField(_("死亡日期"), null=True, blank=True)
    status = models.CharField(max_length=8, choices=PersonStatus.choices,
                              default=PersonStatus.ACTIVE, db_index=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged_from")

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        indexes = [
            models.Index(fields=["name", "birth_date"]),
            # Name search (selectors._name_search). A county user's prefix search by name or
            # pinyin is one range of the first two; the third serves city-wide users. The
            # trailing columns are all a search part reads (status, scope, key, sort), so
            # it is answered from the index alone, without visiting ~2,000 table rows for
            # a common name (bench/person_lookup_bench.py). On PostgreSQL the pattern
            # operator class serves ``LIKE 'x%'`` under any collation (the default class
            # only under "C"); SQLite ignores ``opclasses``.
            models.Index(fields=["address_county", "name", "status", "address_unit", "id"],
                         name="person_county_name_idx",
                         opclasses=[PATTERN, PATTERN, "", "", ""]),
            models.Index(fields=["address_county", "name_pinyin", "name", "status",
                                 "address_unit", "id"],
                         name="person_county_pinyin_idx",
                         opclasses=[PATTERN, PATTERN, "", "", "", ""]),
            models.Index(fields=["name", "status", "address_unit", "id"],
                         name="person_name_scope_idx", opclasses=[PATTERN, "", "", ""]),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class PersonIdentifier(models.Model):
    """Every identifier a person is known by, from every source (issue 3 §3)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identifiers")
    id_type = models.CharField(_("证件类型"), max_length=2, choices=IdType.choices)
    number_encrypted = models.BinaryField(editable=False)
    number_index = models.CharField(max_length=40, db_index=True)
    number_masked = models.CharField(max_length=40)
    is_primary = models.BooleanField(default=False)
    source = models.CharField(_("来源"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "id_type", "number_index"],
                                    name="person_identifier_once"),
        ]


class PersonFacility(models.Model):
    """Facilities that hold records of the person: a hospital sees the persons it registered
    or reported even when they live in another county."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="facility_links")
    org_unit = models.ForeignKey("orgunits.OrgUnit", on_delete=models.PROTECT, related_name="+")
    first_seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "org_unit"],
                                               name="person_facility_once")]


# The MPI's models (source links, steward review tasks, merge history) live beside the
# registry in their own module.
from phis.core.people.mpi_models import *  # noqa: E402,F403
