"""Every write to report cards (ARCHITECTURE.md §2; docs/modules/notifiable.md).

Each service runs in a transaction, checks the caller's rights and scope, appends a
``CardEvent`` (the card's complete history, §2.1 "system fields"), writes audit rows and
emits ``notifiable.card.changed`` (payload in ISSUE5 contract) whenever a count can move.
``version`` is the card version the caller saw: a different current version is a 409
(optimistic concurrency; two reviewers acting on one card get one decision).

Rules: surveillance.md §2.1 (fields), §2.2 (deadlines), §2.3 (review), §2.4 (correction,
deletion, duplicates); they live in ``rules.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from phis.apps.notifiable import rules
from phis.apps.notifiable.inputs import CardInput
from phis.apps.notifiable.models import (
    CardAction,
    CardEvent,
    CardSequence,
    CardSource,
    CardStatus,
    CardType,
    CaseClassification,
    LabResult,
    ReportCard,
    SubmissionKey,
    SuspectedOutcome,
)
from phis.apps.notifiable.permissions import NotifiablePerm
from phis.apps.notifiable.selectors import (
    card_get_visible,
    card_payload,
    county_cdc_of,
    county_reviewers,
    duplicate_candidates,
    is_counted,
)
from phis.core.audit.services import audit_record
from phis.core.audit.types import AuditEventType
from phis.core.crypto.fields import encrypt_text
from phis.core.events.registry import handles
from phis.core.events.services import event_emit
from phis.core.exceptions import (
    ApplicationError,
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from phis.core.notify.services import notification_send
from phis.core.orgunits.models import FacilityType, Level, OrgUnit
from phis.core.orgunits.scoping import unit_in_scope
from phis.core.workflow.selectors import workflow_for_subject
from phis.core.workflow.services import workflow_start, workflow_transition

log = logging.getLogger(__name__)

TOPIC_CHANGED = "notifiable.card.changed"
# Cards stored by a batch whose person link and review item are completed after the commit.
TOPIC_STORED = "notifiable.cards.stored"
AUDIT_OBJECT = "notifiable.reportcard"
ID_PURPOSE = "notifiable.card.id"
PHONE_PURPOSE = "notifiable.card.phone"
ADDRESS_PURPOSE = "notifiable.card.address"
SIGN_STEP = "notifiable.review"
PERSON_SOURCE = "notifiable"  # the MPI source name of report cards


# --- small helpers -------------------------------------------------------------------------

def _conflict() -> Conflict:
    return Conflict("该报告卡已被他人处理，请刷新后重试",
                    "The card was changed by someone else; reload it and try again",
                    code="concurrent_update")


def _state_conflict(card: ReportCard, action_zh: str, action_en: str) -> Conflict:
    status = CardStatus(card.status)
    return Conflict(f"报告卡当前状态为“{status.label}”，不能{action_zh}",
                    f"The card is {status.value}; it cannot be {action_en}",
                    code="invalid_state")


def _require(user, perm: str) -> None:
    if user is None or not user.has_phis_perm(perm):
        raise PermissionDenied()


def _reporting_side(user, card: ReportCard) -> bool:
    return unit_in_scope(user, card.reporting_unit.path)


def _require_reason(reason: str, field_name: str = "reason") -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed([FieldError(field_name, "required", "请填写原因",
                                           "Give a reason")])
    return reason[:500]


def _version(version) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        raise ValidationFailed([FieldError("version", "required", "缺少报告卡版本号",
                                           "The card version is required")]) from None


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _local_day(value: datetime | None) -> str | None:
    return timezone.localdate(value).isoformat() if value else None


def _count_keys(card: ReportCard) -> dict[str, Any]:
    return {"disease_code": card.disease_code, "county_code": card.county_code,
            "township_code": card.township_code, "onset_date": _iso(card.onset_date),
            "report_date": _local_day(card.reported_at),
            "review_date": _local_day(card.reviewed_at), "counted": is_counted(card.status)}


def _emit_changed(card: ReportCard, action: str, previous: dict | None) -> None:
    """``notifiable.card.changed`` when a count can move (the card counts before or after)."""
    now_keys = _count_keys(card)
    if not now_keys["counted"] and not (previous and previous["counted"]):
        return
    event_emit(topic=TOPIC_CHANGED, aggregate_type=AUDIT_OBJECT, aggregate_id=card.pk,
               payload={"card_id": card.pk, "card_number": card.card_number,
                        "action": action, "status": card.status,
                        "case_classification": card.case_classification,
                        **now_keys, "previous": previous})


def _event(card: ReportCard, action: str, user, *, at: datetime, from_status: str = "",
           reason: str = "", changes: dict | None = None) -> CardEvent:
    return CardEvent.objects.create(card=card, action=action, at=at,
                                    by=user if getattr(user, "pk", None) else None,
                                    from_status=from_status, to_status=card.status,
                                    reason=reason[:500], changes=changes or {},
                                    version=card.version)


_MASKED = {"id_number_encrypted": "id_number_masked", "phone_encrypted": "phone_masked",
           "address_text_encrypted": None}
_HISTORY_SKIP = {"updated_at", "version", "id_number_index"}


def _jsonable(value):
    if isinstance(value, OrgUnit):
        return value.code
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return "***"
    if hasattr(value, "pk"):
        return value.pk
    return value


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """{"field": [before, after]} of what changed; encrypted fields only say they did."""
    changes = {}
    for key, new in after.items():
        if key in _HISTORY_SKIP:
            continue
        old = before.get(key)
        if isinstance(new, bytes | memoryview) or isinstance(old, bytes | memoryview):
            if bytes(old or b"") != bytes(new or b""):
                changes[key.replace("_encrypted", "")] = ["***", "***"]
            continue
        if _jsonable(old) != _jsonable(new):
            changes[key] = [_jsonable(old), _jsonable(new)]
    return changes


def _field_values(card: ReportCard, names: Iterable[str]) -> dict[str, Any]:
    return {n: getattr(card, n if not n.endswith("_unit") else f"{n}_id") for n in names}


def _cas_save(card: ReportCard, version: int, values: dict[str, Any], user,
              now: datetime) -> dict[str, list]:
    """Write ``values`` to the card if it still has ``version`` (compare-and-swap), bump
    the version and audit the change. Returns the changes {field: [before, after]}."""
    before = {k: getattr(card, k) for k in values}
    updated = ReportCard.objects.filter(pk=card.pk, version=version).update(
        **values, version=version + 1, updated_at=now)
    if not updated:
        raise _conflict()
    for key, value in values.items():
        setattr(card, key, value)
    card.version = version + 1
    card.updated_at = now
    changes = _diff(before, values)
    audit_record(event=AuditEventType.RECORD_UPDATED, object_type=AUDIT_OBJECT,
                 object_id=card.pk, person_id=card.person_id,
                 detail={"before": {k: v[0] for k, v in changes.items()},
                         "after": {k: v[1] for k, v in changes.items()},
                         "version": card.version})
    return changes


def _load_for_action(*, user, card_id, version, now) -> ReportCard:
    card = card_get_visible(user=user, card_id=card_id, for_update=True)
    if card.version != _version(version):
        raise _conflict()
    return card


# --- card numbers ---------------------------------------------------------------------------

def _allocate_numbers(unit_code: str, day: date, count: int = 1) -> list[str]:
    """``count`` new card numbers ``<unit><YYYYMMDD><seq:05d>`` for one unit and day. The
    counter row is locked by the UPDATE until the caller's transaction ends, so concurrent
    reports of one unit never get the same number (§2.1: unique, immutable)."""
    if not CardSequence.objects.filter(unit_code=unit_code, day=day).exists():
        try:
            with transaction.atomic():
                CardSequence.objects.create(unit_code=unit_code, day=day, last=0)
        except IntegrityError:
            pass  # created meanwhile by a concurrent report
    CardSequence.objects.filter(unit_code=unit_code, day=day).update(last=F("last") + count)
    last = CardSequence.objects.get(unit_code=unit_code, day=day).last
    prefix = f"{unit_code}{day:%Y%m%d}"
    return [f"{prefix}{seq:05d}" for seq in range(last - count + 1, last + 1)]


# --- the person behind a card -------------------------------------------------------------

def _mpi_intake():
    """The person registry's MPI intake, when this deployment has it."""
    try:
        from phis.core.people.mpi_services import IncomingPerson, mpi_intake
    except ImportError:
        return None
    return IncomingPerson, mpi_intake


