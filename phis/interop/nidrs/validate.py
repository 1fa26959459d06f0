"""Checks of a card record that need no database (docs/modules/directreport.md §3.4):
mandatory fields of the card (surveillance.md §2.1, ``*`` fields), code formats and the
order of dates (§2.3 "automatic checks"). Membership of the value sets, the ID checksum,
duplicates and the disease rules are checked by the receiving service
(``notifiable.services.card_create``), which reports its own field errors.
"""

from __future__ import annotations

import re

from phis.interop.nidrs.layout import OP_DELETE, CardRecord, FieldProblem

_SEX = (0, 1, 2, 9)
_CARD_TYPES = ("1", "2")
_CASE_CLASSES = ("1", "2", "3", "4", "5")
_ACUTE_CHRONIC = ("", "1", "2")
_AGE_UNITS = ("", "Y", "M", "D")
_RESIDENCE = ("", "1", "2", "3", "4", "5", "6")
_OCCUPATION_RE = re.compile(r"^(0[1-9]|1[0-8])$")
_AREA_CODE_RE = re.compile(r"^\d{6}(\d{3}(\d{3})?)?$")

# (field, Chinese label, English label) of the mandatory card fields (§2.1 "*").
MANDATORY = (
    ("patient_name", "患者姓名", "patient name"),
    ("address_code", "现住址编码", "current address code"),
    ("occupation", "人群分类", "population group"),
    ("disease_code", "病种", "disease"),
    ("case_classification", "病例分类", "case classification"),
    ("onset_date", "发病日期", "onset date"),
    ("diagnosis_at", "诊断时间", "diagnosis date-time"),
    ("reporting_unit_code", "报告单位编码", "reporting unit code"),
    ("doctor_name", "填卡医生", "reporting doctor"),
    ("filled_date", "填卡日期", "date filled"),
)


def _p(field: str, code: str, zh: str, en: str) -> FieldProblem:
    return FieldProblem(field=f"card.{field}", code=code, message=zh, message_en=en)


def validate_card_record(record: CardRecord) -> list[FieldProblem]:
    """Problems that make the record unacceptable; empty when it may be applied."""
    card = record.card
    problems: list[FieldProblem] = []
    if record.operation == OP_DELETE:
        if not (record.reason or card.delete_reason):
            problems.append(FieldProblem("reason", "required", "删除须写明原因",
                                         "A deletion needs a reason"))
        return problems
    for name, zh, en in MANDATORY:
        value = getattr(card, name)
        if value in (None, ""):
            problems.append(_p(name, "required", f"{zh}为必填项", f"The {en} is required"))
    if card.sex not in _SEX:
        problems.append(_p("sex", "invalid_choice", "性别代码无效(GB/T 2261.1: 0/1/2/9)",
                           "Invalid sex code (GB/T 2261.1: 0/1/2/9)"))
    if card.card_type not in _CARD_TYPES:
        problems.append(_p("card_type", "invalid_choice", "报卡类别无效(1初次/2订正)",
                           "Invalid card type (1 initial / 2 corrected)"))
    if card.case_classification and card.case_classification not in _CASE_CLASSES:
        problems.append(_p("case_classification", "invalid_choice", "病例分类代码无效",
                           "Invalid case classification code"))
    if card.acute_chronic not in _ACUTE_CHRONIC:
        problems.append(_p("acute_chronic", "invalid_choice", "急慢性代码无效",
                           "Invalid acute/chronic code"))
    if card.age_unit not in _AGE_UNITS:
        problems.append(_p("age_unit", "invalid_choice", "年龄单位无效(Y/M/D)",
                           "Invalid age unit (Y/M/D)"))
    if card.residence_category not in _RESIDENCE:
        problems.append(_p("residence_category", "invalid_choice", "病人属于代码无效",
                           "Invalid patient-residence code"))
    if card.occupation and not _OCCUPATION_RE.match(card.occupation):
        problems.append(_p("occupation", "invalid_choice", "人群分类代码无效(01-18)",
                           "Invalid population-group code (01-18)"))
    if card.address_code and not _AREA_CODE_RE.match(card.address_code):
        problems.append(_p("address_code", "invalid", "现住址编码应为6/9/12位区划代码",
                           "The address code must be a 6/9/12-digit area code"))
    resident_id = card.id_type in ("", "01") and len(card.id_number) == 18
    if card.birth_date is None and card.age_value is None and not resident_id:
        # a resident ID carries the birth date (GB 11643); other documents do not
        problems.append(_p("birth_date", "required", "出生日期或年龄须填写其一",
                           "Give the date of birth or the age"))
    if card.age_value is not None and not card.age_unit:
        problems.append(_p("age_unit", "required", "填写年龄时须写明单位",
                           "An age needs its unit"))
    if not (card.id_number or card.birth_date):
        # 2015 specification: a valid ID is required; a newborn without one needs a birth date.
        problems.append(_p("id_number", "required", "有效证件号为必填项",
                           "A valid identity document number is required"))
    onset, diagnosed = card.onset_date, card.diagnosis_at
    if card.birth_date and onset and card.birth_date > onset:
        problems.append(_p("onset_date", "date_order", "发病日期早于出生日期",
                           "Onset is before the date of birth"))
    if onset and diagnosed and onset > diagnosed.date():
        problems.append(_p("diagnosis_at", "date_order", "诊断时间早于发病日期",
                           "Diagnosis is before onset"))
    if card.death_date and onset and card.death_date < onset:
        problems.append(_p("death_date", "date_order", "死亡日期早于发病日期",
                           "Death is before onset"))
    return problems
