"""Reads of user accounts: an administrator sees the users of their own subtrees."""

from __future__ import annotations

from django.db.models import QuerySet

from phis.core.accounts.models import User
from phis.core.exceptions import NotFound
from phis.core.orgunits.scoping import scope_q


def user_list(*, fetched_by: User, role: str = "", org_code: str = "",
              text: str = "") -> QuerySet[User]:
    qs = User.objects.filter(scope_q(fetched_by, "org_unit")).select_related("org_unit")
    if role:
        qs = qs.filter(role=role)
    if org_code:
        qs = qs.filter(org_unit__code=org_code)
    if text:
        qs = qs.filter(username__icontains=text) | qs.filter(full_name__icontains=text)
    return qs.order_by("username")


def user_get(*, fetched_by: User, username: str) -> User:
    user = user_list(fetched_by=fetched_by).filter(username=username).first()
    if user is None:
        raise NotFound("用户", "user")
    return user
