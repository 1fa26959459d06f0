from datetime import date, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class SignalListQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    state: str = Field("open", max_length=16,
                       description="open | closed | all | a state (new, acknowledged, …)")
    disease_code: str = Field("", max_length=48)
    county_code: str = Field("", max_length=12)
    method: str = Field("", max_length=16)
    outcome: str = Field("", max_length=16)
    overdue: bool = False
    raised_from: date | None = None
    raised_to: date | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class SignalOut(Schema):
    id: int
    disease_code: str
    disease_name: str
    disease_name_en: str
    disease_class: str
    county_code: str
    county_name: str
    township_codes: list[str]
    owner_unit_code: str
    method: str
    method_label: str
    method_label_en: str
    configured_method: str
    algorithm: str
    parameters: dict[str, Any]
    basis: str
    day: date
    window_from: date
    window_to: date
    observed: float
    threshold: float | None
    expected: float | None
    statistic: float | None
    p_value: float | None
    priority: int
    status: str
    status_label: str
    status_label_en: str
    is_open: bool
    outcome: str
    raised_at: datetime
    response_hours: int
    response_due_at: datetime
    due_at: datetime | None
    overdue: bool
    escalated_at: datetime | None
    responded_at: datetime | None
    responded_by: str | None
    response_hours_taken: float | None
    verified_at: datetime | None
    verification_method: str
    verification_note: str
    investigation_result: str
    investigation_note: str
    closed_at: datetime | None
    close_note: str
    outbreak_ref: str
    event_report_ref: str
    alert_count: int
    detection_days: list[str]
    cases_url: str
    version: int


class SignalPageOut(Schema):
    items: list[SignalOut]
    count: int
    page: int
    page_size: int


class ActionOut(Schema):
    action: str
    label: str
    label_en: str


class HistoryOut(Schema):
    action: str
    from_state: str
    to_state: str
    by_username: str | None
    at: datetime
    comment: str
    data: dict


class SignalDetailOut(SignalOut):
    actions: list[ActionOut]
    history: list[HistoryOut]


class SeriesOut(Schema):
    dates: list[str]
    counts: list[int]
    point_dates: list[str] = []
    observed: list[float]
    threshold: list[float | None]
    alarm: list[bool]
    step_days: int


class ActionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(min_length=1, max_length=20,
                        description="acknowledge | exclude | suspect | confirm | refute | close")
    version: int = Field(ge=1, description="the version shown; 409 if the signal changed")
    verification_method: str = Field("", max_length=12,
                                     description="data_review | phone | on_site")
    note: str = Field("", max_length=4000)
    event_report_ref: str = Field("", max_length=64)


class IndicatorQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    date_from: date | None = None
    date_to: date | None = None


class IndicatorOut(Schema):
    county_code: str
    county_name: str | None
    signals: int
    responded: int
    response_rate: float | None
    fixed_signals: int
    fixed_within_2h_rate: float | None
    temporal_signals: int
    temporal_within_24h_rate: float | None
    within_limit_rate: float | None
    median_response_hours: float | None
    suspected_events: int
    suspected_event_rate: float | None


class ConfigOut(Schema):
    disease_code: str
    disease_name: str
    enabled: bool
    method: str
    parameters: dict[str, Any]
    basis: str
    realtime: bool
    fallback_method: str
    min_baseline_blocks: int
    suppression_days: int
    response_hours: int
    source_tag: str
    note: str
    version: int
    updated_at: datetime


class ConfigIn(Schema):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    enabled: bool | None = None
    method: str | None = Field(None, max_length=16)
    parameters: dict[str, Any] | None = None
    basis: str | None = Field(None, max_length=8)
    realtime: bool | None = None
    fallback_method: str | None = Field(None, max_length=16)
    min_baseline_blocks: int | None = None
    suppression_days: int | None = None
    response_hours: int | None = None
    note: str | None = Field(None, max_length=500)


class RunIn(Schema):
    model_config = ConfigDict(extra="forbid")
    on: date | None = None
    diseases: list[str] | None = Field(None, max_length=100)


class RunOut(Schema):
    run_id: int | None
    on: date
    seconds: float
    series_evaluated: int
    alarms: int
    signals_new: int
    signals_updated: int
    fallbacks: int
    skipped: list[dict[str, str]]
    signal_ids: list[int]


class RunRowOut(Schema):
    id: int
    on: date
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    series_evaluated: int
    alarms: int
    signals_new: int
    signals_updated: int
    fallbacks: int
    seconds: float
