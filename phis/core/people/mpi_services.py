"""Master patient index: intake of every incoming person record, the stewards' decisions on
uncertain matches, merge and unmerge (issue 3 §3; docs/modules/mpi.md).

Every module that receives a person from outside (a report card, a lab result, an EMR
document, a student list ...) calls :func:`mpi_intake` with the record and the source's own
key, and links its record to ``result.person``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from phis.core.audit.services import audit_access, audit_record
from phis.core.audit.types import AuditEventType
from phis.core.crypto.fields import decrypt_text
from phis.core.crypto.masking import mask_id_number, mask_phone
from phis.core.events.services import event_emit
from phis.core.exceptions import (
    ApplicationError,
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.people.identifiers import name_pinyin, phone_index
from phis.core.people.models import (
    IdType,
    Person,
    PersonFacility,
    PersonIdentifier,
    PersonStatus,
    Sex,
)
from phis.core.people.mpi_engine import (
    COARSE_ADDRESS,
    Score,
    engine_config,
    score_candidates,
)
from phis.core.people.mpi_models import (
    LinkMethod,
    MatchReview,
    PersonLink,
    PersonMerge,
    ReviewState,
)
from phis.core.people.mpi_rules import (
    AUTO_LINK_MIN_AGREEING_FIELDS,
    EVIDENCE_FIELDS,
    MAX_REVIEWS_PER_RECORD,
    MIN_REASON_LENGTH,
    MpiPerm,
)
from phis.core.people.mpi_selectors import (
    county_of,
    mpi_blocking_candidates,
    person_active_root,
    person_identifiers_for,
    person_links_for,
    person_merged_ids,
    person_merges_for,
    review_get_visible,
    reviews_open_for,
)
from phis.core.people.selectors import person_get_visible
from phis.core.people.services import (
    PersonInput,
    _validate,
    identifier_add,
    person_create,
    person_link_facility,
)

MERGED_TOPIC = "people.person.merged"
UNMERGED_TOPIC = "people.person.unmerged"
LINKED_TOPIC = "people.person.linked"
MATCHED, CREATED, REVIEW = "matched", "created", "review"


@dataclass
class IncomingPerson:
    """A person record as a source system sends it. ``other_identifiers``: further
    (document type, number) pairs the source knows."""

    name: str
    sex: int = Sex.UNKNOWN
    birth_date: date | None = None
    id_type: str = IdType.RESIDENT_ID
    id_number: str = ""
    phone: str = ""
    address_unit_code: str = ""
    address_text: str = ""
    ethnicity: str = ""
    nationality: str = "CHN"
    other_identifiers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class MpiResult:
    person: Person
    outcome: str                       # matched | created | review
    link: PersonLink
    reviews: tuple[MatchReview, ...] = ()
    repeated: bool = False             # the (source, source_key) was seen before


def _setting(name: str, default):
    return (getattr(settings, "PHIS_MPI", {}) or {}).get(name, default)


# --- intake ---------------------------------------------------------------------------------

def _check_source(source: str, source_key: str) -> tuple[str, str]:
    source, source_key = (source or "").strip(), (source_key or "").strip()
    errors = []
    if not source:
        errors.append(FieldError("source", "required", "请填写来源系统", "The source is required"))
    elif len(source) > 64:
        errors.append(FieldError("source", "too_long", "来源系统名称过长（最多64字符）",
                                 "The source is too long (64 characters at most)"))
    if not source_key:
        errors.append(FieldError("source_key", "required", "请填写来源记录号",
                                 "The source record key is required"))
    elif len(source_key) > 128:
        errors.append(FieldError("source_key", "too_long", "来源记录号过长（最多128字符）",
                                 "The source record key is too long (128 characters at most)"))
    if errors:
        raise ValidationFailed(errors)
    return source, source_key


@dataclass
class _Checked:
    data: PersonInput           # what a new person is created from
    ident: object               # NormalisedId of the main document, or None
    raw_id: str                 # the main document number as sent (for typo matching)
    phone: str
    unit: OrgUnit | None
    notes: list[str]            # soft problems kept on the link (invalid ID, conflicts)
    extra: list                 # further NormalisedIds


def _check_record(record: IncomingPerson) -> _Checked:
    """Hard errors (no name, bad sex code, impossible date, bad phone, unknown address code)
    refuse the record; a document number that fails its check is kept for matching only
    (sources do send typos), and a birth date or sex that contradicts a valid resident ID
    yields to the ID."""
    from phis.core.people.identifiers import normalise_identifier

    data = PersonInput(name=record.name or "", sex=record.sex, birth_date=record.birth_date,
                       id_type=record.id_type or IdType.RESIDENT_ID,
                       id_number=record.id_number or "", phone=record.phone or "",
                       address_unit_code=record.address_unit_code or "",
                       address_text=(record.address_text or "")[:200],
                       ethnicity=record.ethnicity or "", nationality=record.nationality or "CHN")
    errors, ident, phone, unit = _validate(data)
    notes: list[str] = []
    hard = []
    for e in errors:
        if e.field == "id_number" and e.code != "required":
            notes.append(f"id_invalid:{e.code}")
        elif e.code == "mismatch_id":
            notes.append(f"{e.field}_differs_from_id")
        elif e.field == "id_type" and not (record.id_number or "").strip():
            continue
        else:
            hard.append(e)
    extra = []
    for k, pair in enumerate(record.other_identifiers or []):
        try:
            id_type, number = pair
        except (TypeError, ValueError):
            hard.append(FieldError(f"other_identifiers.{k}", "invalid",
                                   "证件应为（类型, 号码）", "Expected (type, number)"))
            continue
        result = normalise_identifier(str(id_type), str(number),
                                      field=f"other_identifiers.{k}")
        if isinstance(result, FieldError):
            if result.field == "id_type":
                result = FieldError(f"other_identifiers.{k}", result.code, result.message,
                                    result.message_en)
            hard.append(result)
        else:
            extra.append(result)
    if hard:
        raise ValidationFailed(hard)
    raw_id = (record.id_number or "").strip().upper()
    if ident is None:
        data.id_number = ""  # kept for matching only
    else:
        if "birth_date_differs_from_id" in notes:
            data.birth_date = None
        if "sex_differs_from_id" in notes:
            data.sex = Sex.UNKNOWN
    return _Checked(data, ident, raw_id, phone, unit, notes, extra)


def mpi_intake(*, record: IncomingPerson, source: str, source_key: str,
               facility: OrgUnit | None = None, by=None) -> MpiResult:
    """Match one incoming record to the registry and keep its link (docs/modules/mpi.md).

    A valid resident ID already registered is a sure match; otherwise candidates found by
    blocking queries are scored by the linkage engine: above the match threshold (with
    enough agreeing evidence) the record is linked automatically; between the thresholds a
    new person is created and review tasks go to the stewards; below, a new person. The same
    ``(source, source_key)`` again returns the same person."""
    source, source_key = _check_source(source, source_key)
    existing = PersonLink.objects.filter(source=source, source_key=source_key).first()
    if existing is not None:
        return _repeat(existing, record)
    checked = _check_record(record)
    try:
        with transaction.atomic():
            return _intake(checked, record, source, source_key, facility, by)
    except IntegrityError:
        # The same source record arrived twice at once: the other request's link wins.
        existing = PersonLink.objects.filter(source=source, source_key=source_key).first()
        if existing is None:
            raise
        return _repeat(existing, record)


def _repeat(link: PersonLink, record: IncomingPerson) -> MpiResult:
    person = person_active_root(person=link.person)
    open_reviews = tuple(MatchReview.objects.filter(link=link, state=ReviewState.OPEN))
    outcome = REVIEW if open_reviews else (CREATED if link.outcome == CREATED else MATCHED)
    return MpiResult(person=person, outcome=outcome, link=link, reviews=open_reviews,
                     repeated=True)


def _intake(c: _Checked, record: IncomingPerson, source: str, source_key: str,
            facility: OrgUnit | None, by) -> MpiResult:
    cfg = engine_config()
    person, method, best = _exact_match(c), LinkMethod.IDENTIFIER, None
    reviewable: list[Score] = []
    if person is None:
        scores = _score(c, facility, cfg)
        best = scores[0] if scores else None
        if best is not None and best.probability >= cfg.match_threshold \
                and not best.conflicting_ids and _agreeing(best) >= _min_agreeing():
            person = Person.objects.get(pk=int(best.key))
            method = LinkMethod.PROBABILISTIC
        else:
            reviewable = [s for s in scores if s.probability >= cfg.possible_threshold
                          ][:MAX_REVIEWS_PER_RECORD]
    if person is not None:
        outcome = MATCHED
    else:
        if c.ident is not None and PersonIdentifier.objects.filter(
                id_type=c.ident.id_type, number_index=c.ident.index,
                person__status=PersonStatus.ACTIVE).exists():
            # another person's passport-like number with a different name: kept on the
            # new person below as a further identifier, not refused as a duplicate
            c.data.id_number = ""
        person = person_create(data=c.data, created_by=by, facility=facility, source=source)
        method, outcome = LinkMethod.NEW_PERSON, (REVIEW if reviewable else CREATED)
    link = PersonLink.objects.create(
        source=source, source_key=source_key, person=person, original_person=person,
        facility=facility, method=method, outcome=outcome,
        match_probability=1.0 if method == LinkMethod.IDENTIFIER else
        (best.probability if best is not None and method == LinkMethod.PROBABILISTIC else None),
        match_weight=best.weight if best is not None and method == LinkMethod.PROBABILISTIC
        else None,
        record=_snapshot(c), created_by=by)
    _keep_identifiers(person, c, source)
    if facility is not None:
        person_link_facility(person=person, facility=facility)
    reviews = tuple(_open_review(link, s, c, facility, by) for s in reviewable)
    audit_record(event=AuditEventType.RECORD_CREATED, object_type="people.personlink",
                 object_id=link.pk, person_id=person.pk,
                 detail={"source": source, "source_key": source_key, "method": method,
                         "outcome": outcome, "probability": link.match_probability,
                         "reviews": [r.pk for r in reviews], "notes": c.notes})
    event_emit(topic=LINKED_TOPIC, aggregate_type="people.person", aggregate_id=person.pk,
               payload={"person_id": person.pk, "source": source, "source_key": source_key,
                        "outcome": outcome, "link_id": link.pk})
    return MpiResult(person=person, outcome=outcome, link=link, reviews=reviews)


def _min_agreeing() -> int:
    return int(_setting("AUTO_LINK_MIN_AGREEING_FIELDS", AUTO_LINK_MIN_AGREEING_FIELDS))


def _agreeing(score: Score) -> int:
    # the two strongest levels of every comparator count as agreement
    cfg = engine_config()
    names = {c.field: c.levels[:2] for c in cfg.schema.comparators}
    return sum(1 for f in EVIDENCE_FIELDS if score.levels.get(f) in names.get(f, ()))


def _exact_match(c: _Checked) -> Person | None:
    """A valid resident ID already on a person is a sure match; another document type
    counts only with the same name (pinyin), as such numbers are reused across countries."""
    if c.ident is None:
        return None
    hit = (PersonIdentifier.objects.filter(id_type=c.ident.id_type, number_index=c.ident.index)
           .select_related("person").order_by("pk").first())
    if hit is None:
        return None
    person = person_active_root(person=hit.person)
    if c.ident.id_type != IdType.RESIDENT_ID and \
            person.name_pinyin != name_pinyin(c.data.name.strip()):
        return None
    return person


def _birth_dates(c: _Checked) -> list[date]:
    dates = set()
    for d in (c.data.birth_date, c.ident.birth_date if c.ident else None):
        if isinstance(d, date):
            dates.add(d)
            if d.day <= 12 and d.day != d.month:
                with contextlib.suppress(ValueError):
                    dates.add(d.replace(month=d.day, day=d.month))
    return sorted(dates)


def _score(c: _Checked, facility: OrgUnit | None, cfg) -> list[Score]:
    name = c.data.name.strip()
    county = county_of(c.unit) or county_of(facility)
    persons = mpi_blocking_candidates(
        name_pinyin=name_pinyin(name), surname=name[:1], birth_dates=_birth_dates(c),
        phone_index=phone_index(c.phone) if c.phone else "", county=county,
        limit=cfg.max_candidates)
    if not persons:
        return []
    birth = c.data.birth_date or (c.ident.birth_date if c.ident else None)
    if c.ident is not None:
        id_number = c.ident.number if c.ident.id_type == IdType.RESIDENT_ID else ""
    else:
        id_number = c.raw_id if c.data.id_type == IdType.RESIDENT_ID else ""
    query = {"name": name, "sex": str(c.data.sex or record_sex(c)),
             "birth_date": birth.isoformat() if birth else "", "id_number": id_number,
             "phone": c.phone, "address": _address_text(c.unit, c.data.address_text),
             COARSE_ADDRESS: not (c.data.address_text or "").strip()}
    return score_candidates(query, [(str(p.pk), person_match_record(p)) for p in persons], cfg)


def record_sex(c: _Checked) -> int:
    return c.ident.sex if c.ident and c.ident.sex else 0


_UNIT_NAMES: dict[str, str] = {}


def _address_text(unit: OrgUnit | None, text: str) -> str:
    """County, township and community names with the free text, as the address comparator
    reads Chinese addresses."""
    if unit is None:
        return (text or "").strip()
    codes = [x for x in unit.path.strip("/").split("/") if x]
    missing = [x for x in codes if x not in _UNIT_NAMES]
    if missing:
        for code, level, uname in OrgUnit.objects.filter(code__in=missing).values_list(
                "code", "level", "name"):
            _UNIT_NAMES[code] = uname if level >= Level.COUNTY else ""
    return "".join(_UNIT_NAMES.get(x, "") for x in codes) + (text or "").strip()


def person_match_record(person: Person) -> dict[str, str]:
    """The person as the linkage engine compares it. Identifiers and phone are decrypted
    in memory only, for the comparison."""
    rid = ""
    ids = [i for i in person.identifiers.all() if i.id_type == IdType.RESIDENT_ID]
    ids.sort(key=lambda i: (not i.is_primary, i.pk))
    if ids:
        rid = decrypt_text(ids[0].number_encrypted, purpose=f"person.id.{IdType.RESIDENT_ID}")
    address, text = "", ""
    if person.address_unit_id:
        text = decrypt_text(person.address_text_encrypted, purpose="person.address")
        address = _address_text(person.address_unit, text)
    return {"name": person.name, "sex": str(person.sex),
            "birth_date": person.birth_date.isoformat() if person.birth_date else "",
            "id_number": rid, "phone": decrypt_text(person.phone_encrypted,
                                                    purpose="person.phone"),
            "address": address, COARSE_ADDRESS: not (text or "").strip()}


def _snapshot(c: _Checked) -> dict:
    """Masked facts of the incoming record for the steward pages."""
    birth = c.data.birth_date or (c.ident.birth_date if c.ident else None)
    return {"name": c.data.name.strip(), "sex": int(c.data.sex or record_sex(c)),
            "birth_date": birth.isoformat() if birth else "",
            "id_type": c.data.id_type if (c.ident or c.raw_id) else "",
            "id_masked": c.ident.masked if c.ident else (mask_id_number(c.raw_id)
                                                         if c.raw_id else ""),
            "phone_masked": mask_phone(c.phone) if c.phone else "",
            "address_unit_code": c.unit.code if c.unit else "",
            "address_unit_name": c.unit.name if c.unit else "",
            "notes": c.notes}


def _keep_identifiers(person: Person, c: _Checked, source: str) -> None:
    """Every identifier seen from any source stays on the person, with its source."""
    has_primary = PersonIdentifier.objects.filter(person=person, is_primary=True).exists()
    for n in ([c.ident] if c.ident else []) + list(c.extra):
        identifier_add(person=person, ident_type=n.id_type, number=n.number,
                       primary=not has_primary and n is c.ident, source=source)
        has_primary = True
    if not person.id_masked and c.ident is not None:
        person.id_masked = c.ident.masked
    if person.id_masked != Person.objects.filter(pk=person.pk).values_list(
            "id_masked", flat=True).first():
        person.save(update_fields=["id_masked", "updated_at"])


def _review_unit(c: _Checked, facility: OrgUnit | None, candidate: Person) -> OrgUnit:
    """Where the task is worked: the record's address, else its facility, else the
    candidate's address, else the top of the tree."""
    for unit in (c.unit, facility, candidate.address_unit):
        if unit is not None:
            return unit
    return OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()


