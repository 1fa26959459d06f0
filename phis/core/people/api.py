"""Person registry API: search, detail (access-audited), create, update, unmask; the MPI
(intake, steward review queue, merge, unmerge); patient 360 and its FHIR R4 export."""


from dataclasses import asdict

from django.http import JsonResponse
from ninja import Field, Query, Router, Schema, Status

from phis.core.accounts.permissions import CorePerm
from phis.core.api import requires
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.orgunits.models import Level
from phis.core.people.fhir import person_fhir_bundle
from phis.core.people.models import IdType
from phis.core.people.mpi_models import ReviewState
from phis.core.people.mpi_rules import MpiPerm
from phis.core.people.mpi_selectors import review_get_visible, review_list
from phis.core.people.mpi_services import (
    IncomingPerson,
    mpi_intake,
    person_360,
    person_merge,
    person_unmerge,
    review_accept,
    review_reject,
)
from phis.core.people.schemas import (
    DecisionIn,
    IntakeIn,
    IntakeOut,
    MergeIn,
    MergeOut,
    Person360Out,
    PersonIn,
    PersonOut,
    ReviewOut,
    ReviewPage,
    UnmaskIn,
    UnmaskOut,
)
from phis.core.people.selectors import person_search
from phis.core.people.services import (
    PersonInput,
    person_create,
    person_unmask,
    person_update,
    person_view,
)

router = Router(tags=["C1 persons 人员"])

# The MPI's literal paths (/mpi/..., /merges/...) are registered before the person paths.


def person_out(p) -> dict:
    return {"id": p.pk, "name": p.name, "sex": p.sex, "birth_date": p.birth_date,
            "id_masked": p.id_masked, "phone_masked": p.phone_masked,
            "address_unit_code": p.address_unit.code if p.address_unit_id else None,
            "address_unit_name": p.address_unit.name if p.address_unit_id else None,
            "status": p.status}


def _user_name(user) -> str | None:
    return user.username if user is not None else None


def review_out(r) -> dict:
    link, rec = r.link, r.link.record or {}
    cand = r.candidate
    return {
        "id": r.pk, "state": r.state, "probability": r.probability, "weight": r.weight,
        "created_at": r.created_at, "source": link.source, "source_key": link.source_key,
        "org_unit_code": r.org_unit.code,
        "record": {"person_id": link.person_id, "name": rec.get("name", ""),
                   "sex": int(rec.get("sex") or 0), "birth_date": rec.get("birth_date", ""),
                   "id_masked": rec.get("id_masked", ""),
                   "phone_masked": rec.get("phone_masked", ""),
                   "address_unit_name": rec.get("address_unit_name", "")},
        "candidate": {"person_id": cand.pk, "name": cand.name, "sex": cand.sex,
                      "birth_date": cand.birth_date.isoformat() if cand.birth_date else "",
                      "id_masked": cand.id_masked, "phone_masked": cand.phone_masked,
                      "address_unit_name": cand.address_unit.name if cand.address_unit_id
                      else ""},
        "comparison": r.comparison, "decided_by": _user_name(r.decided_by),
        "decided_at": r.decided_at, "reason": r.reason,
    }


def merge_out(m) -> dict:
    return {"id": m.pk, "survivor_id": m.survivor_id, "merged_id": m.merged_id,
            "reason": m.reason, "merged_by": _user_name(m.merged_by), "merged_at": m.merged_at,
            "unmerged_by": _user_name(m.unmerged_by), "unmerged_at": m.unmerged_at,
            "unmerge_reason": m.unmerge_reason}


@router.post("/mpi/intake", response={200: IntakeOut, 201: IntakeOut},
             summary="MPI intake: match a source record to a person (idempotent per source key)")