def _link_person(*, checked: rules.CheckedCard, user, unit: OrgUnit | None,
                 source_key: str):
    """Every card lands on a person (ARCHITECTURE.md §3). Through the MPI's intake (one
    source record per card: ``source_key`` is the card number, with a suffix when a
    correction changes the patient) when the registry offers it; else the resident-ID
    blind index finds the person, or the registry creates one. Returns the Person, or
    None when the registry refuses the record (the card is stored and linked later)."""
    v = checked.values
    ident = checked.identifier
    if not v.get("patient_name"):
        return None
    address_code = checked.address_unit.code if checked.address_unit else ""
    mpi = _mpi_intake()
    try:
        if mpi is not None:
            incoming_cls, intake = mpi
            record = incoming_cls(
                name=v["patient_name"], sex=v.get("sex") or 0, birth_date=v.get("birth_date"),
                id_type=ident.id_type if ident else "01",
                id_number=ident.number if ident else "", phone=checked.phone,
                address_unit_code=address_code, address_text=checked.address_text[:200])
            with transaction.atomic():
                return intake(record=record, source=PERSON_SOURCE, source_key=source_key,
                              facility=unit, by=user).person
        return _link_by_index(checked=checked, user=user, unit=unit,
                              address_code=address_code)
    except ValidationFailed as exc:
        log.warning("notifiable: card %s not linked to a person: %s", source_key,
                    [e.as_dict() for e in exc.errors])
        return None


def _link_by_index(*, checked: rules.CheckedCard, user, unit, address_code: str):
    from phis.core.people import services as people
    from phis.core.people.models import PersonIdentifier, PersonStatus

    v = checked.values
    ident = checked.identifier
    if ident is not None:
        found = (PersonIdentifier.objects.select_related("person")
                 .filter(id_type=ident.id_type, number_index=ident.index)
                 .order_by("-is_primary", "pk").first())
        if found is not None:
            person = found.person
            hops = 0
            while person.status == PersonStatus.MERGED and person.merged_into_id and hops < 5:
                person = person.merged_into
                hops += 1
            if unit is not None:
                people.person_link_facility(person=person, facility=unit)
            return person
    data = people.PersonInput(
        name=v["patient_name"], sex=v.get("sex") or 0, birth_date=v.get("birth_date"),
        id_type=ident.id_type if ident else "01", id_number=ident.number if ident else "",
        phone=checked.phone, address_unit_code=address_code,
        address_text=checked.address_text)
    with transaction.atomic():
        return people.person_create(data=data, created_by=user, facility=unit,
                                    source=PERSON_SOURCE)


# --- applying checked values ---------------------------------------------------------------

_CONTENT_FIELDS = (
    "patient_name", "parent_name", "id_type", "sex", "birth_date", "age_value", "age_unit",
    "work_unit", "residence_category", "county_code", "township_code", "occupation",
    "occupation_other", "disease_code", "subtype_code", "icd10_code", "disease_class",
    "other_disease_text", "case_classification", "acute_chronic", "onset_date",
    "diagnosis_at", "death_date", "doctor_name", "reporting_phone", "filled_date", "remarks",
    "deadline_hours", "supplement")


def _content_values(checked: rules.CheckedCard) -> dict[str, Any]:
    v = checked.values
    values = {k: v[k] for k in _CONTENT_FIELDS if k in v}
    values["address_unit"] = checked.address_unit
    values["reporting_unit"] = checked.reporting_unit
    ident = checked.identifier
    if ident is not None:
        values.update(id_number_encrypted=encrypt_text(ident.number, purpose=ID_PURPOSE),
                      id_number_index=ident.index, id_number_masked=ident.masked,
                      id_type=ident.id_type)
    else:
        values.update(id_number_encrypted=None, id_number_index="", id_number_masked="")
    if checked.phone:
        values.update(phone_encrypted=encrypt_text(checked.phone, purpose=PHONE_PURPOSE),
                      phone_masked=v.get("phone_masked", ""))
    else:
        values.update(phone_encrypted=None, phone_masked="")
    values["address_text_encrypted"] = (encrypt_text(checked.address_text,
                                                     purpose=ADDRESS_PURPOSE)
                                        if checked.address_text else None)
    return values


def _same_content(card: ReportCard, values: dict[str, Any]) -> dict[str, Any]:
    """Only the values that differ from the card (encrypted values compared by index or
    masked form, since each encryption differs)."""
    out = {}
    for key, value in values.items():
        if key == "id_number_encrypted":
            if values.get("id_number_index") != card.id_number_index:
                out[key] = value
            continue
        if key == "phone_encrypted":
            if values.get("phone_masked") != card.phone_masked or (value is None) != (
                    card.phone_encrypted is None):
                out[key] = value
            continue
        if key == "address_text_encrypted":
            out[key] = value  # cannot compare without decrypting: always rewritten
            continue
        current = getattr(card, key)
        if current != value:
            out[key] = value
    return out


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(errors)


def _clocks(values: dict[str, Any], *, reported_at: datetime | None) -> dict[str, Any]:
    clock = rules.report_clock(diagnosis_at=values["diagnosis_at"],
                               deadline_hours=values["deadline_hours"],
                               reported_at=reported_at)
    return clock


def _duplicates_of(checked: rules.CheckedCard, exclude_id: int | None = None
                   ) -> list[ReportCard]:
    v = checked.values
    if not v.get("disease_code") or not v.get("diagnosis_at") or not v.get("onset_date"):
        return []
    ident = checked.identifier
    qs = duplicate_candidates(
        disease_code=v["disease_code"], diagnosis_year=checked.diagnosis_local.year,
        id_number_index=ident.index if ident else "", patient_name=v.get("patient_name", ""),
        sex=v.get("sex"), occupation=v.get("occupation", ""), birth_date=v.get("birth_date"),
        age_value=v.get("age_value"), age_unit=v.get("age_unit", ""),
        address_unit_id=checked.address_unit.pk if checked.address_unit else None,
        exclude_id=exclude_id)
    return [c for c in qs.select_related("reporting_unit")[:20]
            if rules.same_episode(v["disease_code"], c.onset_date, v["onset_date"])]


# --- check (live validation) ----------------------------------------------------------------

@dataclass
class CardCheck:
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    duplicates: list[ReportCard] = field(default_factory=list)
    derived: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def card_check(*, user, data: CardInput, now: datetime | None = None,
               card_id: int | None = None) -> CardCheck:
    """Run every rule on ``data`` and look for duplicate cards; nothing is stored. The
    entry page calls it as the clinician types (errors by field, zh + en)."""
    _require(user, NotifiablePerm.REPORT)
    errors, checked = rules.check_card(data, user=user, now=now)
    result = CardCheck(errors={e.field: (e.message, e.message_en) for e in reversed(errors)})
    result.errors = dict(reversed(list(result.errors.items())))
    result.duplicates = _duplicates_of(checked, exclude_id=card_id)
    v = checked.values
    result.derived = {k: v.get(k) for k in ("residence_category", "county_code",
                                            "township_code", "disease_class",
                                            "deadline_hours", "age_value", "age_unit",
                                            "birth_date", "subtype_code", "disease_code")}
    if v.get("diagnosis_at") and v.get("deadline_hours"):
        result.derived["report_due_at"] = rules.report_clock(
            diagnosis_at=v["diagnosis_at"], deadline_hours=v["deadline_hours"],
            reported_at=None)["report_due_at"]
    return result


# --- create -------------------------------------------------------------------------------

