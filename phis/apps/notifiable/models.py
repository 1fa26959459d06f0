"""A3/A9 notifiable-disease report cards (传染病报告卡, 2019 revision), their history, the
lab results attached to them, and the idempotency keys of submissions.

Field list and rules: shared/domain/surveillance.md §2.1 (fields), §2.2 (deadlines),
§2.3 (audit), §2.4 (correction, deletion, duplicates). Value sets come from
``phis.core.codes`` (case_classification, occupation, patient_residence, report_card_type,
acute_chronic, age_unit, id_document_type; the disease catalogue ``notifiable``).

A card is one row whose content is its current version; every change (submission,
review, return, correction, deletion, restore) appends a ``CardEvent`` with the fields
that changed, so the complete history is kept (§2.1 "system fields").
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from phis.core.models import TimeStampedModel


class CardType(models.TextChoices):
    INITIAL = "1", _("初次报告")
    CORRECTED = "2", _("订正报告")


class CardStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    RETURNED = "returned", _("已退回")
    REVIEWED = "reviewed", _("已审核")
    DELETED = "deleted", _("已删除")


class CaseClassification(models.TextChoices):
    # codes of the ``case_classification`` value set (§2.1)
    SUSPECTED = "1", _("疑似病例")
    CLINICAL = "2", _("临床诊断病例")
    CONFIRMED = "3", _("确诊病例")
    CARRIER = "4", _("病原携带者")
    POSITIVE_TEST = "5", _("阳性检测")


class Sex(models.IntegerChoices):
    # GB/T 2261.1
    UNKNOWN = 0, _("未知的性别")
    MALE = 1, _("男")
    FEMALE = 2, _("女")
    UNSTATED = 9, _("未说明的性别")


class CardSource(models.TextChoices):
    WEB = "web", _("网页填报")
    API = "api", _("接口")
    FHIR = "fhir", _("FHIR")
    IMPORT = "import", _("批量导入")
    EXCHANGE = "exchange", _("直报交换")
    DEMO = "demo", _("演示数据")


class SuspectedOutcome(models.TextChoices):
    OPEN = "", _("待订正")
    CONFIRMED = "confirmed", _("已确诊")
    EXCLUDED = "excluded", _("已排除")


class ReportCard(TimeStampedModel):
    # --- identity of the card -----------------------------------------------------------
    card_number = models.CharField(_("卡片编号"), max_length=32, unique=True)  # immutable
    card_type = models.CharField(_("报卡类别"), max_length=1, choices=CardType.choices,
                                 default=CardType.INITIAL)
    status = models.CharField(_("状态"), max_length=10, choices=CardStatus.choices,
                              default=CardStatus.DRAFT, db_index=True)
    version = models.PositiveIntegerField(default=1)  # optimistic concurrency (review races)
    source = models.CharField(_("来源"), max_length=10, choices=CardSource.choices,
                              default=CardSource.WEB)
    external_id = models.CharField(_("外部卡片编号"), max_length=64, blank=True)
    source_system = models.CharField(_("来源系统"), max_length=64, blank=True)

    # --- the patient as reported (the card keeps its own copy; ``person`` is the MPI link)
    person = models.ForeignKey("people.Person", verbose_name=_("人员"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    patient_name = models.CharField(_("患者姓名"), max_length=64)
    parent_name = models.CharField(_("患儿家长姓名"), max_length=64, blank=True)
    id_type = models.CharField(_("证件类型"), max_length=2, blank=True)  # id_document_type
    id_number_encrypted = models.BinaryField(null=True, editable=False)
    id_number_index = models.CharField(max_length=40, blank=True, db_index=True)
    id_number_masked = models.CharField(_("有效证件号"), max_length=40, blank=True)
    sex = models.PositiveSmallIntegerField(_("性别"), choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    age_value = models.PositiveSmallIntegerField(_("年龄"), null=True, blank=True)
    age_unit = models.CharField(_("年龄单位"), max_length=1, blank=True)  # Y / M / D
    work_unit = models.CharField(_("工作单位(学校)"), max_length=128, blank=True)
    phone_encrypted = models.BinaryField(null=True, editable=False)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True)
    residence_category = models.CharField(_("病人属于"), max_length=1)  # patient_residence
    # Current address (现住址) coded to the township or community, plus the text.
    address_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("现住址区划"),
                                     null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    address_text_encrypted = models.BinaryField(null=True, editable=False)
    # Denormalised from ``address_unit`` for counting by place (statistics are by current
    # address, §2.2); empty when the patient lives outside the city.
    county_code = models.CharField(_("现住址县区"), max_length=12, blank=True, db_index=True)
    township_code = models.CharField(_("现住址乡镇街道"), max_length=12, blank=True,
                                     db_index=True)
    occupation = models.CharField(_("人群分类"), max_length=2)  # occupation value set
    occupation_other = models.CharField(_("其他人群分类"), max_length=64, blank=True)

    # --- the diagnosis ------------------------------------------------------------------
    disease_code = models.CharField(_("病种"), max_length=48, db_index=True)  # top level
    subtype_code = models.CharField(_("病种分型"), max_length=48, blank=True)
    icd10_code = models.CharField(_("ICD-10编码"), max_length=16, blank=True)
    disease_class = models.CharField(_("传染病类别"), max_length=8)  # A/B/C/other on diagnosis
    other_disease_text = models.CharField(_("其他传染病"), max_length=64, blank=True)
    original_disease_code = models.CharField(_("订正前病种"), max_length=48, blank=True)
    case_classification = models.CharField(_("病例分类"), max_length=1,
                                           choices=CaseClassification.choices)
    acute_chronic = models.CharField(_("急性/慢性"), max_length=1, blank=True)
    # empty only on drafts: a card is reported with its onset date (rules.py)
    onset_date = models.DateField(_("发病日期"), null=True, blank=True, db_index=True)
    diagnosis_at = models.DateTimeField(_("诊断时间"), db_index=True)
    death_date = models.DateField(_("死亡日期"), null=True, blank=True)

    # --- reporting ----------------------------------------------------------------------
    reporting_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("报告单位"),
                                       on_delete=models.PROTECT, related_name="+")
    reporting_doctor = models.ForeignKey(settings.AUTH_USER_MODEL,
                                         verbose_name=_("填卡医生账号"), null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")
    doctor_name = models.CharField(_("填卡医生"), max_length=64)
    reporting_phone = models.CharField(_("报告单位电话"), max_length=32, blank=True)
    filled_date = models.DateField(_("填卡日期"))
    remarks = models.CharField(_("备注"), max_length=500, blank=True)

    # --- clocks (§2.2 report deadline from diagnosis; §2.3 review limit from report) -----
    deadline_hours = models.PositiveSmallIntegerField(_("报告时限(小时)"))
    report_due_at = models.DateTimeField(_("报告截止时间"))
    reported_at = models.DateTimeField(_("网络报告时间"), null=True, blank=True,
                                       db_index=True)
    reported_late = models.BooleanField(_("迟报"), null=True)
    review_due_at = models.DateTimeField(_("审核截止时间"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True, db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reviewed_late = models.BooleanField(_("审核超时"), null=True)
    return_reason = models.CharField(_("退卡原因"), max_length=500, blank=True)

    # --- deletion and duplicates (§2.4) -------------------------------------------------
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("删除人"),
                                   null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    delete_reason = models.CharField(_("删除原因"), max_length=500, blank=True)
    deleted_after_review = models.BooleanField(default=False)  # only these may be restored
    duplicate_of = models.ForeignKey("self", verbose_name=_("保留卡片"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="duplicates")

    # --- suspected cases (A9): confirm or exclude within the disease's limit -------------
    suspected_due_at = models.DateTimeField(_("疑似病例订正时限"), null=True, blank=True,
                                            db_index=True)
    suspected_outcome = models.CharField(_("疑似病例转归"), max_length=10, blank=True,
                                         choices=SuspectedOutcome.choices)
    suspected_resolved_at = models.DateTimeField(_("疑似病例订正时间"), null=True, blank=True)

    # --- added by the card services (0002) -----------------------------------------------
    # Why the card was deleted, as a code (rules.DeleteReason): "excluded" closes a
    # suspected case, "duplicate" needs ``duplicate_of`` (§2.4).
    delete_reason_code = models.CharField(_("删除原因类别"), max_length=12, blank=True)
    # Cards found by the duplicate check (§2.4) when this card was entered or imported; the
    # reviewer decides which to keep. Card ids.
    duplicate_candidates = models.JSONField(_("疑似重卡"), default=list, blank=True)
    # Disease-specific supplementary data (HIV, HFMD severity, TB … §2.1), free JSON.
    supplement = models.JSONField(_("附卡信息"), default=dict, blank=True)
    # The reviewer's electronic signature (esign Signature.public_id), when signed.
    review_signature_id = models.CharField(_("审核签名"), max_length=64, blank=True)

    class Meta:
        ordering = ("-diagnosis_at", "-pk")
        indexes = [
            # counts by disease x place x day (signals, grid views, map)
            models.Index(fields=["disease_code", "township_code", "onset_date"],
                         name="card_disease_town_onset"),
            models.Index(fields=["county_code", "status", "reviewed_at"],
                         name="card_county_status_review"),
            models.Index(fields=["reporting_unit", "status", "reported_at"],
                         name="card_unit_status_reported"),
            models.Index(fields=["status", "review_due_at"], name="card_review_queue"),
            models.Index(fields=["id_number_index", "disease_code"], name="card_dup_id"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source_system", "external_id"],
                                    condition=~Q(external_id=""),
                                    name="card_external_id_once"),
        ]
        permissions = [
            ("report_card", "Fill and submit report cards"),
            ("review_card", "Review report cards"),
            ("import_card", "Import report cards"),
            ("export_card", "Export report cards"),
            ("exchange_card", "Exchange cards with the direct-report system"),
        ]

    def __str__(self) -> str:
        return self.card_number


class CardAction(models.TextChoices):
    CREATE = "create", _("新建")
    SAVE_DRAFT = "save_draft", _("保存草稿")
    SUBMIT = "submit", _("网络报告")
    REVIEW = "review", _("审核通过")
    RETURN = "return", _("退卡")
    RESUBMIT = "resubmit", _("修改后重新报告")
    REVISE = "revise", _("订正")
    DELETE = "delete", _("删除")
    RESTORE = "restore", _("恢复")
    SIGN = "sign", _("电子签名")
    LAB_RESULT = "lab_result", _("附加检验结果")
    EXCHANGE = "exchange", _("直报交换")


class CardEvent(models.Model):
    """One entry in a card's history (append-only)."""

    card = models.ForeignKey(ReportCard, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=12, choices=CardAction.choices)
    at = models.DateTimeField(_("时间"), db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True,
                           blank=True, on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    reason = models.CharField(_("原因"), max_length=500, blank=True)
    # {"field": [before, after]} for the fields this action changed (identifiers masked)
    changes = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)  # the card's version afterwards

    class Meta:
        ordering = ("card", "at", "pk")


