"""/api/codes/: the code systems for form autocompletes and look-ups."""

from ninja import Query, Router, Schema
from pydantic import Field

from phis.core.accounts.permissions import CorePerm
from phis.core.api import handles_nul, requires
from phis.core.codes.schemas import CodeSystemOut, ConceptDetailOut, ConceptOut
from phis.core.codes.selectors import (
    MAX_LIMIT,
    code_system_list,
    concept_ancestors,
    concept_children,
    concept_get,
    concept_search,
)

router = Router(tags=["C1 code systems 代码体系"])


class ConceptQuery(Schema):
    q: str = Field("", max_length=100, description="code prefix, Chinese, English or pinyin "
                                                    "initials; empty lists the top level")
    limit: int = Field(20, ge=1, le=MAX_LIMIT)
    parent: str | None = Field(None, max_length=64, description="only children of this code")
    include_inactive: bool = False


def _display(c) -> str:
    return c.display_zh or c.display_en


def _out(system: str, c) -> dict:
    return {"system": system, "code": c.code, "display": _display(c),
            "display_zh": c.display_zh, "display_en": c.display_en,
            "parent_code": c.parent_code, "kind": c.kind, "active": c.active,
            "properties": c.properties}


@router.get("/systems", response=list[CodeSystemOut], summary="Code systems and versions")
@requires(CorePerm.VIEW_CODES)
def code_system_list_api(request):
    return list(code_system_list())


@router.get("/{system}/concepts", response=list[ConceptOut],
            summary="Search concepts (autocomplete)")
@handles_nul  # selectors._clean() strips NUL from system, q, parent and code
@requires(CorePerm.VIEW_CODES)
def concept_search_api(request, system: str, filters: Query[ConceptQuery]):
    found = concept_search(system=system, text=filters.q, limit=filters.limit,
                           parent=filters.parent, include_inactive=filters.include_inactive)
    return [_out(system, c) for c in found]


@router.get("/{system}/concepts/{code}", response=ConceptDetailOut, summary="One concept")
@handles_nul  # selectors._clean() strips NUL from system, q, parent and code
@requires(CorePerm.VIEW_CODES)
def concept_detail_api(request, system: str, code: str):
    concept = concept_get(system=system, code=code)
    return {**_out(system, concept),
            "ancestors": [{"code": a.code, "display": _display(a)}
                          for a in concept_ancestors(concept=concept)],
            "children": [{"code": c.code, "display": _display(c)}
                         for c in concept_children(concept=concept)]}