def request_digest(data: CardInput) -> str:
    """SHA-256 of the submission's content: same idempotency key + same body = same card."""
    body = json.dumps(asdict(data), cls=DjangoJSONEncoder, sort_keys=True,
                      ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _key_conflict() -> Conflict:
    return Conflict("该幂等键已用于内容不同的另一次提交",
                    "This idempotency key was already used with a different body",
                    code="idempotency_key_reused")


def card_create(*, user, data: CardInput, submit: bool = True, source: str = "web",
                idempotency_key: str = "", now: datetime | None = None) -> ReportCard:
    """Store a new card (a draft, or reported at once with ``submit``). With an
    idempotency key the same body again returns the first card (``card.replayed`` is
    True); a different body under the same key is a 409."""
    _require(user, NotifiablePerm.REPORT)
    now = now or timezone.now()
    if source not in CardSource.values:
        source = CardSource.API
    key = (idempotency_key or "").strip()[:128]
    errors, checked = rules.check_card(data, user=user, now=now, source=source,
                                       for_draft=not submit)
    _raise_if(errors)
    if checked.reporting_unit is None:  # a draft still needs its unit
        _raise_if([FieldError("reporting_unit_code", "required", "请填写报告单位",
                              "The reporting unit is required")])
    digest = request_digest(data) if key else ""
    if key:
        replay = _replay(key, checked.reporting_unit, digest)
        if replay is not None:
            return replay
    try:
        with transaction.atomic():
            card = _create_checked(user=user, checked=checked, submit=submit, source=source,
                                   now=now)
            if key:
                SubmissionKey.objects.create(key=key, reporting_unit=checked.reporting_unit,
                                             card=card, request_digest=digest)
    except IntegrityError:
        if key:  # the same key committed concurrently: answer as for a replay
            replay = _replay(key, checked.reporting_unit, digest)
            if replay is not None:
                return replay
        if checked.values.get("external_id"):
            raise _external_conflict(checked) from None
        raise
    card.replayed = False
    return card


def _replay(key: str, unit: OrgUnit, digest: str) -> ReportCard | None:
    seen = SubmissionKey.objects.select_related("card").filter(
        reporting_unit=unit, key=key).first()
    if seen is None:
        return None
    if seen.request_digest != digest:
        raise _key_conflict()
    card = seen.card
    card.replayed = True
    return card


def _external_conflict(checked: rules.CheckedCard) -> Conflict:
    return Conflict("该外部卡片编号已报告过", "A card with this external id was already "
                    "reported", code="external_id_exists")


def _create_checked(*, user, checked: rules.CheckedCard, submit: bool, source: str,
                    now: datetime, number: str | None = None,
                    person=None, duplicates: list[ReportCard] | None = None) -> ReportCard:
    v = checked.values
    unit = checked.reporting_unit
    if v.get("external_id") and ReportCard.objects.filter(
            source_system=v.get("source_system", ""), external_id=v["external_id"]).exists():
        raise _external_conflict(checked)
    values = _content_values(checked)
    card = ReportCard(**values)
    card.card_number = number or _allocate_numbers(unit.code, timezone.localdate(now))[0]
    card.card_type = CardType.INITIAL
    card.source = source
    card.external_id = v.get("external_id", "")
    card.source_system = v.get("source_system", "")
    card.reporting_doctor = user if getattr(user, "pk", None) else None
    card.created_by = card.reporting_doctor
    card.status = CardStatus.DRAFT
    if not card.disease_class:
        card.disease_class = ""
    complete = v.get("diagnosis_at") is not None and v.get("deadline_hours") is not None
    if complete:
        for k, val in _clocks(values, reported_at=None).items():
            setattr(card, k, val)
    else:  # an incomplete draft: the clock starts when it is complete
        card.deadline_hours = card.deadline_hours or 24
        card.report_due_at = now
        card.diagnosis_at = card.diagnosis_at or now
    card.sex = card.sex or 0
    card.suspected_due_at = rules.suspected_clock(
        classification=card.case_classification, diagnosis_at=card.diagnosis_at,
        disease_code=card.disease_code, subtype_code=card.subtype_code)
    card.person = person if person is not None else _link_person(
        checked=checked, user=user, unit=unit, source_key=card.card_number)
    dups = duplicates if duplicates is not None else _duplicates_of(checked)
    card.duplicate_candidates = [d.pk for d in dups]
    card.save()
    _event(card, CardAction.CREATE, user, at=now, reason=source)
    if submit:
        _submit(card, user=user, now=now, action=CardAction.SUBMIT, previous=None)
    return card


def _review_owner(card: ReportCard) -> OrgUnit:
    """§2.3: the county CDC of the patient's current address, else of the reporting unit;
    a city-level unit's cards without a county go to the city CDC."""
    county = None
    for unit in (card.address_unit, card.reporting_unit):
        if unit is not None:
            county = _ancestor(unit, Level.COUNTY)
            if county is not None:
                break
    if county is not None:
        return county_cdc_of(county) or county
    city = _ancestor(card.reporting_unit, Level.CITY)
    if city is not None:
        cdc = OrgUnit.objects.filter(parent=city, level=Level.FACILITY,
                                     facility_type=FacilityType.CDC).order_by("code").first()
        return cdc or city
    return card.reporting_unit


def _ancestor(unit: OrgUnit, level: int) -> OrgUnit | None:
    if unit.level == level:
        return unit
    codes = [c for c in unit.path.strip("/").split("/") if c]
    return OrgUnit.objects.filter(code__in=codes, level=level).first()


def _submit(card: ReportCard, *, user, now: datetime, action: str,
            previous: dict | None) -> None:
    """Draft/returned → submitted (network report): the report and review clocks, the
    review item with its owner and clock, the alert for 2-hour cards."""
    from_status = card.status
    reported_at = card.reported_at or now  # a resubmission keeps the first report time
    clock = rules.report_clock(diagnosis_at=card.diagnosis_at,
                               deadline_hours=card.deadline_hours, reported_at=reported_at)
    clock["review_due_at"] = now + (clock["review_due_at"] - reported_at)
    values = {**clock, "status": CardStatus.SUBMITTED, "return_reason": ""}
    changes = _cas_save(card, card.version, values, user, now)
    _start_review(card, user=user, now=now)
    _event(card, action, user, at=now, from_status=from_status, changes=changes)
    _emit_changed(card, action, previous)
    if card.deadline_hours <= rules.URGENT_DEADLINE_HOURS:
        _alert_urgent(card)


def _start_review(card: ReportCard, *, user, now: datetime, state_of: str = "",
                  owners: dict | None = None):
    """Open the card's review item (owner: the county CDC; clock: the card's review due
    time). ``state_of="submitted"`` makes the item of a submission whose item is missing
    (batch cards before cards_complete_intake ran). ``owners`` caches the owner per
    (address unit, reporting unit) across the cards of a batch."""
    if state_of and workflow_for_subject(subject=card, definition=rules.REVIEW_WORKFLOW_NAME
                                         ).filter(created_at__gte=card.reported_at).exists():
        return None
    if owners is None:
        owner = _review_owner(card)
    else:
        key = (card.address_unit_id, card.reporting_unit_id)
        owner = owners.get(key)
        if owner is None:
            owner = owners[key] = _review_owner(card)
    return workflow_start(definition=rules.REVIEW_WORKFLOW_NAME, owner_unit=owner, subject=card,
                   subject_key=card.card_number, title=f"{card.card_number}",
                   data={"review_due_at": card.review_due_at.isoformat()
                         if card.review_due_at else None,
                         "disease_code": card.disease_code}, by=user, now=now)


def _open_review_item(card: ReportCard):
    return workflow_for_subject(subject=card, definition=rules.REVIEW_WORKFLOW_NAME) \
        .filter(is_open=True).first()


def _review_transition(card: ReportCard, action: str, user, comment: str, now: datetime):
    item = _open_review_item(card)
    if item is None:  # a batch card whose review item is not made yet: make it now
        item = _start_review(card, user=None, now=now, state_of="submitted")
        if item is None:
            return None
    try:
        return workflow_transition(instance_id=item.pk, action=action, user=user,
                                   comment=comment, now=now)
    except NotFound:
        raise PermissionDenied("此卡由患者现住址所在县区疾控中心审核",
                               "This card is reviewed by the CDC of the patient's county") \
            from None


def _urgent_channels() -> tuple[str, ...]:
    return tuple(getattr(settings, "PHIS_NOTIFIABLE_URGENT_CHANNELS", ("inbox", "sms")))


def _alert_urgent(card: ReportCard) -> None:
    """§2.3: class A / managed-as-A (2-hour) cards alert the county CDC at once."""
    county = None
    for unit in (card.address_unit, card.reporting_unit):
        if unit is not None and county is None:
            county = _ancestor(unit, Level.COUNTY)
    if county is None:
        return
    recipients = county_reviewers(county=county)
    if not recipients:
        return
    try:
        from phis.core.codes.selectors import notifiable_disease_rules

        rules_now = notifiable_disease_rules(card.subtype_code or card.disease_code,
                                             on=timezone.localdate(card.diagnosis_at))
        name_zh, name_en = rules_now.name_zh, rules_now.name_en
    except ApplicationError:
        name_zh = name_en = card.disease_code
    due = timezone.localtime(card.review_due_at) if card.review_due_at else None
    notification_send(
        recipients=recipients,
        title=f"2小时报告：{name_zh} {card.card_number}",
        title_en=f"2-hour report: {name_en} {card.card_number}",
        body=f"{card.reporting_unit.name}报告{name_zh}，请立即审核"
             + (f"（{due:%m-%d %H:%M}前）" if due else ""),
        body_en=f"{card.reporting_unit.name_en or card.reporting_unit.name} reported "
                f"{name_en}; review it now" + (f" (by {due:%Y-%m-%d %H:%M})" if due else ""),
        link=f"/notifiable/cards/{card.pk}/", level="urgent", channels=_urgent_channels())


# --- update / submit -------------------------------------------------------------------------

@transaction.atomic
def card_update(*, user, card_id, version, data: CardInput, submit: bool = False,
                now: datetime | None = None) -> ReportCard:
    """Change a draft or a returned card (the reporting side), optionally reporting it."""
    _require(user, NotifiablePerm.REPORT)
    now = now or timezone.now()
    card = _load_for_action(user=user, card_id=card_id, version=version, now=now)
    if not _reporting_side(user, card):
        raise PermissionDenied("只有报告单位可以修改报告卡",
                               "Only the reporting unit may change this card")
    if card.status not in rules.EDITABLE_STATUSES:
        raise _state_conflict(card, "修改", "edited (file a correction instead)")
    if not data.reporting_unit_code:
        data.reporting_unit_code = card.reporting_unit.code
    errors, checked = rules.check_card(data, user=user, now=now,
                                       for_draft=card.status == CardStatus.DRAFT and not submit)
    _raise_if(errors)
    previous = _count_keys(card)
    values = _content_values(checked)
    values = _same_content(card, values)
    if "diagnosis_at" in values or "deadline_hours" in values:
        merged = {"diagnosis_at": values.get("diagnosis_at", card.diagnosis_at),
                  "deadline_hours": values.get("deadline_hours", card.deadline_hours)}
        values["report_due_at"] = rules.report_clock(reported_at=None, **merged)[
            "report_due_at"]
    values["suspected_due_at"] = rules.suspected_clock(
        classification=values.get("case_classification", card.case_classification),
        diagnosis_at=values.get("diagnosis_at", card.diagnosis_at),
        disease_code=values.get("disease_code", card.disease_code),
        subtype_code=values.get("subtype_code", card.subtype_code))
    if card.person_id is None or "id_number_index" in values:
        person = _link_person(checked=checked, user=user, unit=card.reporting_unit,
                              source_key=f"{card.card_number}.v{card.version + 1}")
        if person is not None:
            values["person"] = person
    values["duplicate_candidates"] = [d.pk for d in _duplicates_of(checked, card.pk)]
    changes = _cas_save(card, card.version, values, user, now)
    was = card.status
    _event(card, CardAction.SAVE_DRAFT, user, at=now, from_status=was, changes=changes)
    if submit:
        action = CardAction.RESUBMIT if was == CardStatus.RETURNED else CardAction.SUBMIT
        _submit(card, user=user, now=now, action=action, previous=previous)
    elif was == CardStatus.RETURNED:
        _emit_changed(card, CardAction.SAVE_DRAFT, previous)
    return card


@transaction.atomic
def card_submit(*, user, card_id, version, now: datetime | None = None) -> ReportCard:
    """Report a complete draft, or resubmit a returned card after its correction."""
    _require(user, NotifiablePerm.REPORT)
    now = now or timezone.now()
    card = _load_for_action(user=user, card_id=card_id, version=version, now=now)
    if not _reporting_side(user, card):
        raise PermissionDenied("只有报告单位可以提交报告卡",
                               "Only the reporting unit may submit this card")
    if card.status not in rules.EDITABLE_STATUSES:
        raise _state_conflict(card, "提交", "submitted")
    errors, _checked = rules.check_card(card_to_input(card), user=user, now=now)
    _raise_if(errors)
    previous = _count_keys(card)
    action = CardAction.RESUBMIT if card.status == CardStatus.RETURNED else CardAction.SUBMIT
    _submit(card, user=user, now=now, action=action, previous=previous)
    return card


def card_to_input(card: ReportCard) -> CardInput:
    """The card's current content as a CardInput (identifiers decrypted), e.g. to check a
    draft again before it is reported or to prefill a correction."""
    from phis.core.crypto.fields import decrypt_text

    return CardInput(
        patient_name=card.patient_name, parent_name=card.parent_name,
        id_type=card.id_type or "01",
        id_number=decrypt_text(card.id_number_encrypted, purpose=ID_PURPOSE),
        sex=card.sex or None, birth_date=card.birth_date,
        age_value=card.age_value if card.birth_date is None else None,
        age_unit=card.age_unit if card.birth_date is None else "", work_unit=card.work_unit,
        phone=decrypt_text(card.phone_encrypted, purpose=PHONE_PURPOSE),
        residence_category=card.residence_category,
        address_code=card.address_unit.code if card.address_unit_id else "",
        address_text=decrypt_text(card.address_text_encrypted, purpose=ADDRESS_PURPOSE),
        occupation=card.occupation, occupation_other=card.occupation_other,
        disease_code=card.disease_code, subtype_code=card.subtype_code,
        icd10_code=card.icd10_code, other_disease_text=card.other_disease_text,
        case_classification=card.case_classification, acute_chronic=card.acute_chronic,
        onset_date=card.onset_date, diagnosis_at=card.diagnosis_at,
        death_date=card.death_date, reporting_unit_code=card.reporting_unit.code,
        doctor_name=card.doctor_name, reporting_phone=card.reporting_phone,
        filled_date=card.filled_date, remarks=card.remarks, external_id=card.external_id,
        source_system=card.source_system, extra=dict(card.supplement or {}))


# --- review (§2.3) --------------------------------------------------------------------------

def _signature_mode() -> str:
    mode = str(getattr(settings, "PHIS_NOTIFIABLE_REVIEW_SIGNATURE", "optional")).lower()
    return mode if mode in ("required", "optional", "off") else "optional"


def card_review(*, user, card_id, version, pin: str | None = None,
                now: datetime | None = None) -> ReportCard:
    """The county CDC approves a submitted card (审核确认): it then counts in the official
    statistics by review date. With ``PHIS_NOTIFIABLE_REVIEW_SIGNATURE`` "required" the
    reviewer signs with their PIN; "optional" signs when a PIN is given; "off" never."""
    _require(user, NotifiablePerm.REVIEW)
    mode = _signature_mode()
    pin = pin or None
    if mode == "required" and not pin:
        raise ValidationFailed([FieldError("pin", "required", "审核须电子签名，请输入签名PIN",
                                           "Review needs your electronic signature: "
                                           "enter your signing PIN")])
    unlocked = None
    if pin and mode != "off":
        from phis.apps.esign.services import signer_unlock

        # The PIN is checked before our transaction so a wrong-PIN count commits (esign).
        unlocked = signer_unlock(user=user, pin=pin)
    return _review(user=user, card_id=card_id, version=version, unlocked=unlocked,
                   now=now or timezone.now())


@transaction.atomic
def _review(*, user, card_id, version, unlocked, now: datetime) -> ReportCard:
    card = _load_for_action(user=user, card_id=card_id, version=version, now=now)
    if card.status != CardStatus.SUBMITTED:
        raise _state_conflict(card, "审核", "reviewed")
    previous = _count_keys(card)
    values = {"status": CardStatus.REVIEWED, "reviewed_at": now, "reviewed_by": user,
              "reviewed_late": bool(card.review_due_at and now > card.review_due_at)}
    changes = _cas_save(card, card.version, values, user, now)
    _review_transition(card, "review", user, "", now)
    _event(card, CardAction.REVIEW, user, at=now, from_status=CardStatus.SUBMITTED,
           changes=changes)
    if unlocked is not None:
        from phis.apps.esign.services import sign_step

        signature = sign_step(user=user, subject=card, payload=card_payload(card),
                              unlocked=unlocked, step=SIGN_STEP,
                              reason="传染病报告卡审核 notifiable card review")
        ReportCard.objects.filter(pk=card.pk).update(
            review_signature_id=str(signature.public_id))
        card.review_signature_id = str(signature.public_id)
        _event(card, CardAction.SIGN, user, at=now, reason=str(signature.public_id))
    _emit_changed(card, CardAction.REVIEW, previous)
    return card


@transaction.atomic
def card_return(*, user, card_id, version, reason: str,
                now: datetime | None = None) -> ReportCard:
    """The county CDC returns a submitted card to the reporter with a reason (退卡)."""
    _require(user, NotifiablePerm.REVIEW)
    now = now or timezone.now()
    reason = _require_reason(reason)
    card = _load_for_action(user=user, card_id=card_id, version=version, now=now)
    if card.status != CardStatus.SUBMITTED:
        raise _state_conflict(card, "退回", "returned")
    previous = _count_keys(card)
    changes = _cas_save(card, card.version, {"status": CardStatus.RETURNED,
                                             "return_reason": reason}, user, now)
    _review_transition(card, "return", user, reason, now)
    _event(card, CardAction.RETURN, user, at=now, from_status=CardStatus.SUBMITTED,
           reason=reason, changes=changes)
    _emit_changed(card, CardAction.RETURN, previous)
    notification_send(
        recipients=[card.reporting_doctor] if card.reporting_doctor_id else [],
        title=f"报告卡被退回：{card.card_number}", title_en=f"Card returned: {card.card_number}",
        body=reason, body_en=reason, link=f"/notifiable/cards/{card.pk}/", level="warning")
    return card


# --- correction (订正, §2.4) ----------------------------------------------------------------

@transaction.atomic
def card_revise(*, user, card_id, version, data: CardInput, reason: str,
                now: datetime | None = None) -> ReportCard:
    """A corrected report (订正报告): diagnosis, classification, sub-type or other content
    changed, or the patient died of the disease. The card type becomes "corrected", the
    original disease is kept when the disease changes, the new diagnosis date and the
    clocks follow; a reviewed card is reviewed again. A suspected case revised to
    clinical/confirmed is closed as confirmed (A9)."""
    _require(user, NotifiablePerm.REPORT)
    now = now or timezone.now()
    reason = _require_reason(reason)
    card = _load_for_action(user=user, card_id=card_id, version=version, now=now)
    if not (_reporting_side(user, card) or user.has_phis_perm(NotifiablePerm.REVIEW)):
        raise PermissionDenied("只有报告单位或疾控中心可以订正报告卡",
                               "Only the reporting unit or the CDC may correct this card")
    if card.status not in rules.REVISABLE_STATUSES:
        raise _state_conflict(card, "订正", "corrected")
    if not data.reporting_unit_code:
        data.reporting_unit_code = card.reporting_unit.code
    errors, checked = rules.check_card(data, user=user, now=now)
    if checked.reporting_unit is not None and checked.reporting_unit.pk != card.reporting_unit_id:
        errors.append(FieldError("reporting_unit_code", "immutable", "订正不能更改报告单位",
                                 "A correction cannot change the reporting unit"))
    _raise_if(errors)
    previous = _count_keys(card)
    was_status = card.status
    values = _same_content(card, _content_values(checked))
    values.pop("reporting_unit", None)
    values["card_type"] = CardType.CORRECTED
    new_disease = values.get("disease_code", card.disease_code)
    if new_disease != card.disease_code and not card.original_disease_code:
        values["original_disease_code"] = card.disease_code
    diagnosis_at = values.get("diagnosis_at", card.diagnosis_at)
    deadline = values.get("deadline_hours", card.deadline_hours)
    values["report_due_at"] = rules.report_clock(diagnosis_at=diagnosis_at,
                                                 deadline_hours=deadline,
                                                 reported_at=None)["report_due_at"]
    old_class = card.case_classification
    new_class = values.get("case_classification", old_class)
    if old_class == CaseClassification.SUSPECTED and new_class in (
            CaseClassification.CLINICAL, CaseClassification.CONFIRMED) \
            and not card.suspected_outcome:
        values.update(suspected_outcome=SuspectedOutcome.CONFIRMED,
                      suspected_resolved_at=now)
    elif new_class == CaseClassification.SUSPECTED and not card.suspected_outcome:
        values["suspected_due_at"] = rules.suspected_clock(
            classification=new_class, diagnosis_at=diagnosis_at, disease_code=new_disease,
            subtype_code=values.get("subtype_code", card.subtype_code))
    if "id_number_index" in values or card.person_id is None:
        person = _link_person(checked=checked, user=user, unit=card.reporting_unit,
                              source_key=f"{card.card_number}.v{card.version + 1}")
        if person is not None:
            values["person"] = person
    values["duplicate_candidates"] = [d.pk for d in _duplicates_of(checked, card.pk)]
    if was_status == CardStatus.REVIEWED:
        # The correction is reviewed again (a new review item with its own clock).
        review_due = now + (card.review_due_at - card.reported_at
                            if card.review_due_at and card.reported_at
                            else _review_delta(deadline))
        values.update(status=CardStatus.SUBMITTED, review_due_at=review_due,
                      reviewed_late=None)
    changes = _cas_save(card, card.version, values, user, now)
    if was_status == CardStatus.REVIEWED:
        _start_review(card, user=user, now=now)
    _event(card, CardAction.REVISE, user, at=now, from_status=was_status, reason=reason,
           changes=changes)
    _emit_changed(card, CardAction.REVISE, previous)
    if was_status == CardStatus.REVIEWED and card.deadline_hours <= rules.URGENT_DEADLINE_HOURS \
            and previous.get("disease_code") != card.disease_code:
        _alert_urgent(card)
    return card


def _review_delta(deadline_hours: int) -> timedelta:
    return timedelta(hours=rules.review_hours(deadline_hours))


# --- deletion and restore (§2.4) ---------------------------------------------------------------

@transaction.atomic
def card_delete(*, user, card_id, version, reason: str, duplicate_of_id: int | None = None,
                reason_code: str = "", now: datetime | None = None) -> ReportCard:
    """Delete a card with a reason (soft delete: it stays, with its history). A duplicate
    names the card kept. Only the county CDC deletes reported cards; the reporting unit
    may discard its own drafts. A suspected case deleted as excluded is closed as
    excluded (A9)."""
    now = now or timezone.now()
    reason = _require_reason(reason)
    card = _load_for_action(user=user, card_id=card_id, version=version, now=now)
    if card.status == CardStatus.DELETED:
        raise _state_conflict(card, "删除", "deleted")
    if card.status == CardStatus.DRAFT:
        _require(user, NotifiablePerm.REPORT)
        if not _reporting_side(user, card):
            raise PermissionDenied()
    else:
        _require(user, NotifiablePerm.REVIEW)
    code = (reason_code or "").strip()
    if duplicate_of_id and not code:
        code = rules.DeleteReason.DUPLICATE
    if code and code not in rules.DeleteReason.LABELS:
        raise ValidationFailed([FieldError("reason_code", "invalid_choice", "删除原因类别无效",
                                           "Unknown deletion reason code")])
    kept = None
    if code == rules.DeleteReason.DUPLICATE:
        if not duplicate_of_id:
            raise ValidationFailed([FieldError(
                "duplicate_of_id", "required", "删除重卡须注明保留的卡片",
                "Deleting a duplicate needs the card that is kept")])
        try:
            kept = card_get_visible(user=user, card_id=duplicate_of_id)
        except NotFound:
            kept = ReportCard.objects.filter(pk=duplicate_of_id).first()
        if kept is None or kept.pk == card.pk or kept.status == CardStatus.DELETED:
            raise ValidationFailed([FieldError(
                "duplicate_of_id", "invalid", "保留的卡片不存在或已删除",
                "The kept card does not exist or is deleted")])
        if kept.disease_code != card.disease_code:
            raise ValidationFailed([FieldError(
                "duplicate_of_id", "different_disease", "保留的卡片病种不同，不是重卡",
                "The kept card is of another disease; not a duplicate")])
    previous = _count_keys(card)
    was = card.status
    values = {"status": CardStatus.DELETED, "deleted_at": now, "deleted_by": user,
              "delete_reason": reason, "delete_reason_code": code or rules.DeleteReason.OTHER,
              "deleted_after_review": was == CardStatus.REVIEWED, "duplicate_of": kept}
    if card.case_classification == CaseClassification.SUSPECTED and not card.suspected_outcome \
            and code == rules.DeleteReason.EXCLUDED:
        values.update(suspected_outcome=SuspectedOutcome.EXCLUDED, suspected_resolved_at=now)
    changes = _cas_save(card, card.version, values, user, now)
    if was == CardStatus.SUBMITTED:
        _review_transition(card, "delete", user, reason, now)
    _event(card, CardAction.DELETE, user, at=now, from_status=was, reason=reason,
           changes=changes)
    _emit_changed(card, CardAction.DELETE, previous)
    return card


@transaction.atomic
def card_restore(*, user, card_id, version, reason: str,
                 now: datetime | None = None) -> ReportCard:
    """Undo the deletion of a card deleted after review (§2.4 [V]: a card deleted before
    review cannot be restored). It returns to reviewed."""
    _require(user, NotifiablePerm.REVIEW)
    now = now or timezone.now()
    reason = _require_reason(reason)
    card = _load_for_action(user=user, card_id=card_id, version=version, now=now)
    if card.status != CardStatus.DELETED:
        raise _state_conflict(card, "恢复", "restored")
    if not card.deleted_after_review:
        raise Conflict("审核前删除的报告卡不能恢复",
                       "A card deleted before review cannot be restored",
                       code="not_restorable")
    previous = _count_keys(card)
    values = {"status": CardStatus.REVIEWED, "deleted_at": None, "deleted_by": None,
              "delete_reason": "", "delete_reason_code": "", "deleted_after_review": False,
              "duplicate_of": None}
    if card.suspected_outcome == SuspectedOutcome.EXCLUDED:
        values.update(suspected_outcome=SuspectedOutcome.OPEN, suspected_resolved_at=None)
    changes = _cas_save(card, card.version, values, user, now)
    _event(card, CardAction.RESTORE, user, at=now, from_status=CardStatus.DELETED,
           reason=reason, changes=changes)
    _emit_changed(card, CardAction.RESTORE, previous)
    return card


# --- lab results (A9) --------------------------------------------------------------------------

@dataclass
class LabResultInput:
    test_name: str = ""
    result: str = ""
    interpretation: str = ""  # positive / negative / indeterminate
    resulted_at: datetime | None = None
    loinc_code: str = ""
    specimen: str = ""
    collected_at: datetime | None = None
    laboratory: str = ""
    confirms: bool = False


INTERPRETATIONS = ("positive", "negative", "indeterminate")


@transaction.atomic
def card_attach_lab_result(*, user, card_id, data: LabResultInput,
                           now: datetime | None = None) -> LabResult:
    """Attach a laboratory result to a card (audited, in the history). A confirming
    result must be positive; it is the basis for the correction of a suspected case,
    which the reporter then files with card_revise."""
    _require(user, NotifiablePerm.REPORT)
    now = now or timezone.now()
    card = card_get_visible(user=user, card_id=card_id, for_update=True)
    if card.status == CardStatus.DELETED:
        raise _state_conflict(card, "附加检验结果", "given lab results")
    errors = []
    if not (data.test_name or "").strip():
        errors.append(FieldError("test_name", "required", "请填写检测项目",
                                 "The test is required"))
    if not (data.result or "").strip():
        errors.append(FieldError("result", "required", "请填写检测结果",
                                 "The result is required"))
    if data.interpretation not in INTERPRETATIONS:
        errors.append(FieldError("interpretation", "invalid_choice",
                                 "结果判定应为阳性/阴性/不确定",
                                 "Interpretation must be positive, negative or indeterminate"))
    resulted = rules._as_aware(rules._plausible(data.resulted_at, "resulted_at", errors))
    collected = rules._as_aware(rules._plausible(data.collected_at, "collected_at", errors))
    if resulted is None:
        if not any(e.field == "resulted_at" for e in errors):  # not already out of range
            errors.append(FieldError("resulted_at", "required", "请填写报告时间",
                                     "The result time is required"))
    elif resulted > now + timedelta(minutes=10):
        errors.append(FieldError("resulted_at", "future", "报告时间不能晚于当前时间",
                                 "The result time cannot be in the future"))
    if collected and resulted and collected > resulted:
        errors.append(FieldError("collected_at", "after_result", "采样时间不能晚于报告时间",
                                 "Collection cannot be after the result"))
    if data.confirms and data.interpretation != "positive":
        errors.append(FieldError("confirms", "not_positive", "只有阳性结果可作为确诊依据",
                                 "Only a positive result can confirm the case"))
    if data.loinc_code and len(data.loinc_code) > 16:
        errors.append(FieldError("loinc_code", "too_long", "LOINC编码过长",
                                 "LOINC code too long"))
    _raise_if(errors)
    lab = LabResult.objects.create(
        card=card, test_name=data.test_name.strip()[:128], loinc_code=data.loinc_code.strip(),
        specimen=(data.specimen or "").strip()[:64], collected_at=collected,
        resulted_at=resulted, result=data.result.strip()[:200],
        interpretation=data.interpretation, laboratory=(data.laboratory or "").strip()[:128],
        confirms=bool(data.confirms), created_by=user)
    ReportCard.objects.filter(pk=card.pk).update(version=F("version") + 1, updated_at=now)
    card.version += 1
    _event(card, CardAction.LAB_RESULT, user, at=now, from_status=card.status,
           changes={"lab_result": [None, {"id": lab.pk, "test": lab.test_name,
                                          "interpretation": lab.interpretation,
                                          "confirms": lab.confirms}]})
    return lab


# --- batch: import and the batch API ----------------------------------------------------------

@dataclass
class RowResult:
    row: int
    status: str  # "created" | "exists" | "error"
    card_id: int | None = None
    card_number: str = ""
    errors: list[FieldError] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "status": self.status, "card_id": self.card_id,
                "card_number": self.card_number, "duplicates": self.duplicates,
                "errors": [e.as_dict() for e in self.errors]}


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    existing: int = 0
    failed: int = 0
    rows: list[RowResult] = field(default_factory=list)

    @property
    def errors(self) -> list[RowResult]:
        return [r for r in self.rows if r.status == "error"]

    def as_dict(self, *, all_rows: bool = True) -> dict[str, Any]:
        rows = self.rows if all_rows else [r for r in self.rows if r.status != "created"
                                            or r.duplicates]
        return {"total": self.total, "created": self.created, "existing": self.existing,
                "failed": self.failed, "rows": [r.as_dict() for r in rows]}


