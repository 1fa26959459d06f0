"""The one scoping helper every selector uses (ARCHITECTURE.md §3, STYLE.md §7.9).

A user sees the subtrees of the org units they are bound to. Nothing else in the code base
filters by org unit on its own: selectors call ``scope_q`` / ``scope_queryset`` with the
lookup that leads from their model to an ``OrgUnit``.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

if TYPE_CHECKING:
    from phis.core.accounts.models import User


def user_scope_paths(user: User) -> list[str]:
    """Materialized paths of the subtrees the user may see; empty for anonymous users."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_phis_scope_paths", None)
    if cached is not None:
        return cached
    paths = []
    if user.org_unit_id:
        paths.append(user.org_unit.path)
    paths.extend(user.extra_org_units.values_list("path", flat=True))
    # A path inside another path adds nothing; keep the outermost ones.
    paths = sorted(set(paths))
    outer = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    user._phis_scope_paths = outer
    return outer


def scope_q(user: User, *lookups: str) -> Q:
    """Q matching rows whose org unit (reached through any of ``lookups``, e.g.
    ``"org_unit"`` or ``"reporting_unit"``) lies in the user's subtrees. Matches nothing
    for a user without org units."""
    paths = user_scope_paths(user)
    if not paths or not lookups:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{lk}__path__startswith": p}) for lk in lookups for p in paths))


def scope_queryset(queryset: QuerySet, user: User, *lookups: str) -> QuerySet:
    """``queryset`` limited to the user's subtrees; ``distinct()`` when a lookup crosses a
    to-many relation."""
    query = queryset.filter(scope_q(user, *lookups))
    if any("__" in lk for lk in lookups):
        query = query.distinct()
    return query


def unit_in_scope(user: User, unit_path: str) -> bool:
    return any(unit_path.startswith(p) for p in user_scope_paths(user))