def _open_review(link: PersonLink, score: Score, c: _Checked, facility, by) -> MatchReview:
    candidate = Person.objects.select_related("address_unit").get(pk=int(score.key))
    return MatchReview.objects.create(
        link=link, candidate=candidate, probability=score.probability, weight=score.weight,
        comparison={f: {"level": score.levels[f], "weight": score.contributions[f]}
                    for f in score.levels},
        org_unit=_review_unit(c, facility, candidate), created_by=by)


# --- steward decisions ------------------------------------------------------------------------

def _require(user, perm: str = MpiPerm.REVIEW_MATCHES) -> None:
    if not user.has_phis_perm(perm):
        raise PermissionDenied("您的角色不能处理主索引匹配审核",
                               "Your role may not work the MPI review queue")


def _reason(reason: str, *, field_name: str = "reason") -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationFailed([FieldError(field_name, "required", "请填写理由",
                                           "A reason is required")])
    if len(reason) > 500:
        raise ValidationFailed([FieldError(field_name, "too_long", "理由过长（最多500字）",
                                           "The reason is too long (500 characters at most)")])
    return reason


def _decided_conflict(review: MatchReview) -> Conflict:
    who = review.decided_by.username if review.decided_by_id else "—"
    when = timezone.localtime(review.decided_at).strftime("%Y-%m-%d %H:%M") \
        if review.decided_at else "—"
    state_zh = ReviewState(review.state).label
    return Conflict(f"该审核任务已由{who}于{when}处理（{state_zh}），请刷新页面",
                    f"This review task was already decided by {who} at {when} "
                    f"({review.state}); reload the page", code="review_already_decided")


