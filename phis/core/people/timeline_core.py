"""The registry's own timeline sources: the person's change history (from the audit log),
identifiers as sources reported them, source records linked by the MPI, steward decisions
and merges. Registered on first use of the timeline (phis.core.people.timeline)."""

from __future__ import annotations

from phis.core.audit.models import AuditLog
from phis.core.audit.types import AuditEventType
from phis.core.people.models import IdType
from phis.core.people.mpi_models import LinkMethod, MatchReview, PersonMerge, ReviewState
from phis.core.people.mpi_selectors import (
    person_identifiers_for,
    person_links_for,
    persons_visible_ids,
)
from phis.core.people.timeline import TimelineEntry, register_timeline_source

MODULE = "people"


def history_entries(*, person_ids: list[int], user):
    ids = persons_visible_ids(user=user, person_ids=person_ids)
    rows = AuditLog.objects.filter(
        person_id__in=ids, object_type="people.person",
        event_type__in=[AuditEventType.RECORD_CREATED, AuditEventType.RECORD_UPDATED],
    ).order_by("-id")[:500]
    for row in rows:
        created = row.event_type == AuditEventType.RECORD_CREATED
        after = (row.detail or {}).get("after") or {}
        changed = "" if created else "、".join(sorted(after))
        yield TimelineEntry(
            at=row.occurred_at, module=MODULE, kind="created" if created else "updated",
            title="人员登记" if created else "人员信息修改",
            title_en="Person registered" if created else "Person details changed",
            summary=(f"#{row.object_id} " + (changed or "")).strip(),
            org_unit_code=row.actor_org_code, record_type="people.person",
            record_id=row.object_id)


def identifier_entries(*, person_ids: list[int], user):
    ids = persons_visible_ids(user=user, person_ids=person_ids)
    for ident in person_identifiers_for(person_ids=ids):
        label = IdType(ident.id_type).label if ident.id_type in IdType.values else ident.id_type
        yield TimelineEntry(
            at=ident.created_at, module=MODULE, kind="identifier",
            title="证件登记", title_en="Identifier recorded",
            summary=f"{label} {ident.number_masked}" + (f" · {ident.source}"
                                                         if ident.source else ""),
            record_type="people.personidentifier", record_id=str(ident.pk))


_METHOD_EN = {LinkMethod.IDENTIFIER: "same ID number", LinkMethod.PROBABILISTIC: "scored match",
              LinkMethod.NEW_PERSON: "new person", LinkMethod.STEWARD: "steward",
              LinkMethod.MERGE: "merge"}


def mpi_entries(*, person_ids: list[int], user):
    ids = persons_visible_ids(user=user, person_ids=person_ids)
    for link in person_links_for(person_ids=ids):
        prob = f" · p={link.match_probability:.3f}" if link.match_probability is not None else ""
        yield TimelineEntry(
            at=link.created_at, module=MODULE, kind="source_record",
            title="来源记录关联", title_en="Source record linked",
            summary=f"{link.source}:{link.source_key} · {link.get_method_display()}{prob}",
            org_unit_code=link.facility.code if link.facility_id else "",
            record_type="people.personlink", record_id=str(link.pk))
    decided = MatchReview.objects.filter(link__person_id__in=ids, decided_at__isnull=False,
                                         state__in=[ReviewState.ACCEPTED, ReviewState.REJECTED])
    for review in decided.select_related("link", "decided_by"):
        accepted = review.state == ReviewState.ACCEPTED
        yield TimelineEntry(
            at=review.decided_at, module=MODULE, kind="review",
            title="匹配审核：同一人" if accepted else "匹配审核：不同人",
            title_en="Match review: same person" if accepted
            else "Match review: different persons",
            summary=f"{review.link.source}:{review.link.source_key} ↔ #{review.candidate_id}"
                    + (f" · {review.reason}" if review.reason else ""),
            url=f"/persons/mpi/reviews/{review.pk}/", record_type="people.matchreview",
            record_id=str(review.pk))
    merges = PersonMerge.objects.filter(survivor_id__in=ids) | PersonMerge.objects.filter(
        merged_id__in=ids)
    for m in merges.distinct():
        yield TimelineEntry(
            at=m.merged_at, module=MODULE, kind="merge", title="人员合并",
            title_en="Persons merged", summary=f"#{m.merged_id} → #{m.survivor_id} · {m.reason}",
            record_type="people.personmerge", record_id=str(m.pk))
        if m.unmerged_at:
            yield TimelineEntry(
                at=m.unmerged_at, module=MODULE, kind="unmerge", title="撤销合并",
                title_en="Merge undone",
                summary=f"#{m.merged_id} ↛ #{m.survivor_id} · {m.unmerge_reason}",
                record_type="people.personmerge", record_id=str(m.pk))


register_timeline_source("people.history", "人员信息变更", "Person history", history_entries)
register_timeline_source("people.identifiers", "证件", "Identifiers", identifier_entries)
register_timeline_source("people.mpi", "主索引关联", "MPI links and merges", mpi_entries)
