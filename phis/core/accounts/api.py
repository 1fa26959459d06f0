"""User administration API for system administrators (scoped to their subtrees)."""

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from phis.core.accounts.permissions import CorePerm
from phis.core.accounts.selectors import user_get, user_list
from phis.core.accounts.services import user_admin_create, user_admin_update, user_unlock
from phis.core.api import requires

router = Router(tags=["C1 accounts 账号"])


class UserOut(Schema):
    username: str
    full_name: str
    role: str
    org_code: str
    jurisdiction_codes: list[str]
    is_active: bool
    second_factor: bool


def _out(u) -> dict:
    return {"username": u.username, "full_name": u.full_name, "role": u.role,
            "org_code": u.org_unit.code if u.org_unit_id else "",
            "jurisdiction_codes": sorted(x.code for x in u.extra_org_units.all()),
            "is_active": u.is_active, "second_factor": u.totp_confirmed_at is not None}


class UserFilter(Schema):
    role: str = ""
    org_code: str = ""
    q: str = ""
    limit: int = Field(100, ge=1, le=500)


class UserCreateIn(Schema):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=3, max_length=150, pattern=r"^[A-Za-z0-9_.@+-]+$")
    password: str = Field(min_length=1, max_length=128)
    role: str
    org_code: str = Field(max_length=32)
    full_name: str = Field("", max_length=64)
    email: str = Field("", max_length=254)
    mobile: str = Field("", max_length=20)
    jurisdiction_codes: list[str] = Field(default_factory=list, max_length=20)


class UserUpdateIn(Schema):
    model_config = ConfigDict(extra="forbid")
    role: str | None = None
    org_code: str | None = Field(None, max_length=32)
    jurisdiction_codes: list[str] | None = Field(None, max_length=20)
    is_active: bool | None = None


@router.get("/users", response=list[UserOut], summary="Users in my subtrees")
@requires(CorePerm.MANAGE_USERS)
def user_list_api(request, filters: Query[UserFilter]):
    users = user_list(fetched_by=request.user, role=filters.role, org_code=filters.org_code,
                      text=filters.q).prefetch_related("extra_org_units")[:filters.limit]
    return [_out(u) for u in users]


@router.post("/users", response={201: UserOut}, summary="Create a user (audited)")
@requires(CorePerm.MANAGE_USERS)
def user_create_api(request, payload: UserCreateIn):
    user = user_admin_create(by=request.user, username=payload.username,
                             password=payload.password, role=payload.role,
                             org_code=payload.org_code, full_name=payload.full_name,
                             email=payload.email, mobile=payload.mobile,
                             jurisdiction_codes=tuple(payload.jurisdiction_codes))
    return Status(201, _out(user))


@router.patch("/users/{username}", response=UserOut, summary="Change role, units, active")
@requires(CorePerm.MANAGE_USERS)
def user_update_api(request, username: str, payload: UserUpdateIn):
    user = user_admin_update(by=request.user, user=user_get(fetched_by=request.user,
                                                            username=username),
                             role=payload.role, org_code=payload.org_code,
                             jurisdiction_codes=None if payload.jurisdiction_codes is None
                             else tuple(payload.jurisdiction_codes),
                             is_active=payload.is_active)
    return _out(user)


@router.post("/users/{username}/unlock", response={204: None},
             summary="Lift a log-in lockout (audited)")
@requires(CorePerm.UNLOCK_USERS)
def user_unlock_api(request, username: str):
    user_unlock(by=request.user, username=user_get(fetched_by=request.user,
                                                   username=username).username)
    return Status(204, None)
