"""Person registry API: search, detail (access-audited), create, update, unmask."""


from ninja import Query, Router, Schema, Status

from phis.core.accounts.permissions import CorePerm
from phis.core.api import requires
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.people.schemas import PersonIn, PersonOut, UnmaskIn, UnmaskOut
from phis.core.people.selectors import person_search
from phis.core.people.services import (
    PersonInput,
    person_create,
    person_unmask,
    person_update,
    person_view,
)

router = Router(tags=["C1 persons 人员"])


def person_out(p) -> dict:
    return {"id": p.pk, "name": p.name, "sex": p.sex, "birth_date": p.birth_date,
            "id_masked": p.id_masked, "phone_masked": p.phone_masked,
            "address_unit_code": p.address_unit.code if p.address_unit_id else None,
            "address_unit_name": p.address_unit.name if p.address_unit_id else None,
            "status": p.status}


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
