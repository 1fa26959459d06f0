from datetime import datetime

from ninja import Query, Router, Schema

from phis.core.accounts.permissions import CorePerm
from phis.core.api import requires
from phis.core.audit.selectors import audit_chain_verify, audit_search

router = Router(tags=["C1 audit 审计"])


class AuditRowOut(Schema):
    id: int
    occurred_at: datetime
    event_type: int
    category: str
    actor_username: str
    actor_org_code: str
    ip_address: str
    channel: str
    object_type: str
    object_id: str
    person_id: int | None
    purpose: str
    outcome: str
    detail: dict


class AuditFilter(Schema):
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    person_id: int | None = None
    category: str = ""
    event_type: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    before_id: int | None = None


class ChainOut(Schema):
    ok: bool
    rows_checked: int
    first_bad_id: int | None
    problem: str


@router.get("/log", response=list[AuditRowOut], summary="Search the audit log (auditors)")
@requires(CorePerm.VIEW_AUDIT)
def audit_search_api(request, filters: Query[AuditFilter]):
    data = filters.dict()
    limit = max(1, min(data.pop("limit"), 500))
    before_id = data.pop("before_id")
    qs = audit_search(**data)
    if before_id:
        qs = qs.filter(id__lt=before_id)
    return list(qs[:limit])


@router.post("/verify", response=ChainOut, summary="Verify the hash chain")
@requires(CorePerm.VERIFY_AUDIT)
def audit_verify_api(request):
    return audit_chain_verify().__dict__
