"""The report card's rules as data plus the functions that apply them
(shared/domain/surveillance.md §2.1 fields, §2.2 deadlines, §2.3 audit and the automatic
checks, §2.4 correction, deletion and duplicates).

Verified facts ([V]) are named constants. Unconfirmed values ([U]: local practice or a
design choice) and the [K] review limits live in ``DEFAULT_RULES``; a deployment overrides
any of them with the setting ``PHIS_NOTIFIABLE_RULES`` (a dict merged over the defaults, one
level deep), so they are never literals inside the logic.

Everything here is called by the services (and by ``card_check`` for live validation): the
checks return field-level, bilingual ``FieldError``s named after ``CardInput`` fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from phis.apps.notifiable.inputs import CardInput
from phis.apps.notifiable.models import CardStatus, CaseClassification
from phis.apps.notifiable.permissions import NotifiablePerm
from phis.apps.notifiable.selectors import ancestors_by_path, county_of, orgunits_by_code
from phis.core.accounts.permissions import Role
from phis.core.codes.selectors import (
    NotifiableDiseaseRules,
    notifiable_disease_for_icd10,
    notifiable_disease_rules,
    value_set,
)
from phis.core.crypto.masking import mask_phone
from phis.core.exceptions import ApplicationError, FieldError
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import unit_in_scope
from phis.core.people.identifiers import NormalisedId, normalise_identifier, normalise_phone
from phis.core.workflow.definitions import (
    Escalation,
    State,
    Transition,
    WorkflowDefinition,
)

# --- verified constants -------------------------------------------------------------------

PARENT_NAME_MAX_AGE_YEARS = 14  # §2.1 [V]: parent's name when the patient is <= 14 years
URGENT_DEADLINE_HOURS = 2  # §2.2 [V]
RESIDENT_ID = "01"
OCCUPATION_NURSERY, OCCUPATION_SCATTERED, OCCUPATION_STUDENT = "01", "02", "03"
OCCUPATION_OTHER = "17"
SEXES = (1, 2)  # the card has male / female (§2.1)
# Residence categories (patient_residence value set, §2.1)
THIS_COUNTY, OTHER_COUNTY, OTHER_CITY, OTHER_PROVINCE = "1", "2", "3", "4"
LOCAL_CATEGORIES = (THIS_COUNTY, OTHER_COUNTY)
# Diagnostic order for "keep the higher classification" (§2.4 [K]).
CLASSIFICATION_RANK = {CaseClassification.CONFIRMED: 3, CaseClassification.CLINICAL: 2,
                       CaseClassification.SUSPECTED: 1}


# --- configurable rules ([U] / [K]) -------------------------------------------------------

DEFAULT_RULES: dict[str, Any] = {
    # §2.3 [K]: review of 2-hour cards within 2 h, of the others within 24 h.
    "review_hours_urgent": 2,
    "review_hours_default": 24,
    # A9 [U]: a suspected case must be confirmed or excluded within its disease's limit.
    "suspected_limit_days_default": 7,
    "suspected_limit_days": {"covid-19": 3, "measles": 7, "sars": 3, "plague": 3,
                             "cholera": 3, "poliomyelitis": 14},
    # §2.1 [U]: which case classifications a disease allows; a disease not listed allows
    # all five (permissive default until the national matrix is obtained).
    "case_classifications": {},
    # §2.3 "age consistency with population group" [U]: pre-school limits in whole years.
    "scattered_child_max_age_years": 6,
    "nursery_child_max_age_years": 7,
    "student_min_age_years": 5,
    # 2015 spec [V rule, U wording]: students and nursery children give the full school or
    # kindergarten name and the class; these words recognise them in the work-unit text.
    "kindergarten_words": ["幼儿园", "托儿所", "托幼", "幼稚园", "保育院", "育儿园", "托育"],
    "school_words": ["学", "校"],
    "class_words": ["班", "级", "系", "专业"],
    # Plausible age when the birth date is unknown, per unit [U].
    "age_max": {"Y": 130, "M": 36, "D": 90},
    # §2.1 [V]: a valid ID number is mandatory (2015 spec); a deployment may relax it.
    "id_number_required": True,
    # Clock skew accepted for "no future dates" on the diagnosis time.
    "future_tolerance_minutes": 10,
    # §2.4 [V]: two episodes of the same disease in a year are not duplicates. Onsets
    # further apart than this many days are separate episodes [U]; ``None`` for chronic
    # infections reported once (§2.2: no re-report at later visits).
    "episode_gap_days_default": 30,
    "episode_gap_days": {"hiv-aids": None, "tuberculosis": None, "viral-hepatitis": None,
                         "syphilis": None, "leprosy": None, "schistosomiasis": None,
                         "echinococcosis": None, "brucellosis": None, "filariasis": None,
                         "kala-azar": None},
}


def rules_config() -> dict[str, Any]:
    merged = dict(DEFAULT_RULES)
    for key, value in (getattr(settings, "PHIS_NOTIFIABLE_RULES", None) or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def review_hours(deadline_hours: int) -> int:
    """§2.3 [K]: the review limit follows the card's reporting class."""
    cfg = rules_config()
    urgent = deadline_hours <= URGENT_DEADLINE_HOURS
    return int(cfg["review_hours_urgent"] if urgent else cfg["review_hours_default"])


