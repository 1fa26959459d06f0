"""Page forms of the notifiable-disease module: the report card entry form (every field of
the 2019 card, shared/domain/surveillance.md §2.1), the card-list filters (the query-string
names of ``selectors.CardFilter``: every dashboard number drills down with them), the
reason / PIN / lab-result forms of the card actions and the batch import upload.

The forms only turn text into typed values and say what could not be read; the rules of
the card (mandatory fields, date order, sub-types, duplicates ...) are checked once, in
``services`` (``card_check`` / ``card_create``), so every channel gets the same answers.
Errors are ``FieldError`` objects in Chinese and English, like the services' errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language
from pypinyin import lazy_pinyin

from phis.apps.notifiable.inputs import CardInput
from phis.apps.notifiable.models import CardStatus
from phis.apps.notifiable.selectors import DATE_BASES, CardFilter
from phis.core.codes.files import static_choices
from phis.core.codes.selectors import (
    NOTIFIABLE,
    notifiable_disease_rules,
    notifiable_diseases,
    value_set,
)
from phis.core.exceptions import ApplicationError, FieldError

MAX_IMPORT_BYTES = 20 * 1024 * 1024

_DATE_PATTERNS = (re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
                  re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"))
_TIME_PATTERNS = (re.compile(r"^(\d{1,2})$"), re.compile(r"^(\d{1,2})(\d{2})$"),
                  re.compile(r"^(\d{1,2})[:：.](\d{1,2})(?::\d{1,2})?$"))


def parse_date(text: str) -> date | None:
    """``20260105``, ``2026-1-5``, ``2026/01/05``, ``2026年1月5日`` → a date; ``None`` for
    empty text; ``ValueError`` for text that is not a real date."""
    text = (text or "").strip()
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
    raise ValueError(text)


def parse_time(text: str) -> time | None:
    """``9`` → 09:00, ``930`` → 09:30, ``09:30`` → 09:30; ``None`` for empty text."""
    text = (text or "").strip()
    if not text:
        return None
    for pattern in _TIME_PATTERNS:
        m = pattern.match(text)
        if m:
            return time(int(m[1]), int(m[2]) if m.lastindex and m.lastindex > 1 else 0)
    raise ValueError(text)


def _date_error(name: str, label_zh: str, label_en: str) -> FieldError:
    return FieldError(name, "invalid_date", f"{label_zh}不是有效日期，请按 2026-01-05 格式填写",
                      f"{label_en} is not a valid date; use the form 2026-01-05")


# (form field, CardInput field or "", Chinese label, English label) in the order of the card
CARD_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("id_type", "id_type", "证件类型", "Document type"),
    ("id_number", "id_number", "有效证件号", "Valid ID number"),
    ("patient_name", "patient_name", "患者姓名", "Patient name"),
    ("parent_name", "parent_name", "患儿家长姓名", "Parent's name"),
    ("sex", "sex", "性别", "Sex"),
    ("birth_date", "birth_date", "出生日期", "Date of birth"),
    ("age_value", "age_value", "年龄", "Age"),
    ("age_unit", "age_unit", "年龄单位", "Age unit"),
    ("work_unit", "work_unit", "工作单位(学校)", "Work unit (school)"),
    ("phone", "phone", "联系电话", "Phone"),
    ("residence_category", "residence_category", "病人属于", "Patient belongs to"),
    ("address_township", "", "现住址乡镇街道", "Township / street"),
    ("address_community", "", "现住址村/社区", "Village / community"),
    ("address_text", "address_text", "详细地址", "Address details"),
    ("occupation", "occupation", "人群分类", "Population group"),
    ("occupation_other", "occupation_other", "其他人群分类", "Other population group"),
    ("disease_code", "disease_code", "病种", "Disease"),
    ("subtype_code", "subtype_code", "病种分型", "Sub-type"),
    ("icd10_code", "icd10_code", "ICD-10编码", "ICD-10 code"),
    ("other_disease_text", "other_disease_text", "其他法定管理以及重点监测传染病",
     "Other notifiable or key-monitored disease"),
    ("case_classification", "case_classification", "病例分类", "Case classification"),
    ("acute_chronic", "acute_chronic", "急性/慢性", "Acute / chronic"),
    ("onset_date", "onset_date", "发病日期", "Onset date"),
    ("diagnosis_date", "", "诊断日期", "Diagnosis date"),
    ("diagnosis_time", "", "诊断时间", "Diagnosis time"),
    ("death_date", "death_date", "死亡日期", "Death date"),
    ("reporting_unit_code", "reporting_unit_code", "报告单位", "Reporting unit"),
    ("reporting_phone", "reporting_phone", "报告单位电话", "Reporting unit phone"),
    ("doctor_name", "doctor_name", "填卡医生", "Reporting doctor"),
    ("filled_date", "filled_date", "填卡日期", "Date filled"),
    ("remarks", "remarks", "备注", "Remarks"),
)
FORM_FIELD_NAMES = tuple(f[0] for f in CARD_FIELDS)
LABELS = {f[0]: (f[2], f[3]) for f in CARD_FIELDS}
_DATE_FIELDS = ("birth_date", "onset_date", "death_date", "filled_date", "diagnosis_date")
_TEXT_LIMITS = {"patient_name": 64, "parent_name": 64, "work_unit": 128, "phone": 20,
                "address_text": 200, "occupation_other": 64, "other_disease_text": 64,
                "doctor_name": 64, "reporting_phone": 32, "remarks": 500, "icd10_code": 16,
                "id_number": 40}

# Service errors name CardInput fields; these are entered through other inputs here.
FIELD_ALIASES = {"address_code": "address_township", "diagnosis_at": "diagnosis_date"}


def form_field_of(service_field: str) -> str:
    return FIELD_ALIASES.get(service_field, service_field)


@dataclass
class CardForm:
    """The entry form: raw text values (re-rendered as typed when something is wrong) and
    the ``CardInput`` they make."""

    values: dict[str, str] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    data: CardInput | None = None

    @classmethod
    def from_post(cls, post, *, draft: bool = False) -> CardForm:
        """``draft``: an incomplete card being kept for later (a missing diagnosis time is
        then left open rather than reported as an error)."""
        values = {name: (post.get(name) or "").strip() for name in FORM_FIELD_NAMES}
        form = cls(values=values)
        form._parse(draft=draft)
        return form

    @classmethod
    def initial(cls, *, user, today: date | None = None) -> CardForm:
        """A new card: the doctor, the reporting unit and today filled in."""
        today = today or timezone.localdate()
        values = dict.fromkeys(FORM_FIELD_NAMES, "")
        values.update(id_type="01", doctor_name=getattr(user, "display_name", "") or "",
                      filled_date=today.isoformat(), diagnosis_date=today.isoformat(),
                      reporting_unit_code=user.org_unit.code if user.org_unit_id else "")
        return cls(values=values)

    @classmethod
    def from_card(cls, card, *, id_number: str = "", address_text: str = "",
                  phone: str = "") -> CardForm:
        """The values of a stored card, for continuing a draft, fixing a returned card or a
        correction. Identifiers are given by the caller (decrypted only for this form)."""
        local = timezone.localtime(card.diagnosis_at) if card.diagnosis_at else None
        unit = card.address_unit
        township, community = "", ""
        if unit is not None:
            if len(unit.code) > 9:
                township, community = unit.code[:9], unit.code
            else:
                township = unit.code
        values = {
            "id_type": card.id_type or "01", "id_number": id_number,
            "patient_name": card.patient_name, "parent_name": card.parent_name,
            "sex": str(card.sex) if card.sex is not None else "",
            "birth_date": _iso(card.birth_date),
            # the age is asked for only when the birth date is unknown
            "age_value": "" if card.age_value is None or card.birth_date
            else str(card.age_value),
            "age_unit": "" if card.birth_date else card.age_unit,
            "work_unit": card.work_unit, "phone": phone,
            "residence_category": card.residence_category,
            "address_township": township, "address_community": community,
            "address_text": address_text, "occupation": card.occupation,
            "occupation_other": card.occupation_other, "disease_code": card.disease_code,
            "subtype_code": card.subtype_code, "icd10_code": card.icd10_code,
            "other_disease_text": card.other_disease_text,
            "case_classification": card.case_classification,
            "acute_chronic": card.acute_chronic, "onset_date": _iso(card.onset_date),
            "diagnosis_date": local.date().isoformat() if local else "",
            "diagnosis_time": local.strftime("%H:%M") if local else "",
            "death_date": _iso(card.death_date),
            "reporting_unit_code": card.reporting_unit.code if card.reporting_unit_id else "",
            "reporting_phone": card.reporting_phone, "doctor_name": card.doctor_name,
            "filled_date": _iso(card.filled_date), "remarks": card.remarks,
        }
        return cls(values=values)

    @property
    def error_fields(self) -> set[str]:
        return {form_field_of(e.field) for e in self.errors}

    def add_errors(self, errors: list[FieldError]) -> None:
        seen = {(e.field, e.code) for e in self.errors}
        for e in errors:
            mapped = FieldError(form_field_of(e.field), e.code, e.message, e.message_en)
            if (mapped.field, mapped.code) not in seen:
                self.errors.append(mapped)

    def _parse(self, *, draft: bool = False) -> None:
        v = self.values
        parsed: dict[str, Any] = {}
        for name in _DATE_FIELDS:
            try:
                parsed[name] = parse_date(v[name])
            except ValueError:
                self.errors.append(_date_error(name, *LABELS[name]))
                parsed[name] = None
        try:
            diagnosis_time = parse_time(v["diagnosis_time"])
        except ValueError:
            self.errors.append(FieldError("diagnosis_time", "invalid_time",
                                          "诊断时间应为 0-23 时，例如 09:30",
                                          "The diagnosis time is an hour 0-23, e.g. 09:30"))
            diagnosis_time = None
        diagnosis_at = None
        if parsed["diagnosis_date"] is not None and diagnosis_time is not None:
            diagnosis_at = timezone.make_aware(
                datetime.combine(parsed["diagnosis_date"], diagnosis_time),
                timezone.get_default_timezone())
        elif parsed["diagnosis_date"] is not None and not v["diagnosis_time"] and not draft:
            # the report deadline runs from the hour of diagnosis (§2.1, §2.2): never guess it
            self.errors.append(FieldError("diagnosis_time", "required",
                                          "请填写诊断时间（时:分）",
                                          "Give the time of diagnosis (hh:mm)"))
        sex = None
        if v["sex"]:
            if v["sex"].isdigit():
                sex = int(v["sex"])
            else:
                self.errors.append(FieldError("sex", "invalid_choice", "性别无效",
                                              "Unknown sex"))
        age_value = None
        if v["age_value"]:
            if v["age_value"].isdigit() and int(v["age_value"]) <= 150:
                age_value = int(v["age_value"])
            else:
                self.errors.append(FieldError("age_value", "invalid_age",
                                              "年龄应为 0-150 的整数",
                                              "The age is a whole number from 0 to 150"))
        for name, limit in _TEXT_LIMITS.items():
            if len(v[name]) > limit:
                zh, en = LABELS[name]
                self.errors.append(FieldError(name, "too_long", f"{zh}不能超过{limit}个字",
                                              f"{en} can have at most {limit} characters"))
        address_code = v["address_community"] or v["address_township"]
        self.data = CardInput(
            patient_name=v["patient_name"], parent_name=v["parent_name"],
            id_type=v["id_type"] or "01", id_number=v["id_number"].upper(), sex=sex,
            birth_date=parsed["birth_date"], age_value=age_value, age_unit=v["age_unit"],
            work_unit=v["work_unit"], phone=v["phone"],
            residence_category=v["residence_category"], address_code=address_code,
            address_text=v["address_text"], occupation=v["occupation"],
            occupation_other=v["occupation_other"], disease_code=v["disease_code"],
            subtype_code=v["subtype_code"], icd10_code=v["icd10_code"].upper(),
            other_disease_text=v["other_disease_text"],
            case_classification=v["case_classification"], acute_chronic=v["acute_chronic"],
            onset_date=parsed["onset_date"], diagnosis_at=diagnosis_at,
            death_date=parsed["death_date"], reporting_unit_code=v["reporting_unit_code"],
            doctor_name=v["doctor_name"], reporting_phone=v["reporting_phone"],
            filled_date=parsed["filled_date"], remarks=v["remarks"])


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def reason_from(post, *, name: str = "reason", required: bool = True,
                label: tuple[str, str] = ("原因", "reason")) -> tuple[str, list[FieldError]]:
    reason = (post.get(name) or "").strip()
    if required and not reason:
        return reason, [FieldError(name, "required", f"请填写{label[0]}",
                                   f"Please give the {label[1]}")]
    if len(reason) > 500:
        return reason, [FieldError(name, "too_long", f"{label[0]}不能超过500个字",
                                   f"The {label[1]} can have at most 500 characters")]
    return reason, []


def version_from(post) -> int | None:
    text = (post.get("version") or "").strip()
    return int(text) if text.isdigit() else None


# --- card list filters (the drill-down target of every dashboard number) -------------------

FILTER_TEXT_FIELDS = ("disease_code", "county_code", "township_code", "reporting_unit_code",
                      "case_classification", "text", "card_type", "source")
TRUE_VALUES = ("1", "true", "on", "yes")


def _flag(query, name: str) -> bool:
    return (query.get(name) or "").strip().lower() in TRUE_VALUES


def card_filter_from_query(query) -> tuple[CardFilter, list[FieldError]]:
    """``CardFilter`` from the query string (names of selectors.CardFilter); unreadable
    values are reported and left out rather than failing the page."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {name: (query.get(name) or "").strip()[:64]
                              for name in FILTER_TEXT_FIELDS}
    statuses = [s for raw in query.getlist("status") for s in raw.split(",") if s]
    valid_statuses = set(CardStatus.values)
    bad = [s for s in statuses if s not in valid_statuses]
    if bad:
        errors.append(FieldError("status", "invalid_choice", "状态无效", "Unknown status"))
    values["status"] = [s for s in statuses if s in valid_statuses]
    basis = (query.get("date_basis") or "").strip()
    if basis and basis not in DATE_BASES:
        errors.append(FieldError("date_basis", "invalid_choice", "日期类型无效",
                                 "Unknown date basis"))
        basis = ""
    values["date_basis"] = basis or "diagnosis"
    for name, zh, en in (("date_from", "开始日期", "The start date"),
                         ("date_to", "结束日期", "The end date")):
        try:
            values[name] = parse_date(query.get(name) or "")
        except ValueError:
            errors.append(_date_error(name, zh, en))
            values[name] = None
    ids = [i for raw in query.getlist("card_ids") for i in raw.split(",") if i.strip()]
    values["card_ids"] = [int(i) for i in ids if i.strip().isdigit()][:1000]
    if len(values["card_ids"]) != len(ids[:1000]):
        errors.append(FieldError("card_ids", "invalid", "卡片ID无效", "Invalid card ids"))
    values["include_deleted"] = _flag(query, "include_deleted")
    values["suspected_overdue"] = _flag(query, "suspected_overdue")
    values["review_overdue"] = _flag(query, "review_overdue")
    late = (query.get("reported_late") or "").strip().lower()
    values["reported_late"] = (True if late in TRUE_VALUES
                               else False if late in ("0", "false", "no") else None)
    return CardFilter(**values), errors