class LabResult(TimeStampedModel):
    """A laboratory result attached to a card, e.g. the one that confirms a suspected case
    (A9)."""

    card = models.ForeignKey(ReportCard, on_delete=models.CASCADE, related_name="lab_results")
    test_name = models.CharField(_("检测项目"), max_length=128)
    loinc_code = models.CharField(_("LOINC编码"), max_length=16, blank=True)
    specimen = models.CharField(_("标本类型"), max_length=64, blank=True)
    collected_at = models.DateTimeField(_("采样时间"), null=True, blank=True)
    resulted_at = models.DateTimeField(_("报告时间"))
    result = models.CharField(_("检测结果"), max_length=200)
    interpretation = models.CharField(_("结果判定"), max_length=12)  # positive/negative/...
    laboratory = models.CharField(_("检测机构"), max_length=128, blank=True)
    confirms = models.BooleanField(_("确诊依据"), default=False)

    class Meta:
        ordering = ("card", "-resulted_at")


class CardSequence(models.Model):
    """The last card number handed out per reporting unit and report day: numbers are
    ``<unit code><YYYYMMDD><sequence>``, unique and never reused (§2.1)."""

    unit_code = models.CharField(max_length=32)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit_code", "day"],
                                               name="card_sequence_once")]


class SubmissionKey(models.Model):
    """An idempotency key seen on a submission: the same key again returns the same card
    instead of storing a second one."""

    key = models.CharField(max_length=128)
    reporting_unit = models.ForeignKey("orgunits.OrgUnit", on_delete=models.CASCADE,
                                       related_name="+")
    card = models.ForeignKey(ReportCard, on_delete=models.CASCADE, related_name="+")
    request_digest = models.CharField(max_length=64)  # SHA-256 of the body: same key, other
    created_at = models.DateTimeField(auto_now_add=True)  # body -> 409 conflict

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reporting_unit", "key"],
                                               name="submission_key_once")]
