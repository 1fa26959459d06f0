"""Shapes of the code-system API (phis/core/codes/api.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema


class CodeSystemOut(Schema):
    key: str
    name_zh: str
    name_en: str
    version: str
    as_of: date | None
    source: str
    licence: str
    hierarchical: bool
    concept_count: int
    loaded_at: datetime | None


class ConceptOut(Schema):
    system: str
    code: str
    display: str  # Chinese when there is one, else English
    display_zh: str
    display_en: str
    parent_code: str
    kind: str
    active: bool
    properties: dict[str, Any]


class ConceptRef(Schema):
    code: str
    display: str


class ConceptDetailOut(ConceptOut):
    ancestors: list[ConceptRef]  # root first
    children: list[ConceptRef]