# --- choices of the entry form -----------------------------------------------------------

def code_choices(system: str) -> list[tuple[str, str]]:
    """``[(code, label)]`` of a flat value set in the page language."""
    return list(static_choices(system, lang="en" if _english() else "zh"))


def _english() -> bool:
    return (get_language() or "").startswith("en")


@lru_cache(maxsize=512)
def _pinyin(text: str) -> str:
    syllables = lazy_pinyin(text)
    return f"{''.join(syllables)} {''.join(s[0] for s in syllables if s)}"


@dataclass(frozen=True)
class DiseaseOption:
    code: str
    name: str
    disease_class: str
    deadline_hours: int
    parent_code: str
    acute_chronic: bool
    search: str  # Chinese, English, pinyin, initials, code and ICD-10, lower case


def disease_options(*, on: date | None = None, keep: tuple[str, ...] = ()
                    ) -> tuple[list[DiseaseOption], list[DiseaseOption]]:
    """Diseases and their card sub-types in force on ``on`` (default today) for the picker;
    codes in ``keep`` stay listed even if no longer in force (a stored card's disease)."""
    english = _english()
    rules = notifiable_diseases(on=on, include_subtypes=True)
    listed = {r.code for r in rules}
    for code in keep:
        if code and code not in listed:
            try:
                rules.append(notifiable_disease_rules(code, on=on))
            except ApplicationError:
                continue
    diseases, subtypes = [], []
    for r in rules:
        search = " ".join((r.name_zh, r.name_en, _pinyin(r.name_zh), r.code,
                           " ".join(r.icd10_codes))).lower()
        option = DiseaseOption(code=r.code, name=r.name_en if english else r.name_zh,
                               disease_class=r.disease_class, deadline_hours=r.deadline_hours,
                               parent_code=r.parent_code,
                               acute_chronic=r.requires_acute_chronic, search=search)
        (subtypes if r.parent_code else diseases).append(option)
    return diseases, subtypes