@requires(MpiPerm.INTAKE_PERSONS)
def mpi_intake_api(request, payload: IntakeIn):
    data = payload.dict()
    source, source_key = data.pop("source"), data.pop("source_key")
    others = [(i["id_type"], i["id_number"]) for i in data.pop("other_identifiers")]
    unit = request.user.org_unit
    facility = unit if unit is not None and unit.level == Level.FACILITY else None
    result = mpi_intake(record=IncomingPerson(**data, other_identifiers=others),
                        source=source, source_key=source_key, facility=facility,
                        by=request.user)
    body = {"person_id": result.person.pk, "outcome": result.outcome,
            "link_id": result.link.pk, "method": result.link.method,
            "probability": result.link.match_probability,
            "review_ids": [r.pk for r in result.reviews], "repeated": result.repeated}
    return Status(200 if result.repeated else 201, body)


class ReviewQuery(Schema):
    state: ReviewState = ReviewState.OPEN
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0)


@router.get("/mpi/reviews", response=ReviewPage,
            summary="Steward review queue (scoped to the steward's subtrees)")
@requires(MpiPerm.REVIEW_MATCHES)
def review_list_api(request, filters: Query[ReviewQuery]):
    qs = review_list(user=request.user, state=filters.state)
    items = list(qs[filters.offset: filters.offset + filters.limit])
    audit_access(object_type="people.matchreview", object_id="", person_id=None,
                 purpose="主索引审核队列 MPI review queue",
                 event=AuditEventType.RECORD_SEARCHED,
                 detail={"state": filters.state, "results": len(items)})
    return {"count": qs.count(), "items": [review_out(r) for r in items]}


@router.get("/mpi/reviews/{review_id}", response=ReviewOut, summary="One review task")
@requires(MpiPerm.REVIEW_MATCHES)
def review_detail_api(request, review_id: int):
    review = review_get_visible(user=request.user, review_id=review_id)
    audit_access(object_type="people.matchreview", object_id=review.pk,
                 person_id=review.candidate_id, purpose="主索引匹配审核 MPI review")
    return review_out(review)


@router.post("/mpi/reviews/{review_id}/accept", response=ReviewOut,
             summary="Same person: merge the record's person into the candidate")
@requires(MpiPerm.REVIEW_MATCHES)
def review_accept_api(request, review_id: int, payload: DecisionIn):
    review = review_accept(user=request.user, review_id=review_id, reason=payload.reason)
    return review_out(review_get_visible(user=request.user, review_id=review.pk))


@router.post("/mpi/reviews/{review_id}/reject", response=ReviewOut,
             summary="Different persons: keep them apart (reason required)")
@requires(MpiPerm.REVIEW_MATCHES)
def review_reject_api(request, review_id: int, payload: DecisionIn):
    review = review_reject(user=request.user, review_id=review_id, reason=payload.reason)
    return review_out(review_get_visible(user=request.user, review_id=review.pk))


@router.post("/merges/{merge_id}/unmerge", response=MergeOut,
             summary="Undo a merge exactly (reason required)")
@requires(MpiPerm.REVIEW_MATCHES)
def unmerge_api(request, merge_id: int, payload: DecisionIn):
    return merge_out(person_unmerge(user=request.user, merge_id=merge_id,
                                    reason=payload.reason))


@router.post("/{person_id}/merge", response={201: MergeOut},
             summary="Merge another person into this one (reason required)")
@requires(MpiPerm.REVIEW_MATCHES)
def merge_api(request, person_id: int, payload: MergeIn):
    return Status(201, merge_out(person_merge(user=request.user, survivor_id=person_id,
                                              merged_id=payload.merged_id,
                                              reason=payload.reason)))


@router.get("/{person_id}/360", response=Person360Out,
            summary="Patient 360: identities, links and timeline (access-audited)")
