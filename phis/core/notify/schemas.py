from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict


class PageQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)
    unread: bool = Field(False, description="只看未读 unread only")


class NotificationOut(Schema):
    id: int
    title: str
    body: str
    title_en: str
    body_en: str
    link: str
    level: str
    created_at: datetime
    read_at: datetime | None


class InboxPageOut(Schema):
    items: list[NotificationOut]
    count: int
    page: int
    page_size: int


class UnreadOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int