DISEASE_CLASS_LABELS = {"A": ("甲类", "Class A"), "B": ("乙类", "Class B"),
                        "C": ("丙类", "Class C"),
                        "other": ("其他法定管理及重点监测", "Other notifiable / key-monitored")}


def disease_groups(diseases: list[DiseaseOption]) -> list[tuple[str, list[DiseaseOption]]]:
    english = _english()
    groups: dict[str, list[DiseaseOption]] = {}
    for d in diseases:
        groups.setdefault(d.disease_class, []).append(d)
    return [(DISEASE_CLASS_LABELS.get(k, (k, k))[1 if english else 0], v)
            for k, v in groups.items()]


def disease_names() -> dict[str, str]:
    """Code → name of every disease and sub-type ever in the catalogue (page language)."""
    english = _english()
    return {i.code: (i.display_en or i.display_zh) if english else i.display_zh
            for i in value_set(NOTIFIABLE, include_inactive=True)}


# --- lab result and import ---------------------------------------------------------------

LAB_INTERPRETATIONS = (("positive", "阳性", "Positive"), ("negative", "阴性", "Negative"),
                       ("indeterminate", "不确定", "Indeterminate"))


@dataclass
class LabForm:
    values: dict[str, str] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    NAMES = ("test_name", "loinc_code", "specimen", "collected_at", "resulted_at", "result",
             "interpretation", "laboratory", "confirms")

    @classmethod
    def from_post(cls, post) -> LabForm:
        form = cls(values={n: (post.get(n) or "").strip() for n in cls.NAMES})
        v = form.values
        for name, zh, en in (("test_name", "检测项目", "the test"),
                             ("result", "检测结果", "the result"),
                             ("resulted_at", "报告时间", "the result time")):
            if not v[name]:
                form.errors.append(FieldError(name, "required", f"请填写{zh}",
                                              f"Please give {en}"))
        times = {}
        for name, zh, en in (("collected_at", "采样时间", "The collection time"),
                             ("resulted_at", "报告时间", "The result time")):
            times[name] = None
            if v[name]:
                try:
                    times[name] = _parse_local_datetime(v[name])
                except ValueError:
                    form.errors.append(FieldError(
                        name, "invalid_datetime", f"{zh}格式应为 2026-01-05 09:30",
                        f"{en} is written 2026-01-05 09:30"))
        if v["interpretation"] not in {c[0] for c in LAB_INTERPRETATIONS}:
            form.errors.append(FieldError("interpretation", "invalid_choice",
                                          "请选择结果判定", "Choose the interpretation"))
        form.data = {"test_name": v["test_name"][:128], "loinc_code": v["loinc_code"][:16],
                     "specimen": v["specimen"][:64], "collected_at": times["collected_at"],
                     "resulted_at": times["resulted_at"], "result": v["result"][:200],
                     "interpretation": v["interpretation"],
                     "laboratory": v["laboratory"][:128],
                     "confirms": v["confirms"].lower() in TRUE_VALUES}
        return form