def cards_import(*, user, rows: Iterable[CardInput | dict | FieldErrorRow],
                 source: str = "import", submit: bool = True, first_row: int = 1,
                 chunk_size: int = 500, now: datetime | None = None) -> ImportReport:
    """Store many cards: each row is checked by the same rules; every good row is stored
    (reported at once unless ``submit`` is False), every bad row is reported with its
    number and field errors, and a row is never half-stored (each chunk commits as one
    transaction after all its rows passed). A row whose (source_system, external_id) was
    already stored is reported as existing, so an import can be run again safely."""
    _require(user, NotifiablePerm.IMPORT if source == CardSource.IMPORT
             else NotifiablePerm.REPORT)
    now = now or timezone.now()
    report = ImportReport()
    units = rules.UnitCache()
    chunk: list[tuple[int, CardInput | FieldErrorRow]] = []
    number = first_row - 1
    for item in rows:
        number += 1
        chunk.append((number, item))
        if len(chunk) >= chunk_size:
            _import_chunk(user=user, chunk=chunk, source=source, submit=submit, now=now,
                          units=units, report=report)
            chunk = []
    if chunk:
        _import_chunk(user=user, chunk=chunk, source=source, submit=submit, now=now,
                      units=units, report=report)
    return report


@dataclass
class FieldErrorRow:
    """A row the parser could not turn into a CardInput (bad date, bad number …)."""

    errors: list[FieldError]


