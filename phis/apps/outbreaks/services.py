"""Writes of outbreak events: open (from a signal or by hand), link and unlink cases,
record investigation steps, add contacts and their daily follow-up, move the status, close
with a report. Every write runs in a transaction, is audited and emits an event.

Response steps: shared/domain/surveillance.md §3.1 "Signal response and verification"
(field investigation of suspected events → confirmed outbreak or not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from phis.apps.notifiable.selectors import card_get_visible
from phis.apps.outbreaks.models import (
    Conclusion,
    Contact,
    ContactStatus,
    FollowUp,
    Outbreak,
    OutbreakCase,
    OutbreakStatus,
    Step,
)
from phis.apps.outbreaks.rules import EXPOSURE_KINDS, SETTINGS, STEP_KINDS, observation_days
from phis.apps.outbreaks.selectors import (
    contact_get_visible,
    outbreak_figures,
    outbreak_get_visible,
    outbreak_manageable,
)
from phis.core.audit.services import audit_record
from phis.core.audit.types import AuditEventType
from phis.core.codes.selectors import notifiable_disease_rules
from phis.core.crypto.fields import encrypt_text
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
from phis.core.orgunits.scoping import unit_in_scope

# Moves an investigator may make; closing has its own service (it needs the report).
TRANSITIONS = {
    OutbreakStatus.OPEN: (OutbreakStatus.INVESTIGATING,),
    OutbreakStatus.INVESTIGATING: (OutbreakStatus.CONTROLLED,),
    OutbreakStatus.CONTROLLED: (OutbreakStatus.INVESTIGATING,),
    OutbreakStatus.CLOSED: (),
}


def _required(value: str, field: str, zh: str, en: str, errors: list[FieldError]) -> str:
    value = (value or "").strip()
    if not value:
        errors.append(FieldError(field, "required", f"请填写{zh}", f"{en} is required"))
    return value


def _stale() -> Conflict:
    return Conflict("该事件已被他人修改，请刷新后重试",
                    "The event was changed by someone else; reload and try again")


def _manageable(user, outbreak: Outbreak) -> None:
    if not outbreak_manageable(user=user, outbreak=outbreak):
        raise PermissionDenied("只有事件所在县区的疾控人员可以处置该事件",
                               "Only CDC staff of the event's county can manage it")


def _not_closed(outbreak: Outbreak) -> None:
    if outbreak.status == OutbreakStatus.CLOSED:
        raise Conflict("事件已结案，不能再修改", "The event is closed and cannot be changed",
                       code="outbreak_closed")


def _number(county: OrgUnit, when) -> str:
    prefix = f"OB{county.code[:6]}{when:%Y}"
    last = (Outbreak.objects.filter(number__startswith=prefix).order_by("-number")
            .values_list("number", flat=True).first())
    seq = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def _emit(topic: str, outbreak: Outbreak, **extra) -> None:
    event_emit(topic=topic, aggregate_type="outbreaks.outbreak", aggregate_id=str(outbreak.pk),
               payload={"outbreak_id": outbreak.pk, "number": outbreak.number,
                        "status": outbreak.status, "disease_code": outbreak.disease_code,
                        "county_code": outbreak.county.code, "signal_id": outbreak.signal_id,
                        **extra})


@dataclass
class OutbreakInput:
    title: str = ""
    disease_code: str = ""
    county_code: str = ""
    place_code: str = ""
    setting: str = ""
    place_text: str = ""
    summary: str = ""
    signal_id: int | None = None


def _signal_facts(user, signal_id: int) -> dict:
    """The disease and county of a signal (through the signals app's selectors)."""
    try:
        from phis.apps.signals.selectors import signal_get_visible
    except ImportError:  # the signals module is not part of this deployment
        raise ValidationFailed([FieldError("signal_id", "unknown", "预警信号模块未启用",
                                           "The signals module is not installed")]) from None
    try:
        signal = signal_get_visible(user=user, signal_id=signal_id)
    except NotFound:
        raise ValidationFailed([FieldError("signal_id", "not_found", "预警信号不存在或无权查看",
                                           "The signal does not exist or is outside your scope")]
                               ) from None
    county = getattr(signal, "county", None)
    return {"disease_code": getattr(signal, "disease_code", ""),
            "county_code": county.code if isinstance(county, OrgUnit)
            else getattr(signal, "county_code", "")}


def _link_signal(user, signal_id: int, outbreak: Outbreak) -> None:
    """The signal records the event opened from it; only a signal verified as a suspected
    or confirmed event can open one (§3.1 step 3: field investigation of suspected
    events)."""
    from phis.apps.signals.services import signal_link_outbreak

    signal_link_outbreak(signal_id=signal_id, outbreak_ref=outbreak.number, user=user)


def outbreak_open(*, user, data: OutbreakInput) -> Outbreak:
    """Open an event. From a signal, its disease and county are taken over; one event per
    signal (opening again returns the existing event)."""
    errors: list[FieldError] = []
    if data.signal_id is not None:
        from phis.apps.outbreaks.selectors import outbreak_by_signal

        existing = outbreak_by_signal(signal_id=data.signal_id)
        if existing is not None:
            return outbreak_get_visible(user=user, outbreak_id=existing.pk)
        facts = _signal_facts(user, data.signal_id)
        data.disease_code = data.disease_code or facts["disease_code"]
        data.county_code = data.county_code or facts["county_code"]
    title = _required(data.title, "title", "事件名称", "Title", errors)
    disease = _required(data.disease_code, "disease_code", "病种", "Disease", errors)
    if disease:
        try:
            notifiable_disease_rules(disease)
        except ApplicationError:
            errors.append(FieldError("disease_code", "invalid", "病种代码无效",
                                     "Unknown disease code"))
    county = OrgUnit.objects.filter(code=(data.county_code or "").strip(),
                                    level=Level.COUNTY).first()
    if county is None:
        errors.append(FieldError("county_code", "invalid", "请选择所在县区",
                                 "Choose the county"))
    elif not unit_in_scope(user, county.path):
        errors.append(FieldError("county_code", "out_of_scope", "只能为本辖区立案",
                                 "You can open events only in your own area"))
    place = None
    if data.place_code:
        place = OrgUnit.objects.filter(code=data.place_code.strip()).first()
        if place is None or (county is not None and not place.path.startswith(county.path)):
            errors.append(FieldError("place_code", "invalid", "发生地须在所选县区内",
                                     "The place must lie in the chosen county"))
    if data.setting not in dict(SETTINGS):
        errors.append(FieldError("setting", "invalid_choice", "请选择场所类型",
                                 "Choose the kind of setting"))
    if errors:
        raise ValidationFailed(errors)
    now = timezone.now()
    for _attempt in range(3):  # two investigators opening at once may race for a number
        try:
            with transaction.atomic():
                outbreak = Outbreak.objects.create(
                    number=_number(county, timezone.localtime(now)), title=title,
                    disease_code=disease, county=county, place=place, setting=data.setting,
                    place_text=data.place_text.strip(), summary=data.summary.strip(),
                    signal_id=data.signal_id, lead=user, opened_at=now, created_by=user)
                Step.objects.create(outbreak=outbreak, kind="report", at=now, by=user,
                                    summary="立案 Event opened" + (
                                        f" (预警信号 signal #{data.signal_id})"
                                        if data.signal_id else ""))
                if data.signal_id is not None:
                    _link_signal(user, data.signal_id, outbreak)
                _emit("outbreaks.outbreak.opened", outbreak)
                return outbreak
        except IntegrityError:
            if data.signal_id is not None:
                raise
            continue
    raise Conflict("事件编号冲突，请重试", "Event number collision; try again")


def outbreak_set_status(*, user, outbreak_id: int, version: int, status: str,
                        note: str = "") -> Outbreak:
    with transaction.atomic():
        outbreak = outbreak_get_visible(user=user, outbreak_id=outbreak_id, for_update=True)
        _manageable(user, outbreak)
        if outbreak.version != version:
            raise _stale()
        if status not in TRANSITIONS.get(outbreak.status, ()):
            raise ValidationFailed([FieldError(
                "status", "invalid_transition",
                f"不能从“{outbreak.get_status_display()}”改为该状态",
                f"Cannot move from {outbreak.status} to {status}")])
        before = outbreak.status
        outbreak.status = status
        outbreak.version += 1
        outbreak.save(update_fields=["status", "version", "updated_at"])
        Step.objects.create(outbreak=outbreak, kind="other", at=timezone.now(), by=user,
                            summary=f"状态 status: {before} → {status}", details=note.strip())
        _emit("outbreaks.outbreak.changed", outbreak, previous_status=before)
        return outbreak


def outbreak_link_cases(*, user, outbreak_id: int, card_ids: list[int],
                        index_card_id: int | None = None) -> list[OutbreakCase]:
    """Link report cards to the event (each once); the cards must be visible to the user
    and of the event's disease."""
    if not card_ids:
        raise ValidationFailed([FieldError("card_ids", "required", "请选择要关联的报告卡",
                                           "Choose the cards to link")])
    with transaction.atomic():
        outbreak = outbreak_get_visible(user=user, outbreak_id=outbreak_id, for_update=True)
        _manageable(user, outbreak)
        _not_closed(outbreak)
        linked = set(outbreak.cases.values_list("card_id", flat=True))
        created, errors = [], []
        now = timezone.now()
        for card_id in dict.fromkeys(card_ids):
            try:
                card = card_get_visible(user=user, card_id=int(card_id))
            except (NotFound, ValueError, TypeError):
                errors.append(FieldError("card_ids", "not_found",
                                         f"报告卡{card_id}不存在或无权查看",
                                         f"Card {card_id} does not exist or is out of scope"))
                continue
            if card.deleted_at is not None:
                errors.append(FieldError("card_ids", "deleted", f"报告卡{card.card_number}已删除",
                                         f"Card {card.card_number} is deleted"))
                continue
            if card.pk in linked:
                continue
            created.append(OutbreakCase(outbreak=outbreak, card=card, linked_at=now,
                                        linked_by=user,
                                        is_index=index_card_id is not None
                                        and card.pk == index_card_id))
        if errors:
            raise ValidationFailed(errors)
        OutbreakCase.objects.bulk_create(created)
        if created:
            outbreak.version += 1
            outbreak.save(update_fields=["version", "updated_at"])
            audit_record(event=AuditEventType.RECORD_UPDATED, object_type="outbreaks.outbreak",
                         object_id=outbreak.pk,
                         detail={"linked_cards": [c.card_id for c in created]})
            _emit("outbreaks.outbreak.cases_linked", outbreak,
                  card_ids=[c.card_id for c in created])
        return created


def outbreak_unlink_case(*, user, outbreak_id: int, card_id: int, reason: str) -> None:
    errors: list[FieldError] = []
    reason = _required(reason, "reason", "取消关联的原因", "A reason", errors)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        outbreak = outbreak_get_visible(user=user, outbreak_id=outbreak_id, for_update=True)
        _manageable(user, outbreak)
        _not_closed(outbreak)
        deleted, _ = outbreak.cases.filter(card_id=card_id).delete()
        if not deleted:
            raise NotFound("关联病例", "linked case")
        outbreak.version += 1
        outbreak.save(update_fields=["version", "updated_at"])
        Step.objects.create(outbreak=outbreak, kind="data_review", at=timezone.now(), by=user,
                            summary=f"取消关联报告卡 unlinked card #{card_id}", details=reason)
        audit_record(event=AuditEventType.RECORD_UPDATED, object_type="outbreaks.outbreak",
                     object_id=outbreak.pk, detail={"unlinked_card": card_id,
                                                    "reason": reason})


@dataclass
class StepInput:
    kind: str = ""
    summary: str = ""
    details: str = ""
    at: object = None  # datetime; default now


def step_add(*, user, outbreak_id: int, data: StepInput) -> Step:
    errors: list[FieldError] = []
    if data.kind not in dict(STEP_KINDS):
        errors.append(FieldError("kind", "invalid_choice", "请选择步骤类型",
                                 "Choose the kind of step"))
    summary = _required(data.summary, "summary", "摘要", "Summary", errors)
    at = data.at or timezone.now()
    if at > timezone.now() + timedelta(minutes=5):
        errors.append(FieldError("at", "future", "时间不能晚于现在",
                                 "The time cannot be in the future"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        outbreak = outbreak_get_visible(user=user, outbreak_id=outbreak_id, for_update=True)
        _manageable(user, outbreak)
        _not_closed(outbreak)
        if at < outbreak.opened_at - timedelta(days=60):
            raise ValidationFailed([FieldError("at", "too_early", "时间早于事件立案60天以上",
                                               "More than 60 days before the event opened")])
        step = Step.objects.create(outbreak=outbreak, kind=data.kind, at=at, by=user,
                                   summary=summary[:200], details=data.details.strip())
        if outbreak.status == OutbreakStatus.OPEN:
            # the first recorded step starts the investigation
            outbreak.status = OutbreakStatus.INVESTIGATING
        outbreak.version += 1
        outbreak.save(update_fields=["status", "version", "updated_at"])
        return step


@dataclass
class ContactInput:
    name: str = ""
    sex: int = 0
    age: int | None = None
    id_number: str = ""
    phone: str = ""
    address_code: str = ""
    exposure_kind: str = ""
    source_card_id: int | None = None
    last_exposure: date | None = None
    observer_unit_code: str = ""


def _link_person(contact: Contact, data: ContactInput, user) -> None:
    """A contact with a resident ID goes through the master patient index like every
    incoming person record (issue 3), so the 360 view and later cards find them."""
    if not data.id_number:
        return
    try:
        from phis.core.people.mpi_services import IncomingPerson, mpi_intake
    except ImportError:  # pragma: no cover - MPI not installed
        return
    try:
        result = mpi_intake(
            record=IncomingPerson(name=data.name, sex=data.sex or 0, id_number=data.id_number,
                                  phone=data.phone, address_unit_code=data.address_code),
            source="outbreaks.contact", source_key=str(contact.pk), by=user)
    except ApplicationError:
        return  # the contact is kept; the MPI refuses only records it cannot match at all
    contact.person = result.person
    contact.save(update_fields=["person"])


def contact_add(*, user, outbreak_id: int, data: ContactInput) -> Contact:
    errors: list[FieldError] = []
    name = _required(data.name, "name", "姓名", "Name", errors)
    if data.sex not in (0, 1, 2, 9):
        errors.append(FieldError("sex", "invalid_choice", "性别代码无效 (GB/T 2261.1)",
                                 "Invalid sex code (GB/T 2261.1)"))
    if data.age is not None and not 0 <= data.age <= 130:
        errors.append(FieldError("age", "out_of_range", "年龄应在0到130之间",
                                 "Age must be between 0 and 130"))
    if data.exposure_kind not in dict(EXPOSURE_KINDS):
        errors.append(FieldError("exposure_kind", "invalid_choice", "请选择接触方式",
                                 "Choose how the contact was exposed"))
    today = timezone.localdate()
    if data.last_exposure is None:
        errors.append(FieldError("last_exposure", "required", "请填写末次接触日期",
                                 "The date of last exposure is required"))
    elif data.last_exposure > today:
        errors.append(FieldError("last_exposure", "future", "末次接触日期不能晚于今天",
                                 "The last exposure cannot be in the future"))
    phone = "".join(ch for ch in (data.phone or "") if ch.isdigit() or ch == "+")
    if data.phone and not 7 <= len(phone) <= 15:
        errors.append(FieldError("phone", "invalid", "电话号码格式不正确",
                                 "Invalid phone number"))
    id_number = (data.id_number or "").strip().upper()
    if id_number:
        from phis.core.people.identifiers import normalise_identifier

        checked = normalise_identifier("01", id_number)
        if isinstance(checked, FieldError):
            errors.append(FieldError("id_number", checked.code, checked.message,
                                     checked.message_en))
        elif hasattr(checked, "number"):
            id_number = checked.number
    address = OrgUnit.objects.filter(code=data.address_code.strip()).first() \
        if data.address_code else None
    if data.address_code and address is None:
        errors.append(FieldError("address_code", "invalid", "住址区划代码无效",
                                 "Unknown address code"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        outbreak = outbreak_get_visible(user=user, outbreak_id=outbreak_id, for_update=True)
        _manageable(user, outbreak)
        _not_closed(outbreak)
        observer = _observer_unit(data.observer_unit_code, address, outbreak)
        source_case = None
        if data.source_card_id:
            source_case = outbreak.cases.filter(card_id=data.source_card_id).first()
            if source_case is None:
                raise ValidationFailed([FieldError(
                    "source_card_id", "not_linked", "接触的病例须是本事件已关联的病例",
                    "The source case must be a case linked to this event")])
        contact = Contact.objects.create(
            outbreak=outbreak, name=name, sex=data.sex or 0, age=data.age,
            id_number_encrypted=encrypt_text(id_number, purpose="outbreaks.contact.id")
            if id_number else None, id_number_masked=mask_id_number(id_number),
            phone_encrypted=encrypt_text(phone, purpose="outbreaks.contact.phone")
            if phone else None, phone_masked=mask_phone(phone), address_unit=address,
            exposure_kind=data.exposure_kind, source_case=source_case,
            last_exposure=data.last_exposure,
            observation_end=data.last_exposure + timedelta(
                days=observation_days(outbreak.disease_code)),
            observer_unit=observer, created_by=user)
        _link_person(contact, data, user)
        outbreak.version += 1
        outbreak.save(update_fields=["version", "updated_at"])
        return contact


def _observer_unit(code: str, address: OrgUnit | None, outbreak: Outbreak) -> OrgUnit:
    """Who follows the contact up: the unit given, else the township health centre of the
    contact's township, else the event's county CDC."""
    if code:
        unit = OrgUnit.objects.filter(code=code.strip()).first()
        if unit is None:
            raise ValidationFailed([FieldError("observer_unit_code", "invalid",
                                               "随访单位代码无效", "Unknown follow-up unit")])
        return unit
    if address is not None:
        parts = address.path.strip("/").split("/")
        township_path = "/" + "/".join(parts[:3]) + "/" if len(parts) >= 3 else address.path
        centre = OrgUnit.objects.filter(level=Level.FACILITY, path__startswith=township_path,
                                        facility_type__in=("township_health_centre",
                                                           "community_health_centre")
                                        ).order_by("code").first()
        if centre is not None:
            return centre
    cdc = OrgUnit.objects.filter(level=Level.FACILITY, facility_type="cdc",
                                 path__startswith=outbreak.county.path).order_by("code").first()
    return cdc or outbreak.county


@dataclass
class FollowUpInput:
    day: date | None = None
    reached: bool = True
    symptomatic: bool = False
    temperature: str | float | None = None
    symptoms: str = ""
    note: str = ""


def contact_follow_up(*, user, contact_id: int, data: FollowUpInput) -> FollowUp:
    """Record one day's check (one per day; recording the same day again corrects it)."""
    errors: list[FieldError] = []
    day = data.day or timezone.localdate()
    temperature = None
    if data.temperature not in (None, ""):
        try:
            temperature = Decimal(str(data.temperature)).quantize(Decimal("0.1"))
            if not Decimal("34.0") <= temperature <= Decimal("43.0"):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.append(FieldError("temperature", "out_of_range", "体温应在34.0到43.0℃之间",
                                     "Temperature must be between 34.0 and 43.0 °C"))
    if day > timezone.localdate():
        errors.append(FieldError("day", "future", "随访日期不能晚于今天",
                                 "The follow-up day cannot be in the future"))
    if data.symptomatic and not data.symptoms.strip():
        errors.append(FieldError("symptoms", "required", "有症状时请填写症状",
                                 "Describe the symptoms"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        contact = contact_get_visible(user=user, contact_id=contact_id, for_update=True)
        _not_closed(contact.outbreak)
        if not contact.last_exposure < day <= contact.observation_end:
            raise ValidationFailed([FieldError(
                "day", "outside_observation", "随访日期不在医学观察期内",
                f"The day is outside the observation period "
                f"({contact.last_exposure + timedelta(days=1)} … {contact.observation_end})")])
        follow_up, _ = FollowUp.objects.update_or_create(
            contact=contact, day=day,
            defaults={"reached": data.reached, "symptomatic": data.symptomatic,
                      "temperature": temperature, "symptoms": data.symptoms.strip()[:200],
                      "note": data.note.strip()[:200], "by": user, "at": timezone.now()})
        if data.symptomatic:
            _emit("outbreaks.contact.symptomatic", contact.outbreak, contact_id=contact.pk,
                  day=day.isoformat())
            from phis.core.notify.services import notification_send

            notification_send(recipients=[contact.outbreak.lead],
                              title=f"密接出现症状 Contact symptomatic: {contact.outbreak.number}",
                              body=f"{contact.name} {day}: {data.symptoms.strip()[:100]}",
                              link=f"/outbreaks/{contact.outbreak_id}/")
        return follow_up


def contact_set_status(*, user, contact_id: int, version: int, status: str, note: str = "",
                       card_id: int | None = None) -> Contact:
    errors: list[FieldError] = []
    if status not in ContactStatus.values:
        errors.append(FieldError("status", "invalid_choice", "状态无效", "Invalid status"))
    if status in (ContactStatus.LOST,) and not note.strip():
        errors.append(FieldError("note", "required", "请说明失访情况",
                                 "Explain why the contact was lost"))
    if status == ContactStatus.BECAME_CASE and not card_id:
        errors.append(FieldError("card_id", "required", "转为病例须关联其报告卡",
                                 "Link the new case's report card"))
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        contact = contact_get_visible(user=user, contact_id=contact_id, for_update=True)
        _not_closed(contact.outbreak)
        if contact.version != version:
            raise Conflict("该密接已被他人修改，请刷新后重试",
                           "The contact was changed by someone else; reload and try again")
        if status == ContactStatus.COMPLETED and contact.observation_end > timezone.localdate():
            raise ValidationFailed([FieldError(
                "status", "too_early", f"观察期至{contact.observation_end}，尚未期满",
                f"Observation runs until {contact.observation_end}")])
        if status == ContactStatus.BECAME_CASE:
            card = card_get_visible(user=user, card_id=card_id)
            contact.became_case_card = card
            if outbreak_manageable(user=user, outbreak=contact.outbreak):
                outbreak_link_cases(user=user, outbreak_id=contact.outbreak_id,
                                    card_ids=[card.pk])
        contact.status = status
        contact.status_note = note.strip()[:200]
        contact.version += 1
        contact.save(update_fields=["status", "status_note", "became_case_card", "version",
                                    "updated_at"])
        return contact


@dataclass
class ClosingInput:
    conclusion: str = ""
    source_of_infection: str = ""
    transmission_route: str = ""
    measures: str = ""
    closing_summary: str = ""
    close_early_reason: str = ""   # when the quiet period has not passed / contacts observed
    pin: str | None = None         # the investigator's signing PIN (optional e-signature)


def outbreak_close(*, user, outbreak_id: int, version: int, data: ClosingInput) -> Outbreak:
    """Close with the closing report. Refused while contacts are still under observation or
    before two incubation periods without a new case, unless a reason is given."""
    errors: list[FieldError] = []
    if data.conclusion not in Conclusion.values:
        errors.append(FieldError("conclusion", "invalid_choice", "请选择调查结论",
                                 "Choose the conclusion"))
    summary = _required(data.closing_summary, "closing_summary", "结案报告", "The closing report",
                        errors)
    if data.conclusion == Conclusion.OUTBREAK:
        _required(data.measures, "measures", "采取的措施", "The measures taken", errors)
    if errors:
        raise ValidationFailed(errors)
    unlocked = None
    if data.pin:
        from phis.apps.esign.services import signer_unlock

        # Outside the transaction: a wrong PIN must count towards the lock-out even though
        # the closing is refused.
        unlocked = signer_unlock(user=user, pin=data.pin)
    with transaction.atomic():
        outbreak = outbreak_get_visible(user=user, outbreak_id=outbreak_id, for_update=True)
        _manageable(user, outbreak)
        _not_closed(outbreak)
        if outbreak.version != version:
            raise _stale()
        figures = outbreak_figures(outbreak=outbreak)
        early = []
        if figures.observing:
            early.append(f"{figures.observing}名密接仍在医学观察中 "
                         f"{figures.observing} contacts still under observation")
        if data.conclusion == Conclusion.OUTBREAK and figures.cases and not figures.quiet_enough:
            early.append(f"末例发病后未满{figures.quiet_days_needed}天 "
                         f"fewer than {figures.quiet_days_needed} days since the last onset")
        if early and not data.close_early_reason.strip():
            raise ValidationFailed([FieldError("close_early_reason", "required",
                                               "提前结案须说明理由：" + "；".join(early),
                                               "Give a reason to close early: " +
                                               "; ".join(early))])
        outbreak.status = OutbreakStatus.CLOSED
        outbreak.closed_at = timezone.now()
        outbreak.closed_by = user
        outbreak.conclusion = data.conclusion
        outbreak.source_of_infection = data.source_of_infection.strip()
        outbreak.transmission_route = data.transmission_route.strip()
        outbreak.measures = data.measures.strip()
        outbreak.closing_summary = summary
        outbreak.final_figures = {**figures.as_dict(),
                                  "close_early_reason": data.close_early_reason.strip()}
        outbreak.version += 1
        outbreak.save()
        Step.objects.create(outbreak=outbreak, kind="report", at=outbreak.closed_at, by=user,
                            summary="结案 Event closed",
                            details=data.close_early_reason.strip())
        if unlocked is not None:
            from phis.apps.esign.services import sign_step

            sign_step(user=user, subject=outbreak, payload=closing_payload(outbreak),
                      unlocked=unlocked, step="outbreaks.close")
        _emit("outbreaks.outbreak.closed", outbreak, conclusion=outbreak.conclusion)
        return outbreak


def closing_payload(outbreak: Outbreak) -> dict:
    """The canonical content of a closing report, as signed."""
    return {"number": outbreak.number, "title": outbreak.title,
            "disease_code": outbreak.disease_code, "county": outbreak.county.code,
            "opened_at": outbreak.opened_at.isoformat(),
            "closed_at": outbreak.closed_at.isoformat() if outbreak.closed_at else None,
            "conclusion": outbreak.conclusion,
            "source_of_infection": outbreak.source_of_infection,
            "transmission_route": outbreak.transmission_route, "measures": outbreak.measures,
            "closing_summary": outbreak.closing_summary, "figures": outbreak.final_figures,
            "cases": sorted(outbreak.cases.values_list("card__card_number", flat=True))}



# --- demo -------------------------------------------------------------------------------

def outbreaks_demo_setup() -> dict:
    """Two events of the demo city (idempotent): the school norovirus outbreak injected a
    year ago, investigated and closed, and the scarlet-fever cluster going on now, under
    investigation with close contacts in daily follow-up. Both in 东营区, worked by the
    demo county reviewer."""
    from phis.apps.notifiable.selectors import CardFilter, card_list, case_counts
    from phis.core.accounts.models import User

    if Outbreak.objects.exists():
        return {"outbreaks": 0, "skipped": "events already exist"}
    user = User.objects.filter(username="demo.reviewer").first()
    if user is None:
        return {"outbreaks": 0, "skipped": "no demo reviewer"}
    today = timezone.localdate()
    created = 0
    for code, days_back, span, title, closed in (
            ("infectious-diarrhoea", 372, 10, "某小学诺如病毒感染暴发", True),
            ("scarlet-fever", 8, 8, "某小学猩红热聚集性疫情", False)):
        first = today - timedelta(days=days_back)
        rows = case_counts(date_from=first, date_to=first + timedelta(days=span),
                           disease_codes=[code], county_code="370502",
                           by=("township_code",))
        if not rows:
            continue
        township = max(rows, key=lambda r: r["count"])["township_code"]
        cards = list(card_list(user=user, filters=CardFilter(
            disease_code=code, township_code=township, date_basis="onset", date_from=first,
            date_to=first + timedelta(days=span))).order_by("onset_date", "pk")[:60])
        if not cards:
            continue
        outbreak = outbreak_open(user=user, data=OutbreakInput(
            title=title, disease_code=code, county_code="370502", place_code=township,
            setting="school", summary="演示数据：学校聚集性病例 Demo: a school cluster"))
        Outbreak.objects.filter(pk=outbreak.pk).update(
            opened_at=cards[0].reported_at or timezone.now())
        outbreak.refresh_from_db()
        outbreak_link_cases(user=user, outbreak_id=outbreak.pk, card_ids=[c.pk for c in cards],
                            index_card_id=cards[0].pk)
        for kind, summary in (("data_review", "核查报告卡，排除重卡"),
                              ("phone", "电话核实学校因病缺课情况"),
                              ("field", "现场流行病学调查，晨检记录核查"),
                              ("sampling", "采集病例肛拭子/咽拭子送检"),
                              ("measure", "班级消毒、因病缺课追踪、健康宣教")):
            step_add(user=user, outbreak_id=outbreak.pk,
                     data=StepInput(kind=kind, summary=summary,
                                    at=min(timezone.now(), outbreak.opened_at +
                                           timedelta(hours=2 + 6 * created))))
        last = max(c.onset_date for c in cards)
        for k, name in enumerate(("王梓涵", "李浩然", "张一诺", "刘子轩", "陈可馨")):
            contact = contact_add(user=user, outbreak_id=outbreak.pk, data=ContactInput(
                name=name, sex=1 + k % 2, age=8 + k % 3, exposure_kind="classmate",
                source_card_id=cards[0].pk, last_exposure=min(last, today - timedelta(days=1)),
                address_code=township))
            end = min(contact.observation_end, today)
            day = contact.last_exposure + timedelta(days=1)
            while day <= end and (closed or day < today):
                FollowUp.objects.create(contact=contact, day=day, by=user, at=timezone.now(),
                                        temperature=Decimal("36.5"))
                day += timedelta(days=1)
            if closed:
                Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.COMPLETED)
        if closed:
            outbreak.refresh_from_db()
            outbreak_close(user=user, outbreak_id=outbreak.pk, version=outbreak.version,
                           data=ClosingInput(
                               conclusion=Conclusion.OUTBREAK,
                               source_of_infection="学校食堂工作人员隐性感染（推断）",
                               transmission_route="食源性传播后继发人传人",
                               measures="停止供应凉菜，全校消毒，病例隔离至症状消失后72小时",
                               closing_summary="一起学校诺如病毒感染暴发，经处置后疫情终止。",
                               close_early_reason="演示数据 demo data"))
        created += 1
    return {"outbreaks": created}