def suspected_limit(disease_code: str, subtype_code: str = "") -> timedelta:
    cfg = rules_config()
    limits = cfg["suspected_limit_days"]
    days = limits.get(subtype_code) or limits.get(disease_code) \
        or cfg["suspected_limit_days_default"]
    return timedelta(days=int(days))


def allowed_classifications(disease_code: str, subtype_code: str = "") -> tuple[str, ...]:
    matrix = rules_config()["case_classifications"]
    allowed = matrix.get(subtype_code) or matrix.get(disease_code)
    return tuple(allowed) if allowed else tuple(CaseClassification.values)


def same_episode(disease_code: str, onset_a: date, onset_b: date) -> bool:
    """§2.4: are two onsets of one patient's disease the same episode (→ duplicate)?"""
    cfg = rules_config()
    gaps = cfg["episode_gap_days"]
    gap = gaps[disease_code] if disease_code in gaps else cfg["episode_gap_days_default"]
    return gap is None or abs((onset_a - onset_b).days) <= int(gap)


# --- deletion reasons (§2.4) --------------------------------------------------------------

class DeleteReason:
    DUPLICATE = "duplicate"
    EXCLUDED = "excluded"  # suspected case excluded / misdiagnosis (误诊、排除诊断)
    MISREPORT = "misreport"  # not a notifiable case, wrong entry (错报)
    TEST = "test"
    OTHER = "other"

    LABELS = {
        "duplicate": ("重复报告", "Duplicate report"),
        "excluded": ("排除诊断/误诊", "Diagnosis excluded / misdiagnosis"),
        "misreport": ("错报", "Reported in error"),
        "test": ("测试卡", "Test card"),
        "other": ("其他", "Other"),
    }


# --- review workflow (§2.3) ---------------------------------------------------------------

REVIEW_WORKFLOW_NAME = "notifiable.report_review"


def _review_deadline(instance, now: datetime) -> datetime | timedelta:
    due = (instance.data or {}).get("review_due_at")
    return datetime.fromisoformat(due) if due else timedelta(
        hours=int(rules_config()["review_hours_default"]))


_REVIEWERS = (Role.COUNTY_CDC_REVIEWER, Role.CITY_CDC)

