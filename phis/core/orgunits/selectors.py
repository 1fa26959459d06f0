"""Reads of the org tree. The tree itself is public inside the platform (names, codes,
positions); only the subtree browser is limited to what the user can act on."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from phis.core.exceptions import NotFound
from phis.core.orgunits.models import Level, OrgUnit


def orgunit_get(*, code: str) -> OrgUnit:
    unit = OrgUnit.objects.filter(code=code).select_related("parent").first()
    if unit is None:
        raise NotFound("机构/区划", "org unit")
    return unit


def orgunit_children(*, parent: OrgUnit | None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(parent=parent) if parent else OrgUnit.objects.filter(
        parent__isnull=True)
    return qs.annotate(child_count=Count("children")).order_by("level", "code")


def orgunit_subtree(*, root: OrgUnit, level: int | None = None,
                    facility_type: str | None = None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(path__startswith=root.path)
    if level is not None:
        qs = qs.filter(level=level)
    if facility_type:
        qs = qs.filter(facility_type=facility_type)
    return qs


def orgunit_search(*, text: str, within: OrgUnit | None = None, limit: int = 50
                   ) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(Q(name__icontains=text) | Q(code__startswith=text)
                                | Q(name_en__icontains=text))
    if within is not None:
        qs = qs.filter(path__startswith=within.path)
    return qs.order_by("level", "code")[:limit]


def orgunit_ancestors(*, unit: OrgUnit) -> list[OrgUnit]:
    codes = [c for c in unit.path.split("/") if c]
    by_code = {u.code: u for u in OrgUnit.objects.filter(code__in=codes)}
    return [by_code[c] for c in codes if c in by_code]


def counties() -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(level=Level.COUNTY).order_by("code")


def townships(*, county: OrgUnit | None = None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(level=Level.TOWNSHIP)
    if county is not None:
        qs = qs.filter(path__startswith=county.path)
    return qs.order_by("code")