def _review_for_decision(user, review_id: int) -> MatchReview:
    _require(user)
    review_get_visible(user=user, review_id=review_id)  # scope check (404 outside it)
    # The row lock makes concurrent decisions queue; the second sees the first's result.
    # The lock is taken on the bare row and the task read again after it: under READ
    # COMMITTED, joined rows of a locking query may still show the pre-lock values.
    MatchReview.objects.select_for_update().filter(pk=review_id).values_list("pk").first()
    review = review_get_visible(user=user, review_id=review_id)
    if review.state != ReviewState.OPEN:
        raise _decided_conflict(review)
    return review


@transaction.atomic
def review_accept(*, user, review_id: int, reason: str = "") -> MatchReview:
    """Same person: the person created for the record is merged into the candidate."""
    review = _review_for_decision(user, review_id)
    survivor = person_active_root(person=review.candidate)
    merged = person_active_root(person=review.link.person)
    review.state, review.decided_by, review.decided_at = (ReviewState.ACCEPTED, user,
                                                          timezone.now())
    review.reason = (reason or "").strip()[:500]
    review.save(update_fields=["state", "decided_by", "decided_at", "reason", "updated_at"])
    if survivor.pk != merged.pk:
        _merge(user=user, survivor_id=survivor.pk, merged_id=merged.pk,
               reason=review.reason or f"匹配审核#{review.pk}确认为同一人 review accepted",
               review=review)
    audit_record(event=AuditEventType.RECORD_UPDATED, object_type="people.matchreview",
                 object_id=review.pk, person_id=survivor.pk,
                 detail={"action": "accept", "candidate": survivor.pk, "record_person": merged.pk,
                         "link": review.link_id})
    return review


