"""Master patient index: every source record's link to a person, the stewards' review tasks
for uncertain matches, and the history of merges (issue 3 §3; docs/modules/mpi.md).

Imported by ``people.models`` so Django registers these models with the ``people`` app.
Identifiers stay in ``PersonIdentifier`` (with their source); the link keeps only masked,
non-identifying facts of the incoming record for the steward pages.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phis.core.models import TimeStampedModel

__all__ = ["LinkMethod", "MatchReview", "PersonLink", "PersonMerge", "ReviewState"]


class LinkMethod(models.TextChoices):
    IDENTIFIER = "identifier", _("证件号码一致")
    PROBABILISTIC = "probabilistic", _("概率匹配")
    NEW_PERSON = "new", _("新建人员")
    STEWARD = "steward", _("数据管理员确认")
    MERGE = "merge", _("人员合并转入")


class PersonLink(TimeStampedModel):
    """One source system's record (``source`` + ``source_key``) and the person it belongs to.
    Unique per source record: the same record sent again finds its link (idempotent
    intake)."""

    source = models.CharField(_("来源系统"), max_length=64)
    source_key = models.CharField(_("来源记录号"), max_length=128)
    person = models.ForeignKey("people.Person", verbose_name=_("人员"),
                               on_delete=models.PROTECT, related_name="mpi_links")
    # The person the MPI first attached the record to: merges move ``person``, unmerges
    # move it back (PersonMerge keeps which links moved).
    original_person = models.ForeignKey("people.Person", on_delete=models.PROTECT,
                                        related_name="+")
    facility = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("来源机构"), null=True,
                                 blank=True, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(_("匹配方式"), max_length=16, choices=LinkMethod.choices)
    outcome = models.CharField(_("结果"), max_length=8)  # matched / created / review
    match_probability = models.FloatField(_("匹配概率"), null=True, blank=True)
    match_weight = models.FloatField(_("匹配权重"), null=True, blank=True)
    # Masked facts of the incoming record (name, sex, birth date, masked ID and phone,
    # address unit) as the source sent them, for the steward's side-by-side view.
    record = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("来源记录关联")
        verbose_name_plural = _("来源记录关联")
        constraints = [models.UniqueConstraint(fields=["source", "source_key"],
                                               name="person_link_source_key_once")]
        indexes = [models.Index(fields=["person", "created_at"])]

    def __str__(self) -> str:
        return f"{self.source}:{self.source_key} → {self.person_id}"


class ReviewState(models.TextChoices):
    OPEN = "open", _("待审核")
    ACCEPTED = "accepted", _("已确认为同一人")
    REJECTED = "rejected", _("已确认为不同人")
    SUPERSEDED = "superseded", _("已失效")


class MatchReview(TimeStampedModel):
    """A steward's task: is the person created for ``link`` the same as ``candidate``?
    Scoped by ``org_unit`` (where the record comes from or the person lives)."""

    link = models.ForeignKey(PersonLink, on_delete=models.PROTECT, related_name="reviews")
    candidate = models.ForeignKey("people.Person", verbose_name=_("候选人员"),
                                  on_delete=models.PROTECT, related_name="+")
    probability = models.FloatField(_("匹配概率"))
    weight = models.FloatField(_("匹配权重"))
    comparison = models.JSONField(default=dict)  # field → {level, weight}
    org_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("所属区划"),
                                 on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("状态"), max_length=12, choices=ReviewState.choices,
                             default=ReviewState.OPEN, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    reason = models.CharField(_("理由"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("匹配审核任务")
        verbose_name_plural = _("匹配审核任务")
        constraints = [models.UniqueConstraint(fields=["link", "candidate"],
                                               name="match_review_once")]
        indexes = [models.Index(fields=["state", "created_at"])]


class PersonMerge(models.Model):
    """One merge of ``merged`` into ``survivor`` and exactly what it changed, so an unmerge
    restores the prior state."""

    survivor = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    review = models.ForeignKey(MatchReview, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    reason = models.CharField(_("理由"), max_length=500)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                                  related_name="+")
    merged_at = models.DateTimeField(_("合并时间"), auto_now_add=True)
    # {"links": [ids moved], "identifiers": [ids created on the survivor],
    #  "facilities": [PersonFacility ids created], "merged_children": [person ids re-pointed],
    #  "survivor_id_masked": str, "merged_status": str}
    changes = models.JSONField(default=dict)
    unmerged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    unmerged_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    unmerge_reason = models.CharField(_("撤销理由"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("人员合并记录")
        verbose_name_plural = _("人员合并记录")
        indexes = [models.Index(fields=["survivor", "merged_at"]),
                   models.Index(fields=["merged", "merged_at"])]
