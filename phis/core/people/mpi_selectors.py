"""Reads of the MPI: review tasks (scoped to the steward's subtrees), a person's links and
merges, and the blocking queries that find candidate persons for an incoming record.

``mpi_blocking_candidates`` is the one unscoped read: matching must see every person of the
county whoever sends the record; its results never leave the MPI services except as masked
review tasks for the stewards of that county.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from phis.core.exceptions import NotFound
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import scope_q
from phis.core.people.models import Person, PersonIdentifier, PersonStatus
from phis.core.people.mpi_models import MatchReview, PersonLink, PersonMerge, ReviewState
from phis.core.people.selectors import person_get_visible, person_visible_for

# --- persons and their clusters -------------------------------------------------------------

def person_cluster_ids(*, user, person_id: int) -> list[int]:
    """The person (visible to ``user``, NotFound otherwise) and every person merged into it,
    directly or through earlier merges."""
    person = person_get_visible(user=user, person_id=person_id)
    return person_merged_ids(person_id=person.pk)


def person_merged_ids(*, person_id: int) -> list[int]:
    ids = [person_id]
    frontier = [person_id]
    while frontier:
        frontier = [pk for pk in Person.objects.filter(merged_into_id__in=frontier)
                    .values_list("pk", flat=True) if pk not in ids]
        ids.extend(frontier)
    return ids


def person_active_root(*, person: Person) -> Person:
    """Follow ``merged_into`` to the person that holds the records now."""
    seen = {person.pk}
    while person.status == PersonStatus.MERGED and person.merged_into_id:
        if person.merged_into_id in seen:  # a cycle would be a bug; stop rather than loop
            break
        seen.add(person.merged_into_id)
        person = Person.objects.select_related("address_unit").get(pk=person.merged_into_id)
    return person


def person_links_for(*, person_ids: list[int]) -> QuerySet[PersonLink]:
    return (PersonLink.objects.filter(person_id__in=person_ids)
            .select_related("facility").order_by("-created_at", "-pk"))


def person_merges_for(*, person_ids: list[int]) -> QuerySet[PersonMerge]:
    return (PersonMerge.objects.filter(Q(survivor_id__in=person_ids) | Q(merged_id__in=person_ids))
            .select_related("survivor", "merged", "merged_by", "unmerged_by")
            .order_by("-merged_at", "-pk"))


def person_identifiers_for(*, person_ids: list[int]) -> QuerySet[PersonIdentifier]:
    return PersonIdentifier.objects.filter(person_id__in=person_ids).order_by("created_at", "pk")


def persons_visible_ids(*, user, person_ids: list[int]) -> list[int]:
    return list(person_visible_for(user=user).filter(pk__in=person_ids)
                .values_list("pk", flat=True))


# --- review queue ---------------------------------------------------------------------------

def review_visible_for(*, user) -> QuerySet[MatchReview]:
    return MatchReview.objects.filter(scope_q(user, "org_unit"))


def review_list(*, user, state: str = ReviewState.OPEN) -> QuerySet[MatchReview]:
    qs = review_visible_for(user=user)
    if state:
        qs = qs.filter(state=state)
    return (qs.select_related("link", "link__person", "link__facility", "candidate",
                              "candidate__address_unit", "org_unit", "decided_by")
            .order_by("-probability", "created_at", "pk") if state == ReviewState.OPEN
            else qs.select_related("link", "link__person", "candidate", "org_unit",
                                   "decided_by").order_by("-updated_at", "-pk"))


def review_get_visible(*, user, review_id: int, for_update: bool = False) -> MatchReview:
    qs = review_visible_for(user=user)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    review = qs.select_related("link", "link__person", "link__person__address_unit",
                               "link__facility", "candidate", "candidate__address_unit",
                               "org_unit", "decided_by").filter(pk=review_id).first()
    if review is None:
        raise NotFound("审核任务", "review task")
    return review


def reviews_open_for(*, person_ids: list[int]) -> QuerySet[MatchReview]:
    return MatchReview.objects.filter(
        Q(candidate_id__in=person_ids) | Q(link__person_id__in=person_ids),
        state=ReviewState.OPEN)


# --- blocking -------------------------------------------------------------------------------

def county_of(unit: OrgUnit | None) -> OrgUnit | None:
    """The county (区/县) above or at ``unit``, through its materialized path."""
    if unit is None:
        return None
    if unit.level == Level.COUNTY:
        return unit
    codes = [c for c in unit.path.strip("/").split("/") if c]
    return OrgUnit.objects.filter(code__in=codes, level=Level.COUNTY).first()


def mpi_blocking_candidates(*, name_pinyin: str, surname: str, birth_dates: list[date],
                            phone_index: str, county: OrgUnit | None, limit: int
                            ) -> list[Person]:
    """Active persons sharing a blocking key with the incoming record: the same pinyin name
    (homophones), or the same birth date (day/month swaps included) with the same surname
    character or pinyin initial syllable, both within the county when one is known; or the
    same phone anywhere in the city. At most ``limit`` persons, nearest keys first."""
    base = Person.objects.exclude(status=PersonStatus.MERGED)
    local = base
    if county is not None:
        local = base.filter(Q(address_unit__path__startswith=county.path)
                            | Q(facility_links__org_unit__path__startswith=county.path))
    found: dict[int, Person] = {}

    def take(qs) -> None:
        for p in qs.select_related("address_unit").prefetch_related("identifiers")[
                : max(limit - len(found), 0)]:
            found.setdefault(p.pk, p)

    if phone_index:
        take(base.filter(phone_index=phone_index).order_by("pk"))
    if name_pinyin:
        take(local.filter(name_pinyin=name_pinyin).order_by("pk").distinct())
    if birth_dates:
        same_birth = local.filter(birth_date__in=birth_dates)
        if surname:
            same_birth = same_birth.filter(Q(name__startswith=surname)
                                           | Q(name_pinyin__startswith=name_pinyin[:1]))
        take(same_birth.order_by("pk").distinct())
    return list(found.values())