# One item per submission: it ends when the county CDC approves, returns or deletes the
# card; a resubmission or a correction (订正) of a reviewed card opens a new item.
REVIEW_WORKFLOW = WorkflowDefinition(
    name=REVIEW_WORKFLOW_NAME, label="报告卡审核", label_en="Report card review",
    initial="submitted",
    states=(
        State("submitted", "待审核", "Awaiting review", deadline=_review_deadline),
        State("reviewed", "已审核", "Reviewed", final=True),
        State("returned", "已退回", "Returned", final=True),
        State("deleted", "已删除", "Deleted", final=True),
    ),
    transitions=(
        Transition("review", ("submitted",), "reviewed", "审核通过", "Approve",
                   roles=_REVIEWERS, perms=(NotifiablePerm.REVIEW,)),
        Transition("return", ("submitted",), "returned", "退卡", "Return",
                   roles=_REVIEWERS, perms=(NotifiablePerm.REVIEW,)),
        Transition("delete", ("submitted",), "deleted", "删除", "Delete",
                   roles=_REVIEWERS, perms=(NotifiablePerm.REVIEW,)),
    ),
    escalation=Escalation(roles=(Role.COUNTY_CDC_REVIEWER, Role.COUNTY_HEALTH_BUREAU),
                          at="county", notify_owner=True),
    link="/notifiable/cards/{instance.subject_id}/",
)


# --- the card check -----------------------------------------------------------------------

def _e(field_name: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(field_name, code, zh, en)


@dataclass
class CheckedCard:
    """A card input that passed (or partly passed) the rules, with what was derived."""

    values: dict[str, Any] = field(default_factory=dict)  # ReportCard field values
    rules: NotifiableDiseaseRules | None = None
    reporting_unit: OrgUnit | None = None
    address_unit: OrgUnit | None = None
    identifier: NormalisedId | None = None
    phone: str = ""
    address_text: str = ""
    age_years: int | None = None
    diagnosis_local: date | None = None


def _codes(system: str) -> set[str]:
    return {item.code for item in value_set(system)}


def _as_aware(value: datetime | date | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0))
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value


# Dates a card can carry at all (births from the 1880s are checked separately below);
# anything outside is a typing error, and keeping it out keeps the clocks' time-zone
# arithmetic within Python's date range.
EARLIEST_DAY, LATEST_DAY = date(1880, 1, 1), date(2999, 12, 31)


def _plausible(value, field_name: str, errors: list[FieldError]):
    """``value`` (date or datetime) when its day is within the plausible range, else None
    with a field error."""
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    if EARLIEST_DAY <= day <= LATEST_DAY:
        return value
    errors.append(_e(field_name, "out_of_range", "日期超出合理范围",
                     "The date is out of range"))
    return None


