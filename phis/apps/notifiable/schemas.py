"""API shapes of report cards (Django Ninja / pydantic). Field names are those of
``CardInput`` (inputs.py) and of the model; lengths bound every string so bad input is a
422 with field errors, never a database error."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema

MAX_ID = 2**63 - 1  # a database key (bigint); a larger number names no card


class CardIn(Schema):
    """One report card as JSON (the national card, 2019 revision; surveillance.md §2.1)."""

    patient_name: str = Field("", max_length=64, description="患者姓名 *")
    parent_name: str = Field("", max_length=64, description="患儿家长姓名 (≤14 岁必填)")
    id_type: str = Field("01", max_length=2, description="证件类型 (id-document-type)")
    id_number: str = Field("", max_length=40, description="有效证件号 *")
    sex: int | None = Field(None, ge=0, le=9, description="性别 1 男 2 女")
    birth_date: date | None = Field(None, description="出生日期；不详时填年龄")
    age_value: int | None = Field(None, ge=0, le=1000)
    age_unit: str = Field("", max_length=1, description="Y 岁 / M 月 / D 天")
    work_unit: str = Field("", max_length=128, description="工作单位(学校)，学生/幼托须含班级")
    phone: str = Field("", max_length=20)
    residence_category: str = Field("", max_length=1,
                                    description="病人属于 (patient-residence)；空则自动推导")
    address_code: str = Field("", max_length=12, description="现住址乡镇街道/村居代码")
    address_text: str = Field("", max_length=300, description="现住址详细地址")
    occupation: str = Field("", max_length=2, description="人群分类 (occupation) *")
    occupation_other: str = Field("", max_length=64)
    disease_code: str = Field("", max_length=48, description="病种 (notifiable-disease) *")
    subtype_code: str = Field("", max_length=48)
    icd10_code: str = Field("", max_length=16)
    other_disease_text: str = Field("", max_length=64)
    case_classification: str = Field("", max_length=1, description="病例分类 1-5 *")
    acute_chronic: str = Field("", max_length=1, description="急性 1 / 慢性 2")
    onset_date: date | None = Field(None, description="发病日期 *")
    diagnosis_at: datetime | None = Field(None, description="诊断时间 * (无时区按北京时间)")
    death_date: date | None = None
    reporting_unit_code: str = Field("", max_length=32, description="报告单位；默认本人机构")
    doctor_name: str = Field("", max_length=64)
    reporting_phone: str = Field("", max_length=32)
    filled_date: date | None = None
    remarks: str = Field("", max_length=500)
    external_id: str = Field("", max_length=64, description="来源系统的卡片编号")
    source_system: str = Field("", max_length=64)
    extra: dict[str, Any] = Field(default_factory=dict, description="附卡信息")


class VersionIn(Schema):
    version: int = Field(..., ge=1, le=2_000_000_000)


class UpdateIn(VersionIn):
    card: CardIn
    submit: bool = False


class ReviewIn(VersionIn):
    pin: str | None = Field(None, max_length=32, description="签名PIN")


class ReasonIn(VersionIn):
    reason: str = Field(..., max_length=500)


class ReviseIn(ReasonIn):
    card: CardIn


class DeleteIn(ReasonIn):
    reason_code: Literal["", "duplicate", "excluded", "misreport", "test", "other"] = ""
    duplicate_of_id: int | None = Field(None, ge=1, le=2**62)


class LabResultIn(Schema):
    test_name: str = Field(..., max_length=128)
    result: str = Field(..., max_length=200)
    interpretation: Literal["positive", "negative", "indeterminate"]
    resulted_at: datetime
    loinc_code: str = Field("", max_length=16)
    specimen: str = Field("", max_length=64)
    collected_at: datetime | None = None
    laboratory: str = Field("", max_length=128)
    confirms: bool = False


class LabResultOut(Schema):
    id: int
    test_name: str
    loinc_code: str
    specimen: str
    collected_at: datetime | None
    resulted_at: datetime
    result: str
    interpretation: str
    laboratory: str
    confirms: bool


class CardOut(Schema):
    id: int
    card_number: str
    card_type: str
    status: str
    version: int
    source: str
    external_id: str
    person_id: int | None
    patient_name: str
    parent_name: str
    id_type: str
    id_number_masked: str
    sex: int
    birth_date: date | None
    age_value: int | None
    age_unit: str
    work_unit: str
    phone_masked: str
    residence_category: str
    address_code: str
    county_code: str
    township_code: str
    occupation: str
    occupation_other: str
    disease_code: str
    subtype_code: str
    icd10_code: str
    disease_class: str
    other_disease_text: str
    original_disease_code: str
    case_classification: str
    acute_chronic: str
    onset_date: date
    diagnosis_at: datetime
    death_date: date | None
    reporting_unit_code: str
    reporting_unit_name: str
    doctor_name: str
    filled_date: date
    remarks: str
    deadline_hours: int
    report_due_at: datetime
    reported_at: datetime | None
    reported_late: bool | None
    review_due_at: datetime | None
    reviewed_at: datetime | None
    reviewed_late: bool | None
    return_reason: str
    deleted_at: datetime | None
    delete_reason: str
    delete_reason_code: str
    deleted_after_review: bool
    duplicate_of_id: int | None
    duplicate_candidates: list[int]
    suspected_due_at: datetime | None
    suspected_outcome: str
    review_signature_id: str


class CardPage(Schema):
    count: int
    count_capped: bool = False  # True: there are more than ``count`` cards; narrow the filters
    items: list[CardOut]


class CardQuery(Schema):
    """The card list's query string (the same names the pages use to drill down)."""

    disease_code: str = Field("", max_length=48)
    county_code: str = Field("", max_length=12)
    township_code: str = Field("", max_length=12)
    reporting_unit_code: str = Field("", max_length=32)
    status: list[Literal["draft", "submitted", "returned", "reviewed", "deleted"]] = Field(
        default_factory=list)
    case_classification: str = Field("", max_length=1)
    date_basis: Literal["onset", "diagnosis", "report", "review"] = "diagnosis"
    date_from: date | None = None
    date_to: date | None = None
    text: str = Field("", max_length=64)
    include_deleted: bool = False
    suspected_overdue: bool = False
    review_overdue: bool = False
    card_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list,
                                                                   max_length=500)
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


class CardEventOut(Schema):
    action: str
    at: datetime
    by: str | None
    from_status: str
    to_status: str
    reason: str
    changes: dict[str, Any]
    version: int


class FieldErrorOut(Schema):
    field: str
    code: str
    message: str
    message_en: str


class CheckOut(Schema):
    ok: bool
    errors: list[FieldErrorOut]
    duplicates: list[dict[str, Any]]
    derived: dict[str, Any]


class RowOut(Schema):
    row: int
    status: str
    card_id: int | None
    card_number: str
    duplicates: list[int]
    errors: list[FieldErrorOut]


class ImportOut(Schema):
    total: int
    created: int
    existing: int
    failed: int
    rows: list[RowOut]


class BatchIn(Schema):
    cards: list[CardIn] = Field(..., min_length=1, max_length=2000)
    submit: bool = True
    source: Literal["api", "import", "exchange"] = "api"


class SuspectedCountOut(Schema):
    key: str
    name: str = ""
    count: int