def _parse_local_datetime(text: str) -> datetime:
    text = text.replace("T", " ").strip()
    day_text, _, time_text = text.partition(" ")
    day = parse_date(day_text)
    if day is None:
        raise ValueError(text)
    at = parse_time(time_text) or time(0, 0)
    return timezone.make_aware(datetime.combine(day, at), timezone.get_default_timezone())


# --- batch import rows ---------------------------------------------------------------------

# The columns of the import file: the CardInput field names (English, stable; the template
# download carries them as its header line).
IMPORT_COLUMNS = tuple(n for n in CardInput.field_names() if n != "extra")
_IMPORT_DATES = {"birth_date": ("出生日期", "The birth date"),
                 "onset_date": ("发病日期", "The onset date"),
                 "death_date": ("死亡日期", "The death date"),
                 "filled_date": ("填卡日期", "The fill date")}


def import_row(row: dict[str, Any]) -> tuple[CardInput | None, list[FieldError]]:
    """One row of a CSV/Excel import (header = ``IMPORT_COLUMNS``) → a typed CardInput, or
    the cells that could not be read. Unknown columns are ignored."""
    text = {k: ("" if v is None else str(v).strip()) for k, v in row.items()
            if k in IMPORT_COLUMNS}
    errors: list[FieldError] = []
    values: dict[str, Any] = {k: v for k, v in text.items()
                              if k not in _IMPORT_DATES and k not in
                              ("diagnosis_at", "sex", "age_value")}
    for name, (zh, en) in _IMPORT_DATES.items():
        try:
            # Excel gives "2026-01-05 00:00:00" for a date cell
            values[name] = parse_date(text.get(name, "").replace("T", " ").split(" ")[0])
        except ValueError:
            errors.append(_date_error(name, zh, en))
    raw_diagnosis = text.get("diagnosis_at", "")
    try:
        values["diagnosis_at"] = _parse_local_datetime(raw_diagnosis) if raw_diagnosis \
            else None
    except ValueError:
        errors.append(FieldError("diagnosis_at", "invalid_datetime",
                                 "诊断时间格式应为 2026-01-05 09:30",
                                 "The diagnosis time is written 2026-01-05 09:30"))
    for name, zh, en in (("sex", "性别", "Sex"), ("age_value", "年龄", "The age")):
        raw = text.get(name, "")
        if raw.endswith(".0"):  # Excel numbers
            raw = raw[:-2]
        if not raw:
            values[name] = None
        elif raw.isdigit():
            values[name] = int(raw)
        else:
            errors.append(FieldError(name, "invalid_number", f"{zh}应为数字代码",
                                     f"{en} must be a number"))
    if "id_type" in values and not values["id_type"]:
        values["id_type"] = "01"
    elif values.get("id_type", "").isdigit() and len(values["id_type"]) == 1:
        values["id_type"] = values["id_type"].zfill(2)  # Excel drops the leading zero
    if values.get("occupation", "").isdigit() and len(values["occupation"]) == 1:
        values["occupation"] = values["occupation"].zfill(2)
    if errors:
        return None, errors
    return CardInput(**values), []