@transaction.atomic
def review_reject(*, user, review_id: int, reason: str) -> MatchReview:
    """Different persons: both stay separate; the reason is required."""
    reason = _reason(reason)
    review = _review_for_decision(user, review_id)
    review.state, review.decided_by, review.decided_at = (ReviewState.REJECTED, user,
                                                          timezone.now())
    review.reason = reason
    review.save(update_fields=["state", "decided_by", "decided_at", "reason", "updated_at"])
    audit_record(event=AuditEventType.RECORD_UPDATED, object_type="people.matchreview",
                 object_id=review.pk, person_id=review.link.person_id,
                 detail={"action": "reject", "candidate": review.candidate_id,
                         "reason": reason, "link": review.link_id})
    return review


@transaction.atomic
def person_merge(*, user, survivor_id: int, merged_id: int, reason: str) -> PersonMerge:
    """A steward merges two persons both visible to them (outside a review task)."""
    _require(user)
    reason = _reason(reason)
    if survivor_id == merged_id:
        raise ValidationFailed([FieldError("merged_id", "same_person", "不能与自身合并",
                                           "A person cannot be merged into itself")])
    for pk, name in ((survivor_id, "survivor_id"), (merged_id, "merged_id")):
        try:
            person_get_visible(user=user, person_id=pk)
        except NotFound:
            raise ValidationFailed([FieldError(name, "not_found", "人员不存在或无权查看",
                                               "No such person in your scope")]) from None
    return _merge(user=user, survivor_id=survivor_id, merged_id=merged_id, reason=reason)


