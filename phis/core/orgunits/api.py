from ninja import Router, Schema

from phis.core.accounts.permissions import CorePerm
from phis.core.api import requires
from phis.core.orgunits.selectors import (
    orgunit_ancestors,
    orgunit_children,
    orgunit_get,
    orgunit_search,
)

router = Router(tags=["C1 org units 机构与区划"])


class OrgUnitOut(Schema):
    code: str
    name: str
    name_en: str
    level: int
    facility_type: str
    parent_code: str | None
    path: str
    latitude: float | None
    longitude: float | None
    position_approximate: bool
    population: int | None


def _out(u) -> dict:
    return {"code": u.code, "name": u.name, "name_en": u.name_en, "level": u.level,
            "facility_type": u.facility_type, "parent_code": u.parent.code if u.parent_id
            else None, "path": u.path, "latitude": u.latitude, "longitude": u.longitude,
            "position_approximate": u.position_approximate, "population": u.population}


@router.get("", response=list[OrgUnitOut], summary="Roots, or search by name/code")
@requires(CorePerm.VIEW_ORGUNITS)
def orgunit_list_api(request, q: str = "", within: str = ""):
    if q:
        root = orgunit_get(code=within) if within else None
        return [_out(u) for u in orgunit_search(text=q, within=root)]
    return [_out(u) for u in orgunit_children(parent=None).select_related("parent")]


@router.get("/{code}", response=OrgUnitOut)
@requires(CorePerm.VIEW_ORGUNITS)
def orgunit_detail_api(request, code: str):
    return _out(orgunit_get(code=code))


@router.get("/{code}/children", response=list[OrgUnitOut])
@requires(CorePerm.VIEW_ORGUNITS)
def orgunit_children_api(request, code: str):
    return [_out(u) for u in orgunit_children(parent=orgunit_get(code=code))
            .select_related("parent")]


@router.get("/{code}/ancestors", response=list[OrgUnitOut])
@requires(CorePerm.VIEW_ORGUNITS)
def orgunit_ancestors_api(request, code: str):
    return [_out(u) for u in orgunit_ancestors(unit=orgunit_get(code=code))]
