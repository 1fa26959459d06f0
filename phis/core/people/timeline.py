"""The patient-360 timeline: a registry in core that every module plugs into (issue 3 §4).

A module registers one source, from its ``AppConfig.ready`` (or the module its ready
imports)::

    from phis.core.people.timeline import TimelineEntry, register_timeline_source

    def report_entries(*, person_ids: list[int], user):
        # scope to ``user`` here, through the module's own selectors
        for r in report_visible_for(user=user).filter(person_id__in=person_ids):
            yield TimelineEntry(at=r.created_at, module="notifiable", kind="report",
                                title="传染病报告卡", title_en="Notifiable disease report",
                                summary=r.disease_name, url=f"/notifiable/{r.pk}/",
                                org_unit_code=r.org_unit.code,
                                record_type="notifiable.report", record_id=str(r.pk))

    register_timeline_source("notifiable.reports", "传染病报告", "Notifiable disease reports",
                             report_entries)

``person_ids`` holds the person and every person merged into it. A source may also give a
``fhir`` callable with the same keywords returning FHIR R4 resources (dicts) for the
person's export bundle. A failing source does not break the page: its entries are left out
and the failure is logged and reported in ``TimelineResult.failed``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    module: str
    kind: str
    title: str
    title_en: str
    summary: str = ""
    url: str = ""
    org_unit_code: str = ""
    record_type: str = ""
    record_id: str = ""


Fetch = Callable[..., Iterable[TimelineEntry]]
FhirFetch = Callable[..., Iterable[dict]]


@dataclass(frozen=True)
class TimelineSource:
    key: str
    label: str
    label_en: str
    fetch: Fetch
    fhir: FhirFetch | None = None


_SOURCES: dict[str, TimelineSource] = {}


def register_timeline_source(key: str, label: str, label_en: str,
                             fetch: Callable[..., Iterable[TimelineEntry]], *,
                             fhir: Callable[..., Iterable[dict]] | None = None
                             ) -> TimelineSource:
    """Register (or replace, for the same key) a source of timeline entries.
    ``fetch(*, person_ids: list[int], user) -> Iterable[TimelineEntry]`` must itself keep to
    what ``user`` may see."""
    if not key or not callable(fetch) or (fhir is not None and not callable(fhir)):
        raise ValueError("a timeline source needs a key and a callable fetch")
    source = TimelineSource(key=key, label=label, label_en=label_en, fetch=fetch, fhir=fhir)
    _SOURCES[key] = source
    return source


def unregister_timeline_source(key: str) -> None:
    _SOURCES.pop(key, None)


def timeline_sources() -> list[TimelineSource]:
    _ensure_core_sources()
    return list(_SOURCES.values())


def _ensure_core_sources() -> None:
    # The registry's own sources (person history, identifiers, MPI links and merges) are
    # registered on first use, so they are there whichever app loads first.
    from phis.core.people import timeline_core  # noqa: F401


@dataclass
class TimelineResult:
    entries: list[TimelineEntry]
    failed: list[str] = field(default_factory=list)  # keys of sources that raised


def _sort_key(entry: TimelineEntry) -> datetime:
    at = entry.at
    if isinstance(at, datetime):
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    if isinstance(at, date):
        return datetime.combine(at, time.min, tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)


def timeline_collect(*, user, person_ids: list[int]) -> TimelineResult:
    """Entries of every source for ``person_ids``, newest first. Visibility of the person
    is the caller's check (``timeline_for`` does it)."""
    entries: list[TimelineEntry] = []
    failed: list[str] = []
    for source in timeline_sources():
        try:
            got = [e for e in source.fetch(person_ids=list(person_ids), user=user)
                   if isinstance(e, TimelineEntry)]
        except Exception:  # one module's bug must not hide the rest of the timeline
            log.exception("timeline source %s failed", source.key)
            failed.append(source.key)
            continue
        entries.extend(got)
    entries.sort(key=lambda e: (_sort_key(e), e.module, e.record_id), reverse=True)
    return TimelineResult(entries, failed)


def timeline_for(*, user, person_id: int) -> list[TimelineEntry]:
    """The timeline of a person visible to ``user`` (NotFound otherwise), including every
    person merged into it, newest first."""
    from phis.core.people.mpi_selectors import person_cluster_ids

    person_ids = person_cluster_ids(user=user, person_id=person_id)
    return timeline_collect(user=user, person_ids=person_ids).entries