def _lock_persons(*ids: int) -> dict[int, Person]:
    # one order for every locker, so two merges of the same pair cannot deadlock
    persons = Person.objects.select_for_update().filter(pk__in=sorted(ids)).order_by("pk")
    return {p.pk: p for p in persons}


def _merge(*, user, survivor_id: int, merged_id: int, reason: str,
           review: MatchReview | None = None) -> PersonMerge:
    locked = _lock_persons(survivor_id, merged_id)
    survivor, merged = locked.get(survivor_id), locked.get(merged_id)
    if survivor is None or merged is None:
        raise NotFound("人员", "person")
    for p in (survivor, merged):
        if p.status != PersonStatus.ACTIVE:
            raise Conflict(f"人员#{p.pk}已合并到#{p.merged_into_id}，不能再合并",
                           f"Person #{p.pk} is already merged into #{p.merged_into_id}",
                           code="already_merged")
    links = list(PersonLink.objects.filter(person=merged).values_list("pk", flat=True))
    PersonLink.objects.filter(pk__in=links).update(person=survivor)
    created_ids = []
    have = set(PersonIdentifier.objects.filter(person=survivor)
               .values_list("id_type", "number_index"))
    for ident in PersonIdentifier.objects.filter(person=merged).order_by("pk"):
        if (ident.id_type, ident.number_index) in have:
            continue
        copy = PersonIdentifier.objects.create(
            person=survivor, id_type=ident.id_type, number_encrypted=ident.number_encrypted,
            number_index=ident.number_index, number_masked=ident.number_masked,
            is_primary=False, source=ident.source or f"merge:{merged.pk}")
        created_ids.append(copy.pk)
    facilities = []
    for unit_id in PersonFacility.objects.filter(person=merged).values_list("org_unit_id",
                                                                              flat=True):
        pf, made = PersonFacility.objects.get_or_create(person=survivor, org_unit_id=unit_id)
        if made:
            facilities.append(pf.pk)
    children = list(Person.objects.filter(merged_into=merged).values_list("pk", flat=True))
    Person.objects.filter(pk__in=children).update(merged_into=survivor)
    # open tasks between the two, or pointing at the merged person, are moot now
    superseded = list(reviews_open_for(person_ids=[merged.pk]).exclude(
        pk=getattr(review, "pk", None)).values_list("pk", flat=True))
    MatchReview.objects.filter(pk__in=superseded).update(state=ReviewState.SUPERSEDED,
                                                         updated_at=timezone.now())
    changes = {"links": links, "identifiers": created_ids, "facilities": facilities,
               "merged_children": children, "superseded_reviews": superseded,
               "survivor_id_masked": survivor.id_masked}
    if not survivor.id_masked and merged.id_masked:
        survivor.id_masked = merged.id_masked
        survivor.save()
    merged.status, merged.merged_into = PersonStatus.MERGED, survivor
    merged.save()
    record = PersonMerge.objects.create(survivor=survivor, merged=merged, review=review,
                                        reason=reason, merged_by=user, changes=changes)
    audit_record(event=AuditEventType.RECORD_CREATED, object_type="people.personmerge",
                 object_id=record.pk, person_id=survivor.pk,
                 detail={"action": "merge", "survivor": survivor.pk, "merged": merged.pk,
                         "reason": reason, "review": getattr(review, "pk", None),
                         "changes": changes})
    audit_record(event=AuditEventType.RECORD_UPDATED, object_type="people.personmerge",
                 object_id=record.pk, person_id=merged.pk,
                 detail={"action": "merged_into", "survivor": survivor.pk})
    event_emit(topic=MERGED_TOPIC, aggregate_type="people.person", aggregate_id=survivor.pk,
               payload={"survivor_id": survivor.pk, "merged_id": merged.pk,
                        "merge_id": record.pk})
    return record