@requires(CorePerm.VIEW_PERSONS)
def person_360_api(request, person_id: int, purpose: str = "API患者360 API patient 360"):
    view = person_360(user=request.user, person_id=person_id, purpose=purpose)
    person = view["person"]
    return {
        "person": person_out(person),
        "merged_into_id": person.merged_into_id,
        "merged_persons": [person_out(p) for p in view["merged_persons"]],
        "identifiers": [{"person_id": i.person_id, "id_type": i.id_type,
                         "id_type_label": str(IdType(i.id_type).label)
                         if i.id_type in IdType.values else i.id_type,
                         "number_masked": i.number_masked, "is_primary": i.is_primary,
                         "source": i.source, "created_at": i.created_at}
                        for i in view["identifiers"]],
        "links": [{"id": link.pk, "person_id": link.person_id, "source": link.source,
                   "source_key": link.source_key, "method": link.method,
                   "outcome": link.outcome, "probability": link.match_probability,
                   "weight": link.match_weight,
                   "facility_code": link.facility.code if link.facility_id else None,
                   "created_at": link.created_at} for link in view["links"]],
        "merges": [merge_out(m) for m in view["merges"]],
        "timeline": [asdict(e) for e in view["timeline"]],
        "timeline_failed": view["timeline_failed"],
    }


@router.get("/{person_id}/fhir", summary="FHIR R4 Bundle of the person (masked unless a "
            "role that may unmask gives a reason)")
@requires(CorePerm.VIEW_PERSONS)
def person_fhir_api(request, person_id: int, reason: str = ""):
    bundle = person_fhir_bundle(user=request.user, person_id=person_id, reason=reason,
                                base_url=request.build_absolute_uri("/fhir/"))
    return JsonResponse(bundle, content_type="application/fhir+json",
                        json_dumps_params={"ensure_ascii": False})


class SearchQuery(Schema):
    id_number: str = ""
    id_type: str = "01"
    name: str = ""
    phone: str = ""
    limit: int = 50


@router.get("", response=list[PersonOut], summary="Search persons (scoped)")
@requires(CorePerm.VIEW_PERSONS)
def person_search_api(request, filters: Query[SearchQuery]):
    limit = max(1, min(filters.limit, 200))
    if not (filters.id_number or filters.name or filters.phone):
        return []
    people = list(person_search(user=request.user, id_number=filters.id_number,
                                id_type=filters.id_type, name=filters.name,
                                phone=filters.phone, limit=limit))
    audit_access(object_type="people.person", object_id="", person_id=None,
                 purpose="人员检索 person search", event=AuditEventType.RECORD_SEARCHED,
                 detail={"name": filters.name, "id_number": bool(filters.id_number),
                         "phone": bool(filters.phone), "results": len(people)})
    return [person_out(p) for p in people]


@router.get("/{person_id}", response=PersonOut, summary="One person (access-audited)")
@requires(CorePerm.VIEW_PERSONS)
def person_detail_api(request, person_id: int, purpose: str = "API查看 API read"):
    return person_out(person_view(user=request.user, person_id=person_id, purpose=purpose))


@router.post("", response={201: PersonOut}, summary="Register a person")
@requires(CorePerm.EDIT_PERSONS)
def person_create_api(request, payload: PersonIn):
    person = person_create(data=PersonInput(**payload.dict()), created_by=request.user,
                           facility=request.user.org_unit, source="api")
    return Status(201, person_out(person))


@router.put("/{person_id}", response=PersonOut, summary="Update a person")
@requires(CorePerm.EDIT_PERSONS)
def person_update_api(request, person_id: int, payload: PersonIn):
    return person_out(person_update(user=request.user, person_id=person_id,
                                    data=PersonInput(**payload.dict())))


@router.post("/{person_id}/unmask", response=UnmaskOut,
             summary="Reveal full identifiers (needs the permission and a reason; audited)")
@requires(CorePerm.UNMASK_IDENTIFIERS)
def person_unmask_api(request, person_id: int, payload: UnmaskIn):
    return person_unmask(user=request.user, person_id=person_id, reason=payload.reason)
