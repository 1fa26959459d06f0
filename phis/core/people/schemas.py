from datetime import date, datetime

from ninja import Field, Schema
from pydantic import ConfigDict


class PersonOut(Schema):
    id: int
    name: str
    sex: int
    birth_date: date | None
    id_masked: str = Field(description="证件号码（脱敏）masked document number")
    phone_masked: str
    address_unit_code: str | None
    address_unit_name: str | None
    status: str


class PersonIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    sex: int = Field(0, description="GB/T 2261.1: 0 unknown, 1 male, 2 female, 9 unspecified")
    birth_date: date | None = None
    id_type: str = Field("01", description="证件类型 document type code")
    id_number: str = Field("", max_length=40)
    phone: str = Field("", max_length=30)
    address_unit_code: str = Field("", max_length=32)
    address_text: str = Field("", max_length=200)
    ethnicity: str = Field("", max_length=2)
    nationality: str = Field("CHN", max_length=3)
    latitude: float | None = None
    longitude: float | None = None


class UnmaskIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200, description="查看理由 purpose")


class UnmaskOut(Schema):
    identifiers: dict[str, str]
    phone: str
    address: str


# --- master patient index ------------------------------------------------------------------

class IdentifierIn(Schema):
    model_config = ConfigDict(extra="forbid")
    id_type: str = Field(max_length=2, description="证件类型 document type code")
    id_number: str = Field(max_length=40)


class IntakeIn(Schema):
    """A person record from a source system, with the source's own record key."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(max_length=64, description="来源系统 e.g. 'his:F370502H1'")
    source_key: str = Field(max_length=128, description="来源系统的记录号 the source's key")
    name: str = Field(max_length=64)
    sex: int = Field(0, description="GB/T 2261.1: 0 unknown, 1 male, 2 female, 9 unspecified")
    birth_date: date | None = None
    id_type: str = Field("01", max_length=2)
    id_number: str = Field("", max_length=40)
    phone: str = Field("", max_length=30)
    address_unit_code: str = Field("", max_length=32)
    address_text: str = Field("", max_length=200)
    ethnicity: str = Field("", max_length=2)
    nationality: str = Field("CHN", max_length=3)
    other_identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=10)


class IntakeOut(Schema):
    person_id: int
    outcome: str = Field(description="matched | created | review")
    link_id: int
    method: str
    probability: float | None
    review_ids: list[int]
    repeated: bool


class ReviewRecordOut(Schema):
    person_id: int
    name: str
    sex: int
    birth_date: str
    id_masked: str
    phone_masked: str
    address_unit_name: str


class ReviewOut(Schema):
    id: int
    state: str
    probability: float
    weight: float
    created_at: datetime
    source: str
    source_key: str
    org_unit_code: str
    record: ReviewRecordOut
    candidate: ReviewRecordOut
    comparison: dict[str, dict]
    decided_by: str | None
    decided_at: datetime | None
    reason: str


class ReviewPage(Schema):
    count: int
    items: list[ReviewOut]


class DecisionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=500)


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")
    merged_id: int
    reason: str = Field(max_length=500)


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    reason: str
    merged_by: str | None
    merged_at: datetime
    unmerged_by: str | None
    unmerged_at: datetime | None
    unmerge_reason: str


class IdentifierOut(Schema):
    person_id: int
    id_type: str
    id_type_label: str
    number_masked: str
    is_primary: bool
    source: str
    created_at: datetime


class LinkOut(Schema):
    id: int
    person_id: int
    source: str
    source_key: str
    method: str
    outcome: str
    probability: float | None
    weight: float | None
    facility_code: str | None
    created_at: datetime


class TimelineEntryOut(Schema):
    at: datetime
    module: str
    kind: str
    title: str
    title_en: str
    summary: str
    url: str
    org_unit_code: str
    record_type: str
    record_id: str


class Person360Out(Schema):
    person: PersonOut
    merged_into_id: int | None
    merged_persons: list[PersonOut]
    identifiers: list[IdentifierOut]
    links: list[LinkOut]
    merges: list[MergeOut]
    timeline: list[TimelineEntryOut]
    timeline_failed: list[str]