@transaction.atomic
def person_unmerge(*, user, merge_id: int, reason: str) -> PersonMerge:
    """Undo one merge exactly as its history row records it. Refused (409) when a later
    merge built on it; undo that one first."""
    _require(user)
    reason = _reason(reason)
    record = PersonMerge.objects.select_for_update().filter(pk=merge_id).first()
    if record is None:
        raise NotFound("合并记录", "merge")
    try:
        person_get_visible(user=user, person_id=record.survivor_id)
    except NotFound:
        raise NotFound("合并记录", "merge") from None
    if record.unmerged_at is not None:
        raise Conflict("该合并已被撤销", "This merge was already undone",
                       code="already_unmerged")
    locked = _lock_persons(record.survivor_id, record.merged_id)
    survivor, merged = locked[record.survivor_id], locked[record.merged_id]
    if survivor.status != PersonStatus.ACTIVE or merged.merged_into_id != survivor.pk:
        raise Conflict("此后的合并涉及这些人员，请先撤销之后的合并",
                       "A later merge involves these persons; undo it first",
                       code="later_merge")
    ch = record.changes
    PersonLink.objects.filter(pk__in=ch.get("links", []), person=survivor).update(person=merged)
    PersonIdentifier.objects.filter(pk__in=ch.get("identifiers", []), person=survivor).delete()
    PersonFacility.objects.filter(pk__in=ch.get("facilities", []), person=survivor).delete()
    Person.objects.filter(pk__in=ch.get("merged_children", []),
                          merged_into=survivor).update(merged_into=merged)
    MatchReview.objects.filter(pk__in=ch.get("superseded_reviews", []),
                               state=ReviewState.SUPERSEDED).update(
        state=ReviewState.OPEN, updated_at=timezone.now())
    if record.review_id:
        MatchReview.objects.filter(pk=record.review_id).update(
            state=ReviewState.OPEN, decided_by=None, decided_at=None, reason="",
            updated_at=timezone.now())
    if survivor.id_masked != ch.get("survivor_id_masked", survivor.id_masked):
        survivor.id_masked = ch.get("survivor_id_masked", "")
        survivor.save()
    merged.status, merged.merged_into = PersonStatus.ACTIVE, None
    merged.save()
    record.unmerged_by, record.unmerged_at, record.unmerge_reason = user, timezone.now(), reason
    record.save(update_fields=["unmerged_by", "unmerged_at", "unmerge_reason"])
    for pid in (survivor.pk, merged.pk):
        audit_record(event=AuditEventType.RECORD_UPDATED, object_type="people.personmerge",
                     object_id=record.pk, person_id=pid,
                     detail={"action": "unmerge", "survivor": survivor.pk,
                             "merged": merged.pk, "reason": reason})
    event_emit(topic=UNMERGED_TOPIC, aggregate_type="people.person", aggregate_id=survivor.pk,
               payload={"survivor_id": survivor.pk, "merged_id": merged.pk,
                        "merge_id": record.pk})
    return record


