"""Code systems and their concepts (ICD-10, the notifiable-disease catalogue, GB/T value sets).

Other parts refer to a concept by ``(system key, code)`` strings, never by a foreign key to
``Concept``: codes are the public identifiers, stable and never reused (a retired code stays
with ``active=False``). The rows are written only by ``services.codes_load`` from the files in
``data/``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CodeSystem(models.Model):
    key = models.SlugField(_("标识"), max_length=40, unique=True)
    name_zh = models.CharField(_("名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200)
    version = models.CharField(_("版本"), max_length=60)
    as_of = models.DateField(_("版本日期"), null=True, blank=True)
    source = models.TextField(_("来源"), blank=True)
    licence = models.CharField(_("许可"), max_length=300, blank=True)
    hierarchical = models.BooleanField(_("层级结构"), default=False)
    checksum = models.CharField(max_length=64, blank=True, editable=False)
    concept_count = models.PositiveIntegerField(default=0, editable=False)
    loaded_at = models.DateTimeField(_("载入时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("代码体系")
        verbose_name_plural = _("代码体系")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} {self.version}"


class Concept(models.Model):
    system = models.ForeignKey(CodeSystem, on_delete=models.CASCADE, related_name="concepts")
    code = models.CharField(_("代码"), max_length=64)
    display_zh = models.CharField(_("名称"), max_length=300, blank=True)
    display_en = models.CharField(_("英文名称"), max_length=300, blank=True)
    parent_code = models.CharField(_("上级代码"), max_length=64, blank=True)
    # ICD-10: chapter / block / category / subcategory; notifiable: disease / subtype
    kind = models.CharField(_("类型"), max_length=16, blank=True)
    active = models.BooleanField(_("有效"), default=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    properties = models.JSONField(_("属性"), default=dict, blank=True)
    # Search helpers, derived at load time: first letters of the pinyin of display_zh
    # ("hl" for 霍乱) and one lower-case text of code, names, pinyin and synonyms.
    pinyin_initials = models.CharField(max_length=120, blank=True)
    search_text = models.TextField(blank=True)
    # Hash of the source row, so a reload compares codes and digests, not whole rows.
    digest = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        verbose_name = _("代码")
        verbose_name_plural = _("代码")
        ordering = ["system", "sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["system", "code"], name="codes_concept_once"),
        ]
        indexes = [
            models.Index(fields=["system", "sort_order"], name="codes_concept_order"),
            models.Index(fields=["system", "parent_code"], name="codes_concept_parent"),
            models.Index(fields=["system", "pinyin_initials"], name="codes_concept_pinyin"),
            # LIKE 'A01%' prefix search on PostgreSQL (opclasses are ignored elsewhere).
            models.Index(fields=["code"], opclasses=["varchar_pattern_ops"],
                         name="codes_concept_code_like"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.display_zh or self.display_en}"