def _to_input(item) -> CardInput | FieldErrorRow | None:
    if item is None or isinstance(item, CardInput | FieldErrorRow):
        return item
    if isinstance(item, dict):
        known = set(CardInput.field_names())
        return CardInput(**{k: v for k, v in item.items() if k in known})
    return FieldErrorRow([FieldError("row", "invalid", "无法识别的行", "Unreadable row")])


def _import_chunk(*, user, chunk, source: str, submit: bool, now: datetime,
                  units: rules.UnitCache, report: ImportReport) -> None:
    inputs = [(n, _to_input(item)) for n, item in chunk]
    units.preload({i.reporting_unit_code for _, i in inputs if isinstance(i, CardInput)}
                  | {i.address_code for _, i in inputs if isinstance(i, CardInput)}
                  | ({user.org_unit.code} if getattr(user, "org_unit_id", None) else set()))
    good: list[tuple[int, rules.CheckedCard]] = []
    for n, data in inputs:
        if data is None:  # a blank line of the file
            continue
        report.total += 1
        if isinstance(data, FieldErrorRow):
            report.failed += 1
            report.rows.append(RowResult(row=n, status="error", errors=data.errors))
            continue
        errors, checked = rules.check_card(data, user=user, now=now, units=units,
                                           source=source)
        if errors:
            report.failed += 1
            report.rows.append(RowResult(row=n, status="error", errors=errors))
            continue
        good.append((n, checked))
    if not good:
        return
    _store_checked_batch(user=user, good=good, source=source, submit=submit, now=now,
                         report=report)