# --- patient 360 ------------------------------------------------------------------------------

def person_360(*, user, person_id: int, purpose: str = "患者360视图 patient 360") -> dict:
    """Everything the 360 page and API show, read once and access-audited."""
    from phis.core.people.timeline import timeline_collect

    person = person_get_visible(user=user, person_id=person_id)
    ids = person_merged_ids(person_id=person.pk)
    result = timeline_collect(user=user, person_ids=ids)
    audit_access(object_type="people.person", object_id=person.pk, person_id=person.pk,
                 purpose=(purpose or "").strip()[:200] or "患者360视图 patient 360",
                 detail={"view": "360", "persons": ids, "entries": len(result.entries)})
    merged_persons = list(Person.objects.filter(pk__in=ids[1:]).order_by("pk"))
    return {
        "person": person,
        "root": person_active_root(person=person) if person.status == PersonStatus.MERGED
        else None,
        "person_ids": ids,
        "identifiers": list(person_identifiers_for(person_ids=ids)),
        "links": list(person_links_for(person_ids=ids)),
        "merged_persons": merged_persons,
        "merges": list(person_merges_for(person_ids=ids)),
        "timeline": result.entries,
        "timeline_failed": result.failed,
    }


# --- demo -------------------------------------------------------------------------------------

def mpi_demo_setup(*, count: int = 6) -> dict[str, int]:
    """Near-duplicates of a few registered persons (homophone name, no ID, another phone)
    sent through the MPI, so the stewards' queue of the demo has work in it. Returns the
    count per outcome (idempotent: the same source records find their links again)."""
    return dict(Counter(r.outcome for r in mpi_demo_records(count=count)))


