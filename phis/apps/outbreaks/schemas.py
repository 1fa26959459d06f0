from datetime import date, datetime

from ninja import Schema
from pydantic import Field


class OutbreakIn(Schema):
    title: str = Field(max_length=200)
    disease_code: str = Field("", max_length=48)
    county_code: str = Field("", max_length=12)
    place_code: str = Field("", max_length=32)
    setting: str = Field(max_length=16)
    place_text: str = Field("", max_length=200)
    summary: str = Field("", max_length=5000)
    signal_id: int | None = Field(None, ge=1, le=2**62)


class OutbreakOut(Schema):
    id: int
    number: str
    title: str
    disease_code: str
    county_code: str
    place_code: str
    setting: str
    status: str
    version: int
    signal_id: int | None
    lead: str
    opened_at: datetime
    closed_at: datetime | None
    conclusion: str
    case_count: int = 0
    contact_count: int = 0

    @staticmethod
    def of(o, case_count: int | None = None, contact_count: int | None = None) -> "OutbreakOut":
        return OutbreakOut(
            id=o.pk, number=o.number, title=o.title, disease_code=o.disease_code,
            county_code=o.county.code, place_code=o.place.code if o.place_id else "",
            setting=o.setting, status=o.status, version=o.version, signal_id=o.signal_id,
            lead=o.lead.username, opened_at=o.opened_at, closed_at=o.closed_at,
            conclusion=o.conclusion,
            case_count=case_count if case_count is not None else getattr(o, "case_count", 0),
            contact_count=contact_count if contact_count is not None
            else getattr(o, "contact_count", 0))


class FiguresOut(Schema):
    cases: int
    deaths: int
    first_onset: date | None
    last_onset: date | None
    contacts: int
    observing: int
    contacts_became_cases: int
    quiet_days_needed: int
    days_since_last_onset: int | None


class OutbreakDetailOut(OutbreakOut):
    summary: str
    place_text: str
    source_of_infection: str
    transmission_route: str
    measures: str
    closing_summary: str
    figures: FiguresOut


class StatusIn(Schema):
    version: int
    status: str = Field(max_length=16)
    note: str = Field("", max_length=2000)


class LinkIn(Schema):
    card_ids: list[int] = Field(max_length=500)
    index_card_id: int | None = None


class UnlinkIn(Schema):
    reason: str = Field(max_length=500)


class LinkedCaseOut(Schema):
    card_id: int
    card_number: str
    patient_name: str
    onset_date: date
    case_classification: str
    township_code: str
    is_index: bool


class StepIn(Schema):
    kind: str = Field(max_length=16)
    summary: str = Field(max_length=200)
    details: str = Field("", max_length=10000)
    at: datetime | None = None


class StepOut(Schema):
    id: int
    kind: str
    at: datetime
    by: str
    summary: str
    details: str


class ContactIn(Schema):
    name: str = Field(max_length=64)
    sex: int = Field(0, ge=0, le=9)
    age: int | None = Field(None, ge=0, le=130)
    id_number: str = Field("", max_length=32)
    phone: str = Field("", max_length=20)
    address_code: str = Field("", max_length=32)
    exposure_kind: str = Field(max_length=16)
    source_card_id: int | None = Field(None, ge=1, le=2**62)
    last_exposure: date
    observer_unit_code: str = Field("", max_length=32)


class ContactOut(Schema):
    id: int
    outbreak_id: int
    name: str
    sex: int
    age: int | None
    id_number_masked: str
    phone_masked: str
    address_code: str
    exposure_kind: str
    last_exposure: date
    observation_end: date
    status: str
    observer_unit_code: str
    version: int

    @staticmethod
    def of(c) -> "ContactOut":
        return ContactOut(
            id=c.pk, outbreak_id=c.outbreak_id, name=c.name, sex=c.sex, age=c.age,
            id_number_masked=c.id_number_masked, phone_masked=c.phone_masked,
            address_code=c.address_unit.code if c.address_unit_id else "",
            exposure_kind=c.exposure_kind, last_exposure=c.last_exposure,
            observation_end=c.observation_end, status=c.status,
            observer_unit_code=c.observer_unit.code, version=c.version)


class FollowUpIn(Schema):
    day: date | None = None
    reached: bool = True
    symptomatic: bool = False
    temperature: float | None = Field(None, ge=30, le=45)
    symptoms: str = Field("", max_length=200)
    note: str = Field("", max_length=200)


class FollowUpOut(Schema):
    id: int
    contact_id: int
    day: date
    reached: bool
    symptomatic: bool
    temperature: float | None
    symptoms: str
    note: str


class ContactStatusIn(Schema):
    version: int
    status: str = Field(max_length=16)
    note: str = Field("", max_length=200)
    card_id: int | None = Field(None, ge=1, le=2**62)


class CloseIn(Schema):
    version: int
    conclusion: str = Field(max_length=16)
    source_of_infection: str = Field("", max_length=5000)
    transmission_route: str = Field("", max_length=5000)
    measures: str = Field("", max_length=10000)
    closing_summary: str = Field(max_length=20000)
    close_early_reason: str = Field("", max_length=2000)
    pin: str | None = Field(None, max_length=32)