def _store_checked_batch(*, user, good, source: str, submit: bool, now: datetime,
                         report: ImportReport) -> None:
    # Already stored (re-run of the same file / exchange): by (source_system, external_id).
    keys = {(c.values.get("source_system", ""), c.values["external_id"])
            for _, c in good if c.values.get("external_id")}
    existing: dict[tuple[str, str], ReportCard] = {}
    if keys:
        for card in ReportCard.objects.filter(
                external_id__in=[k[1] for k in keys]).only(
                "pk", "card_number", "source_system", "external_id"):
            existing[(card.source_system, card.external_id)] = card
    seen_in_batch: dict[tuple[str, str], int] = {}
    to_store: list[tuple[int, rules.CheckedCard]] = []
    for n, checked in good:
        ext = checked.values.get("external_id")
        key = (checked.values.get("source_system", ""), ext)
        if ext and key in existing:
            card = existing[key]
            report.existing += 1
            report.rows.append(RowResult(row=n, status="exists", card_id=card.pk,
                                         card_number=card.card_number))
            continue
        if ext and key in seen_in_batch:
            report.failed += 1
            report.rows.append(RowResult(row=n, status="error", errors=[FieldError(
                "external_id", "duplicate_in_file",
                f"外部卡片编号与第{seen_in_batch[key]}行重复",
                f"Same external id as row {seen_in_batch[key]}")]))
            continue
        if ext:
            seen_in_batch[key] = n
        to_store.append((n, checked))
    if not to_store:
        return
    with transaction.atomic():
        results = _bulk_store(user=user, items=to_store, source=source, submit=submit,
                              now=now)
    for result in results:
        report.created += 1
        report.rows.append(result)
    report.rows.sort(key=lambda r: r.row)