def mpi_demo_records(*, count: int = 6) -> list[MpiResult]:
    results = []
    persons = (Person.objects.filter(status=PersonStatus.ACTIVE, birth_date__isnull=False,
                                     address_unit__isnull=False)
               .exclude(name="").order_by("pk")[: count * 3])
    for person in persons:
        if len(results) >= count:
            break
        swapped = _homophone(person.name)
        if swapped == person.name:
            continue
        record = IncomingPerson(name=swapped, sex=person.sex, birth_date=person.birth_date,
                                address_unit_code=person.address_unit.code, id_number="")
        try:
            result = mpi_intake(record=record, source="demo-his",
                                source_key=f"demo-{person.pk}")
        except ApplicationError:
            continue
        results.append(result)
    return results


_HOMOPHONES = {"张": "章", "章": "张", "李": "理", "王": "汪", "汪": "王", "刘": "柳",
               "陈": "程", "杨": "阳", "赵": "照", "黄": "皇", "周": "舟", "吴": "伍",
               "徐": "许", "许": "徐", "孙": "荪", "马": "玛", "朱": "珠", "胡": "湖",
               "伟": "玮", "敏": "民", "静": "晶", "丽": "莉", "强": "墙", "磊": "垒",
               "军": "君", "洋": "阳", "勇": "永", "艳": "燕", "杰": "洁", "娟": "鹃",
               "涛": "滔", "明": "鸣", "超": "潮", "秀": "绣", "霞": "侠", "平": "萍"}


def _homophone(name: str) -> str:
    for i in range(len(name) - 1, -1, -1):
        if name[i] in _HOMOPHONES:
            return name[:i] + _HOMOPHONES[name[i]] + name[i + 1:]
    return name