def _full_years(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_from_birth(birth: date, on: date) -> tuple[int, str]:
    """The card's age and unit at ``on``: years from 1 year, months from 1 month, else days."""
    years = _full_years(birth, on)
    if years >= 1:
        return years, "Y"
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    if months >= 1:
        return months, "M"
    return max((on - birth).days, 0), "D"


def _age_in_years(value: int, unit: str) -> int:
    return value if unit == "Y" else (value // 12 if unit == "M" else 0)


def _contains(text: str, words) -> bool:
    return any(w and w in text for w in words)


@dataclass
class UnitCache:
    """Org units looked up once per batch (import, batch API)."""

    units: dict[str, OrgUnit | None] = field(default_factory=dict)

    def get(self, code: str) -> OrgUnit | None:
        if code not in self.units:
            self.units.update(orgunits_by_code([code]))
            self.units.setdefault(code, None)
        return self.units[code]

    def preload(self, codes) -> None:
        wanted = {c for c in codes if c and c not in self.units}
        found = orgunits_by_code(wanted)
        ancestors = ancestors_by_path(found.values())
        self.units.update(ancestors)
        self.units.update(found)
        for c in wanted:
            self.units.setdefault(c, None)

    def county(self, unit: OrgUnit | None) -> OrgUnit | None:
        if unit is None:
            return None
        missing = [c for c in unit.path.strip("/").split("/") if c not in self.units]
        if missing:
            self.preload(missing)
        return county_of(unit, self.units)  # unknown codes map to None: skipped

    def township(self, unit: OrgUnit | None) -> OrgUnit | None:
        if unit is None:
            return None
        for code in unit.path.strip("/").split("/"):
            found = self.get(code)
            if found is not None and found.level == Level.TOWNSHIP:
                return found
        return None

    def ancestor_at(self, unit: OrgUnit, level: int) -> OrgUnit | None:
        for code in unit.path.strip("/").split("/"):
            found = self.get(code)
            if found is not None and found.level == level:
                return found
        return None


def _resolve_disease(data: CardInput, on: date, errors: list[FieldError]
                     ) -> tuple[NotifiableDiseaseRules | None, str, str]:
    """(rules of the sub-type or disease, disease code, sub-type code)."""
    code = (data.disease_code or "").strip()
    sub = (data.subtype_code or "").strip()
    icd = (data.icd10_code or "").strip().upper()
    by_icd = None
    if icd:
        by_icd = notifiable_disease_for_icd10(icd, on=on)
        if by_icd is None:
            errors.append(_e("icd10_code", "not_notifiable",
                             f"ICD-10编码{icd}不属于{on.isoformat()}的法定传染病",
                             f"ICD-10 code {icd} is not a notifiable disease on {on}"))
    if not code and not sub and by_icd is not None:
        code = by_icd.code
    if not code and not sub:
        errors.append(_e("disease_code", "required", "请选择病种", "Choose the disease"))
        return None, "", ""
    try:
        rules = notifiable_disease_rules(sub or code, on=on)
    except ApplicationError as exc:
        name = "subtype_code" if sub else "disease_code"
        if exc.code == "not_listed_on_date":
            errors.append(_e(name, "not_listed_on_date", exc.message, exc.message_en))
        else:
            errors.append(_e(name, "unknown", "病种代码不存在", "Unknown disease code"))
        return None, code, sub
    if rules.parent_code:  # a sub-type was given (as disease_code or subtype_code)
        if code and code not in (rules.parent_code, rules.code):
            errors.append(_e("subtype_code", "subtype_mismatch", "分型不属于所选病种",
                             "The sub-type does not belong to the chosen disease"))
            return None, code, sub
        disease, sub = rules.parent_code, rules.code
    else:
        disease = rules.code
        if rules.subtypes:
            errors.append(_e("subtype_code", "required", f"{rules.name_zh}须选择分型",
                             f"{rules.name_en}: choose the sub-type"))
    if by_icd is not None and by_icd.code not in (disease, sub) \
            and (by_icd.parent_code or by_icd.code) != disease:
        errors.append(_e("icd10_code", "disease_mismatch", "ICD-10编码与所选病种不一致",
                         "The ICD-10 code belongs to another disease"))
    return rules, disease, sub


def check_card(data: CardInput, *, user=None, now: datetime | None = None,
               units: UnitCache | None = None, source: str = "web",
               for_draft: bool = False) -> tuple[list[FieldError], CheckedCard]:
    """Apply every rule of §2.1/§2.3 to ``data``. Returns the field errors (empty when the
    card may be reported) and the derived values. ``for_draft`` keeps only the errors that
    stop a draft from being stored (a draft may be incomplete)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    cfg = rules_config()
    units = units or UnitCache()
    errors: list[FieldError] = []
    out = CheckedCard()
    v = out.values

    def need(name: str, zh: str, en: str) -> None:
        errors.append(_e(name, "required", f"请填写{zh}", f"{en} is required"))

    # --- reporting unit and doctor ---------------------------------------------------
    unit_code = (data.reporting_unit_code or "").strip()
    if not unit_code and user is not None and getattr(user, "org_unit_id", None):
        unit_code = user.org_unit.code
    unit = units.get(unit_code) if unit_code else None
    if not unit_code:
        need("reporting_unit_code", "报告单位", "The reporting unit")
    elif unit is None or unit.level != Level.FACILITY:
        errors.append(_e("reporting_unit_code", "unknown", "报告单位不存在或不是医疗卫生机构",
                         "Unknown reporting unit (must be a facility)"))
        unit = None
    elif user is not None and not unit_in_scope(user, unit.path):
        errors.append(_e("reporting_unit_code", "out_of_scope", "只能以本人所属或管辖的机构报告",
                         "You can only report for your own unit or units you oversee"))
        unit = None
    out.reporting_unit = unit
    doctor = (data.doctor_name or "").strip()
    if not doctor and user is not None:
        doctor = (getattr(user, "full_name", "") or user.get_username())
    v["doctor_name"] = doctor[:64]
    if not doctor:
        need("doctor_name", "填卡医生", "The reporting doctor")
    v["reporting_phone"] = (data.reporting_phone or "").strip()[:32]
    v["remarks"] = (data.remarks or "").strip()[:500]

    # --- patient ----------------------------------------------------------------------
    name = (data.patient_name or "").strip()
    if not name:
        need("patient_name", "患者姓名", "The patient's name")
    elif len(name) > 64:
        errors.append(_e("patient_name", "too_long", "姓名过长（最多64字）",
                         "Name too long (64 characters at most)"))
    v["patient_name"] = name[:64]
    v["parent_name"] = (data.parent_name or "").strip()[:64]
    sex = data.sex
    try:
        sex = int(sex) if sex not in (None, "") else None
    except (TypeError, ValueError):
        sex = -1
    if sex is None:
        need("sex", "性别", "Sex")
    elif sex not in SEXES:
        errors.append(_e("sex", "invalid_choice", "性别应为男(1)或女(2)",
                         "Sex must be male (1) or female (2)"))
    v["sex"] = sex if sex in SEXES else None

    id_type = (data.id_type or RESIDENT_ID).strip()
    raw_id = (data.id_number or "").strip()
    ident = None
    if id_type not in _codes("id-document-type"):
        errors.append(_e("id_type", "invalid_choice", "证件类型无效", "Unknown document type"))
    elif raw_id:
        result = normalise_identifier(id_type, raw_id)
        if isinstance(result, FieldError):
            errors.append(result)
        else:
            ident = result
    elif cfg["id_number_required"]:
        need("id_number", "有效证件号", "A valid ID document number")
    out.identifier = ident
    v["id_type"] = id_type if ident is not None else (id_type if raw_id else "")

    birth = _plausible(data.birth_date, "birth_date", errors)
    if ident is not None and ident.birth_date:
        if birth and birth != ident.birth_date:
            errors.append(_e("birth_date", "mismatch_id", "出生日期与身份证号码不一致",
                             "The birth date differs from the one in the resident ID"))
        birth = birth or ident.birth_date
    if ident is not None and ident.sex and sex in SEXES and ident.sex != sex:
        errors.append(_e("sex", "mismatch_id", "性别与身份证号码不一致",
                         "Sex differs from the one in the resident ID"))
    if birth and birth > today:
        errors.append(_e("birth_date", "future", "出生日期不能晚于今天",
                         "The birth date cannot be in the future"))
    elif birth and birth.year < 1880:
        errors.append(_e("birth_date", "out_of_range", "出生日期不合理",
                         "The birth date is out of range"))
    v["birth_date"] = birth

    # --- dates ------------------------------------------------------------------------
    onset = _plausible(data.onset_date, "onset_date", errors)
    diagnosis_at = _as_aware(_plausible(data.diagnosis_at, "diagnosis_at", errors))
    death = _plausible(data.death_date, "death_date", errors)
    filled = _plausible(data.filled_date, "filled_date", errors) or today
    tolerance = timedelta(minutes=int(cfg["future_tolerance_minutes"]))
    if onset is None:
        need("onset_date", "发病日期", "The onset date")
    elif onset > today:
        errors.append(_e("onset_date", "future", "发病日期不能晚于今天",
                         "The onset date cannot be in the future"))
    if diagnosis_at is None:
        need("diagnosis_at", "诊断时间", "The diagnosis date and time")
    elif diagnosis_at > now + tolerance:
        errors.append(_e("diagnosis_at", "future", "诊断时间不能晚于当前时间",
                         "The diagnosis time cannot be in the future"))
    diag_day = timezone.localdate(diagnosis_at) if diagnosis_at else None
    out.diagnosis_local = diag_day
    if birth and onset and onset < birth:
        errors.append(_e("onset_date", "before_birth", "发病日期不能早于出生日期",
                         "The onset date cannot be before the birth date"))
    if onset and diag_day and diag_day < onset:
        errors.append(_e("diagnosis_at", "before_onset", "诊断日期不能早于发病日期",
                         "The diagnosis date cannot be before the onset date"))
    if death is not None:
        if death > today:
            errors.append(_e("death_date", "future", "死亡日期不能晚于今天",
                             "The death date cannot be in the future"))
        elif onset and death < onset:
            errors.append(_e("death_date", "before_onset", "死亡日期不能早于发病日期",
                             "The death date cannot be before the onset date"))
        elif birth and death < birth:
            errors.append(_e("death_date", "before_birth", "死亡日期不能早于出生日期",
                             "The death date cannot be before the birth date"))
    if filled > today:
        errors.append(_e("filled_date", "future", "填卡日期不能晚于今天",
                         "The fill date cannot be in the future"))
    elif diag_day and filled < diag_day:
        errors.append(_e("filled_date", "before_diagnosis", "填卡日期不能早于诊断日期",
                         "The fill date cannot be before the diagnosis date"))
    v.update(onset_date=onset, diagnosis_at=diagnosis_at, death_date=death, filled_date=filled)

    # --- age --------------------------------------------------------------------------
    age_on = diag_day or today
    age_years = None
    if birth and birth <= age_on:
        v["age_value"], v["age_unit"] = age_from_birth(birth, age_on)
        age_years = _full_years(birth, age_on)
    elif birth is None:
        unit_of_age = (data.age_unit or "").strip().upper()
        if data.age_value in (None, "") or not unit_of_age:
            errors.append(_e("birth_date", "required", "请填写出生日期，不详时填写年龄及单位",
                             "Give the birth date, or the age and its unit when unknown"))
        elif unit_of_age not in _codes("age-unit"):
            errors.append(_e("age_unit", "invalid_choice", "年龄单位应为岁/月/天(Y/M/D)",
                             "The age unit must be Y, M or D"))
        else:
            try:
                age = int(data.age_value)
            except (TypeError, ValueError):
                age = -1
            if not 0 <= age <= int(cfg["age_max"].get(unit_of_age, 130)):
                errors.append(_e("age_value", "out_of_range", "年龄超出合理范围",
                                 "The age is out of range"))
            else:
                v["age_value"], v["age_unit"] = age, unit_of_age
                age_years = _age_in_years(age, unit_of_age)
    out.age_years = age_years
    v.setdefault("age_value", None)
    v.setdefault("age_unit", "")
    if age_years is not None and age_years <= PARENT_NAME_MAX_AGE_YEARS \
            and not v["parent_name"]:
        errors.append(_e("parent_name", "required", "14岁及以下患者须填写患儿家长姓名",
                         "Give a parent's name for patients aged 14 or under"))

    # --- occupation (population group) -------------------------------------------------
    occupation = (data.occupation or "").strip()
    work_unit = (data.work_unit or "").strip()
    v["work_unit"] = work_unit[:128]
    v["occupation"] = occupation
    v["occupation_other"] = (data.occupation_other or "").strip()[:64]
    if not occupation:
        need("occupation", "人群分类", "The population group")
    elif occupation not in _codes("occupation"):
        errors.append(_e("occupation", "invalid_choice", "人群分类代码无效",
                         "Unknown population group code"))
    else:
        _check_occupation(occupation, age_years, work_unit, v["occupation_other"], cfg,
                          errors)

    # --- phone ------------------------------------------------------------------------
    if (data.phone or "").strip():
        phone = normalise_phone(data.phone)
        if isinstance(phone, FieldError):
            errors.append(phone)
        else:
            out.phone = phone
            v["phone_masked"] = mask_phone(phone)

    # --- address and residence category ------------------------------------------------
    _check_address(data, unit, units, out, errors)

    # --- disease ----------------------------------------------------------------------
    rules = None
    disease = sub = ""
    if diag_day is not None:
        rules, disease, sub = _resolve_disease(data, diag_day, errors)
    out.rules = rules
    v.update(disease_code=disease, subtype_code=sub,
             icd10_code=(data.icd10_code or "").strip().upper()[:16],
             other_disease_text=(data.other_disease_text or "").strip()[:64])
    if rules is not None:
        v["disease_class"] = rules.disease_class
        v["deadline_hours"] = rules.deadline_hours
    classification = (data.case_classification or "").strip()
    if not classification:
        need("case_classification", "病例分类", "The case classification")
    elif classification not in _codes("case-classification"):
        errors.append(_e("case_classification", "invalid_choice", "病例分类代码无效",
                         "Unknown case classification code"))
    elif disease and classification not in allowed_classifications(disease, sub):
        errors.append(_e("case_classification", "not_allowed_for_disease",
                         "该病种不使用此病例分类",
                         "This case classification is not used for this disease"))
    v["case_classification"] = classification
    acute = (data.acute_chronic or "").strip()
    if acute and acute not in _codes("acute-chronic"):
        errors.append(_e("acute_chronic", "invalid_choice", "急性/慢性代码无效",
                         "Unknown acute/chronic code"))
    elif rules is not None and rules.requires_acute_chronic and not acute:
        errors.append(_e("acute_chronic", "required", f"{rules.name_zh}须注明急性或慢性",
                         f"{rules.name_en}: state acute or chronic"))
    v["acute_chronic"] = acute
    v["supplement"] = dict(data.extra or {})
    v["external_id"] = (data.external_id or "").strip()[:64]
    v["source_system"] = (data.source_system or "").strip()[:64]

    if for_draft:
        errors = [e for e in errors if e.code not in ("required",)
                  and e.field not in ("case_classification",)]
    return errors, out


def _check_occupation(occupation: str, age_years: int | None, work_unit: str,
                      other_text: str, cfg: dict, errors: list[FieldError]) -> None:
    """§2.1/§2.3: population group against age and work unit (thresholds in config)."""
    if occupation == OCCUPATION_OTHER and not other_text:
        errors.append(_e("occupation_other", "required", "人群分类为“其他”时须注明",
                         "Specify the population group when it is 'other'"))
    if occupation == OCCUPATION_SCATTERED and age_years is not None \
            and age_years > int(cfg["scattered_child_max_age_years"]):
        errors.append(_e("occupation", "age_mismatch", "散居儿童仅限未入托的学龄前儿童",
                         "'Scattered child' is only for pre-school children not in nursery"))
    if occupation == OCCUPATION_NURSERY:
        if age_years is not None and age_years > int(cfg["nursery_child_max_age_years"]):
            errors.append(_e("occupation", "age_mismatch", "幼托儿童年龄不符",
                             "The age does not fit 'nursery child'"))
        if not (_contains(work_unit, cfg["kindergarten_words"])
                and _contains(work_unit, cfg["class_words"])):
            errors.append(_e("work_unit", "kindergarten_required",
                             "幼托儿童须填写幼儿园(托儿所)全称及班级",
                             "Nursery children: give the full kindergarten name and class"))
    if occupation == OCCUPATION_STUDENT:
        if age_years is not None and age_years < int(cfg["student_min_age_years"]):
            errors.append(_e("occupation", "age_mismatch", "学生年龄不符",
                             "The age does not fit 'student'"))
        if not (_contains(work_unit, cfg["school_words"])
                and _contains(work_unit, cfg["class_words"])):
            errors.append(_e("work_unit", "school_required", "学生须填写学校全称及班级",
                             "Students: give the full school name and class"))


def _check_address(data: CardInput, reporting_unit: OrgUnit | None, units: UnitCache,
                   out: CheckedCard, errors: list[FieldError]) -> None:
    """§2.1: the current address coded to the township/community; "patient belongs to"
    derived from it against the reporting unit's county when not given."""
    v = out.values
    code = (data.address_code or "").strip()
    text = (data.address_text or "").strip()
    out.address_text = text[:300]
    given = (data.residence_category or "").strip()
    if given and given not in _codes("patient-residence"):
        errors.append(_e("residence_category", "invalid_choice", "“病人属于”代码无效",
                         "Unknown residence category code"))
        given = ""
    address = None
    if code:
        address = units.get(code)
        if address is None or address.level not in (Level.TOWNSHIP, Level.COMMUNITY):
            errors.append(_e("address_code", "unknown", "现住址应选到乡镇(街道)或村(居委会)",
                             "The current address must be a township/street or community"))
            address = None
    out.address_unit = address
    derived = ""
    if address is not None:
        county = units.county(address)
        township = units.township(address)
        v["county_code"] = county.code if county else ""
        v["township_code"] = township.code if township else ""
        if reporting_unit is not None:
            home = units.county(reporting_unit)
            if county is not None and home is not None and county.pk == home.pk:
                derived = THIS_COUNTY
            else:
                city = units.ancestor_at(address, Level.CITY)
                home_city = units.ancestor_at(reporting_unit, Level.CITY)
                if city is not None and home_city is not None and city.pk == home_city.pk:
                    derived = OTHER_COUNTY
                else:
                    province = units.ancestor_at(address, Level.PROVINCE)
                    home_province = units.ancestor_at(reporting_unit, Level.PROVINCE)
                    same = province is not None and home_province is not None \
                        and province.pk == home_province.pk
                    derived = OTHER_CITY if same or (province is None
                                                     and home_province is None) \
                        else OTHER_PROVINCE
    else:
        v["county_code"] = ""
        v["township_code"] = ""
    if given and derived and given != derived \
            and not (derived in (OTHER_CITY, OTHER_PROVINCE) and given not in LOCAL_CATEGORIES):
        errors.append(_e("residence_category", "mismatch_address",
                         "“病人属于”与现住址不一致", "Residence category does not match the "
                         "current address"))
    category = given or derived
    if not category:
        if not code:
            errors.append(_e("address_code", "required", "请填写现住址（本市病例选到乡镇街道）",
                             "Give the current address (for this city, down to the township)"))
        else:
            errors.append(_e("residence_category", "required", "请选择“病人属于”",
                             "Choose the residence category"))
    elif category in LOCAL_CATEGORIES and address is None and not code:
        errors.append(_e("address_code", "required", "本市病例的现住址须选到乡镇(街道)",
                         "For residents of this city choose the township/street"))
    elif category not in LOCAL_CATEGORIES and not code and not text:
        errors.append(_e("address_text", "required", "请填写现住址", "Give the current address"))
    v["residence_category"] = category


# --- clocks (§2.2, §2.3, A9) --------------------------------------------------------------

def report_clock(*, diagnosis_at: datetime, deadline_hours: int,
                 reported_at: datetime | None) -> dict[str, Any]:
    """§2.2: report due = diagnosis + deadline of the disease on the diagnosis date; §2.3:
    review due = report + review limit of the card's class."""
    due = diagnosis_at + timedelta(hours=deadline_hours)
    values: dict[str, Any] = {"report_due_at": due, "reported_at": reported_at,
                              "reported_late": None, "review_due_at": None}
    if reported_at is not None:
        values["reported_late"] = reported_at > due
        values["review_due_at"] = reported_at + timedelta(hours=review_hours(deadline_hours))
    return values


def suspected_clock(*, classification: str, diagnosis_at: datetime, disease_code: str,
                    subtype_code: str = "") -> datetime | None:
    if classification != CaseClassification.SUSPECTED:
        return None
    return diagnosis_at + suspected_limit(disease_code, subtype_code)


def classification_rank(code: str) -> int:
    return CLASSIFICATION_RANK.get(code, 0)


EDITABLE_STATUSES = (CardStatus.DRAFT, CardStatus.RETURNED)
REVISABLE_STATUSES = (CardStatus.SUBMITTED, CardStatus.REVIEWED, CardStatus.RETURNED)