def _bulk_store(*, user, items, source: str, submit: bool, now: datetime) -> list[RowResult]:
    """Store checked cards in the caller's transaction with few queries per card (the
    batch API target is >= 500 cards/s): numbers allocated per unit with one update,
    persons found by the blind index in one query, duplicates of ID-holding cards in one
    query, cards and their history rows bulk-inserted, one audit row for the batch; each
    reported card still gets its review item, its event and (2-hour cards) the alert."""
    by_unit: dict[str, list[int]] = {}
    for i, (_, checked) in enumerate(items):
        by_unit.setdefault(checked.reporting_unit.code, []).append(i)
    numbers: list[str] = [""] * len(items)
    day = timezone.localdate(now)
    for code, positions in by_unit.items():
        for pos, number in zip(positions, _allocate_numbers(code, day, len(positions)),
                               strict=True):
            numbers[pos] = number
    persons = _persons_by_index([c for _, c in items])
    dups = _bulk_duplicates([c for _, c in items])
    doctor = user if getattr(user, "pk", None) else None
    cards: list[ReportCard] = []
    for i, (_, checked) in enumerate(items):
        values = _content_values(checked)
        card = ReportCard(**values)
        v = checked.values
        card.card_number = numbers[i]
        card.card_type = CardType.INITIAL
        card.source = source
        card.external_id = v.get("external_id", "")
        card.source_system = v.get("source_system", "")
        card.reporting_doctor = doctor
        card.created_by = doctor
        reported_at = now if submit else None
        for k, val in rules.report_clock(diagnosis_at=card.diagnosis_at,
                                         deadline_hours=card.deadline_hours,
                                         reported_at=reported_at).items():
            setattr(card, k, val)
        card.status = CardStatus.SUBMITTED if submit else CardStatus.DRAFT
        card.suspected_due_at = rules.suspected_clock(
            classification=card.case_classification, diagnosis_at=card.diagnosis_at,
            disease_code=card.disease_code, subtype_code=card.subtype_code)
        ident = checked.identifier
        # Known residents are linked at once by the blind index; the others go through
        # the MPI right after the commit (cards_complete_intake), off the hot path.
        card.person = persons.get((ident.id_type, ident.index)) if ident else None
        card.duplicate_candidates = dups[i]
        card.version = 1
        cards.append(card)
    _bulk_insert(ReportCard, cards)
    if cards and cards[0].pk is None:  # a backend that does not return keys
        stored = dict(ReportCard.objects.filter(card_number__in=numbers)
                      .values_list("card_number", "pk"))
        for card in cards:
            card.pk = card.id = stored[card.card_number]
    history = []
    for card in cards:
        history.append(CardEvent(card=card, action=CardAction.CREATE, at=now, by=doctor,
                                 to_status=CardStatus.DRAFT, reason=source, version=1))
        if submit:
            history.append(CardEvent(card=card, action=CardAction.SUBMIT, at=now, by=doctor,
                                     from_status=CardStatus.DRAFT,
                                     to_status=CardStatus.SUBMITTED, version=1))
    _bulk_insert(CardEvent, history, batch_size=1000)
    audit_record(event=AuditEventType.RECORD_CREATED, object_type=AUDIT_OBJECT,
                 object_id="", detail={"batch": source, "count": len(cards),
                                       "cards": [[c.pk, c.card_number] for c in cards]})
    if submit:
        for card in cards:
            _emit_changed(card, CardAction.SUBMIT, None)
            if card.deadline_hours <= rules.URGENT_DEADLINE_HOURS:
                _start_review(card, user=user, now=now)  # 2-hour cards: clock at once
                _alert_urgent(card)
    pending = [c.pk for c in cards if c.person_id is None or (
        submit and c.deadline_hours > rules.URGENT_DEADLINE_HOURS)]
    if pending:
        event_emit(topic=TOPIC_STORED, aggregate_type=AUDIT_OBJECT, aggregate_id="",
                   payload={"card_ids": pending})
    return [RowResult(row=n, status="created", card_id=card.pk,
                      card_number=card.card_number, duplicates=card.duplicate_candidates)
            for (n, _), card in zip(items, cards, strict=True)]


