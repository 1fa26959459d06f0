from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict


class ListQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    definition: str = Field("", max_length=64, description="只看某个流程 one workflow only")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class ActionOut(Schema):
    action: str
    label: str
    label_en: str


class InstanceOut(Schema):
    id: int
    definition: str
    definition_label: str
    definition_label_en: str
    title: str
    state: str
    state_label: str
    state_label_en: str
    subject_key: str
    subject_type: str
    subject_id: str
    owner_unit_code: str
    owner_unit_name: str
    owner_username: str | None
    state_entered_at: datetime
    due_at: datetime | None
    overdue: bool
    escalated_at: datetime | None
    version: int


class InstanceDetailOut(InstanceOut):
    actions: list[ActionOut]


class InstancePageOut(Schema):
    items: list[InstanceOut]
    count: int
    page: int
    page_size: int


class HistoryOut(Schema):
    action: str
    from_state: str
    to_state: str
    by_username: str | None
    at: datetime
    comment: str
    data: dict
    version: int


class TransitionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(min_length=1, max_length=40)
    comment: str = Field("", max_length=2000)
    expected_version: int | None = Field(
        None, ge=1, description="the version the user saw; 409 if the item changed since")