def _bulk_insert(model, objs: list, *, batch_size: int = 500) -> None:
    """Insert new rows and set their primary keys. On PostgreSQL through ``COPY`` with keys
    drawn from the table's sequence in one query: the batch API's cards and history rows
    skip the SQL compiler and the server's parsing of a statement with tens of thousands
    of parameters (the values are prepared by each field exactly as ``bulk_create`` does);
    elsewhere ``bulk_create``."""
    if not objs:
        return
    conn = transaction.get_connection()  # the wrapper itself, not the per-thread proxy
    if conn.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if f is not pk]
    table = conn.ops.quote_name(meta.db_table)
    columns = ", ".join(conn.ops.quote_name(f.column) for f in [pk, *fields])
    with conn.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                       "FROM generate_series(1, %s)", [meta.db_table, pk.column, len(objs)])
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj, new_id in zip(objs, ids, strict=True):
                copy.write_row([new_id, *(f.get_db_prep_save(f.pre_save(obj, True), conn)
                                          for f in fields)])
    for obj, new_id in zip(objs, ids, strict=True):
        obj.pk = new_id
        obj._state.adding = False
        obj._state.db = conn.alias


def _persons_by_index(checked_cards: list[rules.CheckedCard]) -> dict[tuple[str, str], Any]:
    """Registered persons by (id type, blind index), one query for a whole batch."""
    from phis.core.people.models import PersonIdentifier, PersonStatus

    wanted = {(c.identifier.id_type, c.identifier.index) for c in checked_cards
              if c.identifier is not None}
    if not wanted or _mpi_intake() is not None:
        return {}  # the MPI links every card itself (and keeps the source record)
    found: dict[tuple[str, str], Any] = {}
    rows = (PersonIdentifier.objects.select_related("person", "person__merged_into")
            .filter(number_index__in=[w[1] for w in wanted]).order_by("-is_primary", "pk"))
    for ident in rows:
        key = (ident.id_type, ident.number_index)
        if key in wanted and key not in found:
            person = ident.person
            if person.status == PersonStatus.MERGED and person.merged_into_id:
                person = person.merged_into
            found[key] = person
    return found


def _bulk_duplicates(checked_cards: list[rules.CheckedCard]) -> list[list[int]]:
    """Duplicate candidates for each card of a batch (§2.4), against stored cards and
    against the earlier rows of the same batch."""
    out: list[list[int]] = [[] for _ in checked_cards]
    indexes = {c.identifier.index for c in checked_cards if c.identifier is not None}
    stored: dict[tuple[str, str], list[ReportCard]] = {}
    if indexes:
        for card in ReportCard.objects.filter(
                id_number_index__in=list(indexes),
                status__in=(CardStatus.SUBMITTED, CardStatus.RETURNED, CardStatus.REVIEWED)
        ).only("pk", "id_number_index", "disease_code", "onset_date", "diagnosis_at"):
            stored.setdefault((card.id_number_index, card.disease_code), []).append(card)
    for i, checked in enumerate(checked_cards):
        v = checked.values
        if checked.identifier is None:
            out[i] = [d.pk for d in _duplicates_of(checked)]
            continue
        year = checked.diagnosis_local.year
        for card in stored.get((checked.identifier.index, v["disease_code"]), []):
            if timezone.localdate(card.diagnosis_at).year == year and rules.same_episode(
                    v["disease_code"], card.onset_date, v["onset_date"]):
                out[i].append(card.pk)
    return out


def _checked_from_card(card: ReportCard) -> rules.CheckedCard:
    """What the MPI needs of a stored card (identifiers decrypted in memory only)."""
    from phis.core.crypto.fields import decrypt_text
    from phis.core.people.identifiers import normalise_identifier

    checked = rules.CheckedCard()
    checked.values = {"patient_name": card.patient_name, "sex": card.sex,
                      "birth_date": card.birth_date}
    number = decrypt_text(card.id_number_encrypted, purpose=ID_PURPOSE)
    if number:
        ident = normalise_identifier(card.id_type or "01", number)
        checked.identifier = ident if not isinstance(ident, FieldError) else None
    checked.phone = decrypt_text(card.phone_encrypted, purpose=PHONE_PURPOSE)
    checked.address_unit = card.address_unit
    checked.address_text = decrypt_text(card.address_text_encrypted, purpose=ADDRESS_PURPOSE)
    return checked


def cards_complete_intake(*, card_ids: Iterable[int], now: datetime | None = None) -> int:
    """Finish batch-stored cards (idempotent): link each to its person through the MPI and
    open the review item of each card still awaiting review without one. Returns how many
    cards were touched."""
    now = now or timezone.now()
    touched = 0
    owners: dict = {}
    for card_id in list(card_ids):
        with transaction.atomic():
            card = (ReportCard.objects.select_for_update(of=("self",))
                    .select_related("reporting_unit", "address_unit", "reporting_doctor")
                    .filter(pk=card_id).first())
            if card is None:
                continue
            changed = False
            if card.person_id is None:
                person = _link_person(checked=_checked_from_card(card),
                                      user=card.reporting_doctor, unit=card.reporting_unit,
                                      source_key=card.card_number)
                if person is not None:
                    ReportCard.objects.filter(pk=card.pk).update(person=person)
                    changed = True
            if card.status == CardStatus.SUBMITTED:  # made unless this submission has one
                changed = _start_review(card, user=None, now=now, state_of="submitted",
                                        owners=owners) is not None or changed
            touched += int(changed)
    return touched


def cards_intake_sweep(*, limit: int = 500, now: datetime | None = None) -> int:
    """Catch-up for batch cards whose follow-up did not run (worker down): unlinked cards
    and submitted cards without an open review item, oldest first."""
    from phis.core.workflow.models import WorkflowInstance

    now = now or timezone.now()
    settled = now - timedelta(minutes=2)
    unlinked = ReportCard.objects.filter(person__isnull=True, created_at__lte=settled) \
        .exclude(status=CardStatus.DELETED).exclude(patient_name="")
    open_items = WorkflowInstance.objects.filter(
        definition=rules.REVIEW_WORKFLOW_NAME, is_open=True).values("subject_id")
    unreviewed = ReportCard.objects.filter(status=CardStatus.SUBMITTED,
                                           reported_at__lte=settled) \
        .exclude(pk__in=open_items.values("subject_id"))
    ids = list(unlinked.order_by("pk").values_list("pk", flat=True)[:limit])
    ids += list(unreviewed.order_by("pk").values_list("pk", flat=True)[:limit])
    return cards_complete_intake(card_ids=sorted(set(ids)), now=now)


@handles(TOPIC_STORED, name="notifiable.complete_intake")
def _on_cards_stored(event) -> None:
    cards_complete_intake(card_ids=[int(i) for i in (event.payload or {}).get("card_ids", [])])


# --- MPI merges ---------------------------------------------------------------------------------

@transaction.atomic
def cards_repoint_person(*, survivor_id: int, merged_id: int) -> int:
    """After the MPI merged two persons, the merged one's cards belong to the survivor."""
    count = ReportCard.objects.filter(person_id=merged_id).update(person_id=survivor_id)
    if count:
        audit_record(event=AuditEventType.RECORD_UPDATED, object_type=AUDIT_OBJECT,
                     object_id="", person_id=survivor_id,
                     detail={"person_merged": {"from": merged_id, "to": survivor_id},
                             "cards": count})
    return count


@handles("people.person.merged", name="notifiable.repoint_person")
def _on_person_merged(event) -> None:
    payload = event.payload or {}
    if payload.get("survivor_id") and payload.get("merged_id"):
        cards_repoint_person(survivor_id=int(payload["survivor_id"]),
                             merged_id=int(payload["merged_id"]))


# --- wiring -------------------------------------------------------------------------------------

def _payload_for_signature(subject_id: str) -> dict[str, Any]:
    card = ReportCard.objects.select_related("reporting_unit", "address_unit").get(
        pk=int(subject_id))
    return card_payload(card)


def connect() -> None:
    """Register the review workflow and the payload builder of the reviewer's signature
    (idempotent). Called from NotifiableConfig.ready and on import of this module."""
    from phis.core.workflow.definitions import workflow_register

    workflow_register(rules.REVIEW_WORKFLOW)
    try:
        from phis.apps.esign.services import register_payload_builder

        register_payload_builder(AUDIT_OBJECT, _payload_for_signature)
    except ImportError:  # esign not installed in this deployment
        pass


connect()
