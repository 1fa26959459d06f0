"""Every A4 write: opening managed cases from reviewed cards, the plan's tasks on the
workflow kernel, treatment, follow-ups, outcomes, contacts, ILI sentinel weeks and school
ILI clusters. Each write runs in a transaction, is audited (register_audited in apps.py plus
access rows in the pages/API) and emits its event.

Rules (clocks, schedules, outcome definitions, thresholds) come from rules.py.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from phis.apps.keydiseases import rules, selectors
from phis.apps.keydiseases.models import (
    CareStatus,
    CaseCardLink,
    CaseStatus,
    CaseTask,
    ClusterLevel,
    Contact,
    ContactCheck,
    ContactRelation,
    ContactStatus,
    DotMode,
    DrugResistance,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    IliCluster,
    IliSite,
    IliWeek,
    LabOutcome,
    ManagedCase,
    Outcome,
    ScreeningResult,
    Severity,
    SiteKind,
)
from phis.apps.keydiseases.permissions import KeyDiseasePerm
from phis.apps.keydiseases.workflow import TASK_DEFINITION
from phis.core.events.services import event_emit
from phis.core.exceptions import (
    ApplicationError,
    Conflict,
    FieldError,
    PermissionDenied,
    ValidationFailed,
)
from phis.core.notify.services import notification_send
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import unit_in_scope
from phis.core.workflow.services import workflow_start, workflow_transition

log = logging.getLogger(__name__)

REVIEWED = "reviewed"
DELETED = "deleted"


def _err(field_name: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(field_name, code, zh, en)


def _raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(errors)


def _stale() -> Conflict:
    return Conflict("该病例已被他人修改，请刷新后重试",
                    "The case was changed by someone else; reload it and try again",
                    code="concurrent_update")


def _audited_save(case: ManagedCase, version: int | None, **fields) -> ManagedCase:
    fresh = ManagedCase.objects.select_for_update().get(pk=case.pk)
    if version is not None and fresh.version != version:
        raise _stale()
    for name, value in fields.items():
        setattr(fresh, name, value)
    fresh.version = fresh.version + 1
    fresh.save()
    return fresh


# --- opening cases from cards ----------------------------------------------------------------

def _identity_key(card) -> str:
    if card.person_id:
        return f"person:{card.person_id}"
    if card.id_number_index:
        return f"id:{card.id_number_index}"
    return f"card:{card.pk}"


def _county_unit(unit: OrgUnit | None) -> OrgUnit | None:
    from phis.apps.notifiable.selectors import county_of

    return county_of(unit)


def _county_cdc(county: OrgUnit | None) -> OrgUnit | None:
    from phis.apps.notifiable.selectors import county_cdc_of

    return county_cdc_of(county)


def _designated_tb_hospital(county: OrgUnit | None, reporting_unit: OrgUnit) -> OrgUnit:
    if county is not None:
        code = rules.TB_DESIGNATED_HOSPITALS.get(county.code) or f"F{county.code}H1"
        unit = selectors.unit_by_code(code)
        if unit is not None:
            return unit
    return reporting_unit


def _higher_classification(a: str, b: str) -> str:
    # confirmed > clinical > suspected (surveillance.md §2.4 [K]); carrier/positive test
    # are kept as reported.
    order = {"3": 3, "2": 2, "1": 1}
    return a if order.get(a, 0) >= order.get(b, 0) else b


def case_open_from_card(*, card_id: int, now: datetime | None = None,
                        notify: bool = True) -> ManagedCase | None:
    """Open (or extend) the managed case for a reviewed card of a key disease. Idempotent:
    a card already folded into a case returns that case. Returns None when the card does
    not open a case (not reviewed, not a managed disease or classification)."""
    now = now or timezone.now()
    existing = selectors.case_for_card(card_id=card_id)
    if existing is not None:
        return existing
    from phis.apps.notifiable.selectors import counted_cards

    card = (counted_cards().filter(pk=card_id, status=REVIEWED)
            .select_related("address_unit", "reporting_unit").first())
    if card is None or not rules.opens_case(card.disease_code, card.case_classification):
        return None
    try:
        with transaction.atomic():
            return _open_or_extend(card, now=now, notify=notify)
    except IntegrityError:
        # A concurrent delivery opened the same episode or linked the card first.
        return selectors.case_for_card(card_id=card_id) or _open_or_extend_retry(card, now)


def _open_or_extend_retry(card, now: datetime) -> ManagedCase | None:
    with transaction.atomic():
        return _open_or_extend(card, now=now, notify=False)


def _open_or_extend(card, *, now: datetime, notify: bool) -> ManagedCase:
    key = _identity_key(card)
    case = selectors.case_find_open(identity_key=key, disease_code=card.disease_code)
    if case is not None:
        CaseCardLink.objects.create(case=case, card_id=card.pk, card_number=card.card_number,
                                    linked_at=now)
        better = _higher_classification(card.case_classification, case.case_classification)
        if better != case.case_classification:
            case = _audited_save(case, None, case_classification=better)
        return case
    plan = rules.plan_for(card.disease_code)
    county = _county_unit(card.address_unit) or _county_unit(card.reporting_unit)
    township = selectors.township_of(card.address_unit)
    cdc = _county_cdc(county)
    managing = selectors.health_centre_of(township)
    diagnosis_date = timezone.localtime(card.diagnosis_at).date()
    fields = {
        "plan": plan.key, "disease_code": card.disease_code, "subtype_code": card.subtype_code,
        "case_classification": card.case_classification, "identity_key": key,
        "person_id": card.person_id, "patient_name": card.patient_name, "sex": int(card.sex),
        "birth_date": card.birth_date, "phone_masked": card.phone_masked,
        "address_unit": card.address_unit, "county_code": card.county_code or (
            county.code if county else ""),
        "township_code": card.township_code or (township.code if township else ""),
        "managing_unit": managing or cdc, "cdc_unit": cdc, "source_card_id": card.pk,
        "card_number": card.card_number, "onset_date": card.onset_date,
        "diagnosis_date": diagnosis_date, "opened_at": now}
    rr = False
    if plan.key == "tb":
        rr = card.subtype_code == rules.TB_RR_SUBTYPE
        fields.update(
            treating_unit=_designated_tb_hospital(county, card.reporting_unit),
            drug_resistance=DrugResistance.RIFAMPICIN_RESISTANT if rr else "",
            bacteriologically_confirmed=card.subtype_code in rules.TB_POSITIVE_SUBTYPES,
            regimen=rules.tb_regimen_for(rifampicin_resistant=rr))
    else:
        fields.update(treating_unit=card.reporting_unit)
    case = ManagedCase.objects.create(**fields)
    CaseCardLink.objects.create(case=case, card_id=card.pk, card_number=card.card_number,
                                linked_at=now)
    for template in _templates_for(case, rr=rr):
        _task_create(case=case, template=template, now=now, notify=notify)
    event_emit(topic="keydiseases.case.opened", payload=_case_payload(case),
               aggregate_type="keydiseases.case", aggregate_id=case.pk)
    return case


def _templates_for(case: ManagedCase, *, rr: bool) -> tuple[rules.TaskTemplate, ...]:
    if case.plan == "tb":
        return rules.tb_tasks(rifampicin_resistant=rr)
    plan = rules.plan_for(case.disease_code)
    if rules.observation_days(case.disease_code, case.diagnosis_date) == 0:
        # No close-contact determination under the rules of the day (e.g. COVID-19 under
        # class-B management since 2023-01-08): only the treatment step remains.
        return tuple(t for t in plan.tasks if t.owner == rules.OWNER_HOSPITAL)
    return plan.tasks


def _case_payload(case: ManagedCase) -> dict:
    return {"case_id": case.pk, "disease_code": case.disease_code, "status": case.status,
            "county_code": case.county_code, "township_code": case.township_code,
            "person_id": case.person_id, "outcome": case.outcome,
            "card_number": case.card_number}


def card_changed(payload: dict, *, now: datetime | None = None) -> ManagedCase | None:
    """The ``notifiable.card.changed`` handler: open a case for a reviewed key-disease card;
    close ("revoked") the case of a card deleted or revised away from the disease; follow
    a classification change."""
    card_id = payload.get("card_id")
    if not card_id:
        return None
    status = payload.get("status", "")
    case = selectors.case_for_card(card_id=card_id)
    if case is None:
        if status == REVIEWED and payload.get("disease_code") in rules.PLANS:
            return case_open_from_card(card_id=card_id, now=now)
        return None
    if case.status != CaseStatus.OPEN:
        return case
    if status == DELETED or payload.get("disease_code") != case.disease_code:
        return _case_revoke(case=case, card_id=card_id, now=now,
                            reason=f"card {payload.get('card_number', '')} {status}")
    classification = payload.get("case_classification", "")
    if classification and classification != case.case_classification \
            and case.source_card_id == card_id:
        with transaction.atomic():
            return _audited_save(case, None, case_classification=classification)
    return case


@transaction.atomic
def _case_revoke(*, case: ManagedCase, card_id: int, now: datetime | None,
                 reason: str) -> ManagedCase:
    """The only card of the case was deleted or revised to another disease: close the case.
    Another card still linked keeps it open (the episode stands on that card)."""
    now = now or timezone.now()
    CaseCardLink.objects.filter(case=case, card_id=card_id).delete()
    remaining = case.card_links.order_by("linked_at").first()
    if remaining is not None:
        return _audited_save(case, None, source_card_id=remaining.card_id,
                             card_number=remaining.card_number)
    case = _audited_save(case, None, status=CaseStatus.CLOSED, outcome=Outcome.REVOKED,
                         outcome_date=timezone.localtime(now).date(), closed_at=now,
                         outcome_note=reason[:500])
    FollowUp.objects.filter(case=case, status=FollowUpStatus.SCHEDULED).update(
        status=FollowUpStatus.CANCELLED)
    owners = {t.instance.owner_unit_id: t.instance.owner_unit
              for t in selectors.task_open_for_case(case=case)}
    for unit in owners.values():
        recipients = selectors.users_of_unit(unit=unit, perm=KeyDiseasePerm.FOLLOW_UP)
        if recipients:
            notification_send(
                recipients=recipients, title=f"病例已撤销：{case.patient_name}",
                title_en=f"Case withdrawn: {case.patient_name}",
                body="报告卡已删除或订正为其他病种，相关任务无需继续办理。",
                body_en="The report card was deleted or revised to another disease; its "
                        "open tasks need no further work.",
                link=f"/keydiseases/cases/{case.pk}/")
    event_emit(topic="keydiseases.case.closed", payload=_case_payload(case),
               aggregate_type="keydiseases.case", aggregate_id=case.pk)
    return case


# --- tasks -----------------------------------------------------------------------------------

def _owner_unit(case: ManagedCase | None, owner: str) -> OrgUnit | None:
    if case is None:
        return None
    if owner == rules.OWNER_HOSPITAL:
        return case.treating_unit or case.cdc_unit
    if owner == rules.OWNER_COMMUNITY:
        return case.managing_unit or case.cdc_unit
    return case.cdc_unit or case.managing_unit


def _task_create(*, template: rules.TaskTemplate, now: datetime, case: ManagedCase | None = None,
                 cluster: IliCluster | None = None, contact: Contact | None = None,
                 owner_unit: OrgUnit | None = None, by=None, notify: bool = True,
                 title: str = "") -> CaseTask | None:
    unit = owner_unit or _owner_unit(case, template.owner)
    if unit is None:
        log.warning("no owner unit for task %s of case %s", template.key,
                    case.pk if case else None)
        return None
    due_at = now + template.due
    disease = case.disease_code if case else "influenza"
    if case is not None:
        url = f"/keydiseases/cases/{case.pk}/"
        title = title or f"{template.label} · {case.patient_name}"
    else:
        url = f"/keydiseases/clusters/{cluster.pk}/"
        title = title or f"{template.label} · {cluster.unit_name}"
    instance = workflow_start(
        definition=TASK_DEFINITION, owner_unit=unit, subject=case or cluster,
        subject_key=f"kd:{case.pk if case else 'cluster-' + str(cluster.pk)}:{template.key}",
        title=title, by=by, now=now,
        data={"due_at": due_at.isoformat(), "owner_kind": template.owner, "url": url,
              "kind": template.key, "disease_code": disease, "tag": template.tag,
              "case_id": case.pk if case else None,
              "contact_id": contact.pk if contact else None})
    task = CaseTask.objects.create(instance=instance, case=case, cluster=cluster,
                                   contact=contact, kind=template.key,
                                   owner_kind=template.owner, disease_code=disease,
                                   created_at=now)
    if notify:
        recipients = selectors.users_of_unit(unit=unit, perm=KeyDiseasePerm.FOLLOW_UP)
        if recipients:
            local_due = timezone.localtime(due_at)
            notification_send(
                recipients=recipients, title=f"新任务：{title}",
                title_en=f"New task: {template.label_en}",
                body=f"请于{local_due:%m-%d %H:%M}前完成。",
                body_en=f"Due by {local_due:%Y-%m-%d %H:%M}.", link=url)
    return task


def task_complete(*, user, task_id: int, comment: str = "",
                  expected_version: int | None = None) -> CaseTask:
    task = selectors.task_get_visible(user=user, task_id=task_id)
    workflow_transition(instance_id=task.instance_id, action="complete", user=user,
                        comment=comment[:2000], expected_version=expected_version)
    task.instance.refresh_from_db()
    return task


def task_cancel(*, user, task_id: int, comment: str,
                expected_version: int | None = None) -> CaseTask:
    if not comment.strip():
        raise ValidationFailed([_err("comment", "required", "请填写取消原因",
                                     "Give the reason for cancelling")])
    task = selectors.task_get_visible(user=user, task_id=task_id)
    workflow_transition(instance_id=task.instance_id, action="cancel", user=user,
                        comment=comment[:2000], expected_version=expected_version)
    task.instance.refresh_from_db()
    return task


def _autocomplete(case: ManagedCase, kind: str, user, comment: str) -> None:
    """Close a plan step the user's record fulfils (first home visit, treatment start …).
    A user outside the step's owner scope leaves it to its owner."""
    task = selectors.task_for_case_step(case=case, kind=kind)
    if task is None or not task.instance.is_open:
        return
    try:
        with transaction.atomic():
            workflow_transition(instance_id=task.instance_id, action="complete", user=user,
                                comment=comment)
    except ApplicationError:
        pass


# --- treatment (TB) --------------------------------------------------------------------------

@dataclass
class TreatmentInput:
    start_date: date | None = None
    regimen: str = rules.REGIMEN_DS
    drug_resistance: str = ""
    dot_mode: str = DotMode.MEDICAL_STAFF
    dot_supervisor: str = ""


def _today() -> date:
    return timezone.localdate()


def _case_for_write(*, user, case_id: int, perm: str) -> ManagedCase:
    if not user.has_phis_perm(perm):
        raise PermissionDenied()
    case = selectors.case_get_visible(user=user, case_id=case_id)
    if case.status != CaseStatus.OPEN:
        raise Conflict("该病例已结案", "The case is closed", code="case_closed")
    return case


@transaction.atomic
def treatment_start(*, user, case_id: int, version: int | None, data: TreatmentInput,
                    today: date | None = None) -> ManagedCase:
    """Register the TB patient's treatment start: the regimen's follow-up schedule (visits
    by the community, sputum checks by the hospital) is generated from it."""
    today = today or _today()
    case = _case_for_write(user=user, case_id=case_id, perm=KeyDiseasePerm.MANAGE_CASES)
    if not case.is_tb:
        raise ValidationFailed([_err("regimen", "not_tb", "仅肺结核病例登记抗结核治疗",
                                     "Treatment start applies to tuberculosis cases")])
    if case.treatment_start_date is not None:
        raise Conflict("已登记开始治疗", "Treatment start is already recorded",
                       code="already_started")
    errors = []
    if data.start_date is None:
        errors.append(_err("start_date", "required", "请填写开始治疗日期",
                           "Enter the treatment start date"))
    elif data.start_date > today:
        errors.append(_err("start_date", "future", "开始治疗日期不能晚于今天",
                           "The start date cannot be in the future"))
    elif data.start_date < (case.onset_date or case.diagnosis_date - timedelta(days=90)):
        errors.append(_err("start_date", "too_early", "开始治疗日期不能早于发病日期",
                           "The start date cannot precede the onset date"))
    if data.regimen not in rules.REGIMENS:
        errors.append(_err("regimen", "invalid_choice", "治疗方案无效", "Unknown regimen"))
    if data.drug_resistance not in DrugResistance.values:
        errors.append(_err("drug_resistance", "invalid_choice", "耐药情况无效",
                           "Unknown drug-resistance value"))
    rr = (data.drug_resistance or case.drug_resistance) == DrugResistance.RIFAMPICIN_RESISTANT
    if rr and data.regimen == rules.REGIMEN_DS:
        errors.append(_err("regimen", "rr_needs_referral",
                           "利福平耐药患者不能使用敏感方案，应转诊耐药定点医院",
                           "Rifampicin-resistant patients must be referred, not given "
                           "the drug-susceptible regimen"))
    if data.dot_mode not in DotMode.values:
        errors.append(_err("dot_mode", "invalid_choice", "督导方式无效", "Unknown DOT mode"))
    _raise_if(errors)
    start = data.start_date
    end = rules.tb_expected_end(treatment_start=start, regimen=data.regimen)
    case = _audited_save(
        case, version, treatment_start_date=start, regimen=data.regimen,
        drug_resistance=data.drug_resistance or case.drug_resistance,
        expected_end_date=end, dot_mode=data.dot_mode,
        dot_supervisor=data.dot_supervisor.strip()[:64],
        care_status=CareStatus.REFERRED if rr else CareStatus.OUTPATIENT)
    FollowUp.objects.bulk_create([
        FollowUp(case=case, kind=item.kind, month=item.month,
                 scheduled_date=item.scheduled_date, window_end=item.window_end,
                 unit=case.managing_unit if item.kind == rules.VISIT else case.treating_unit,
                 created_by=user)
        for item in rules.tb_schedule(treatment_start=start, regimen=data.regimen)])
    if rr and selectors.task_for_case_step(case=case, kind=rules.TB_RR_TASK.key) is None:
        _task_create(case=case, template=rules.TB_RR_TASK, now=timezone.now(), by=user)
    _autocomplete(case, "tb_treatment_start", user, "登记开始治疗 Treatment started")
    return case


# --- follow-ups --------------------------------------------------------------------------------

@dataclass
class FollowUpInput:
    followup_id: int | None = None      # the scheduled follow-up done now; None: unscheduled
    kind: str = ""
    month: int | None = None
    done_date: date | None = None
    doses_planned: int | None = None
    doses_observed: int | None = None
    doses_missed: int | None = None
    last_dose_date: date | None = None
    adverse_reaction: str = ""
    smear_result: str = ""
    culture_result: str = ""
    care_status: str = ""
    severity: str = ""
    temperature: Decimal | float | str | None = None
    note: str = ""


def _temperature(value, errors: list[FieldError], name: str = "temperature") -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        t = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        errors.append(_err(name, "invalid", "体温应为数字", "Temperature must be a number"))
        return None
    if not Decimal("34.0") <= t <= Decimal("43.0"):
        errors.append(_err(name, "out_of_range", "体温应在34.0–43.0℃之间",
                           "Temperature must be between 34.0 and 43.0 °C"))
        return None
    return t


_TB_KINDS = (FollowUpKind.VISIT, FollowUpKind.SPUTUM, FollowUpKind.HOME_VISIT)


def _validate_followup(case: ManagedCase, kind: str, data: FollowUpInput, today: date,
                       errors: list[FieldError]) -> None:
    allowed = _TB_KINDS if case.is_tb else (FollowUpKind.CLINICAL,)
    if kind not in allowed:
        errors.append(_err("kind", "invalid_choice", "随访类型不适用于该病种",
                           "This follow-up type does not apply to this disease"))
        return
    if data.done_date is None:
        errors.append(_err("done_date", "required", "请填写随访日期", "Enter the date"))
    elif data.done_date > today:
        errors.append(_err("done_date", "future", "随访日期不能晚于今天",
                           "The date cannot be in the future"))
    elif data.done_date < case.diagnosis_date:
        errors.append(_err("done_date", "before_diagnosis", "随访日期不能早于诊断日期",
                           "The date cannot precede the diagnosis"))
    for name in ("doses_planned", "doses_observed", "doses_missed"):
        value = getattr(data, name)
        if value is not None and not 0 <= value <= 400:
            errors.append(_err(name, "out_of_range", "服药次数应在0–400之间",
                               "Dose counts must be between 0 and 400"))
    if kind == FollowUpKind.VISIT:
        if data.doses_planned is None:
            errors.append(_err("doses_planned", "required", "请填写应服药次数",
                               "Enter the doses due since the last visit"))
        if data.doses_observed is None:
            errors.append(_err("doses_observed", "required", "请填写督导服药次数",
                               "Enter the observed doses"))
        if None not in (data.doses_planned, data.doses_observed):
            missed = data.doses_missed or 0
            if data.doses_observed + missed > data.doses_planned:
                errors.append(_err("doses_missed", "inconsistent",
                                   "督导服药与漏服次数之和不能超过应服药次数",
                                   "Observed plus missed doses exceed the doses due"))
        if data.last_dose_date and data.done_date and data.last_dose_date > data.done_date:
            errors.append(_err("last_dose_date", "after_visit", "末次服药日期不能晚于随访日期",
                               "The last dose cannot be after the visit"))
    if kind == FollowUpKind.SPUTUM:
        for name in ("smear_result", "culture_result"):
            if getattr(data, name) not in LabOutcome.values:
                errors.append(_err(name, "invalid_choice", "检查结果无效", "Unknown result"))
        if not data.smear_result and not data.culture_result:
            errors.append(_err("smear_result", "required", "请填写痰涂片或痰培养结果",
                               "Enter the smear or the culture result"))
        if data.month is None or not 0 <= data.month <= 24:
            errors.append(_err("month", "required", "请填写治疗月(0–24)",
                               "Enter the treatment month (0–24)"))
    if kind == FollowUpKind.CLINICAL:
        if data.care_status not in CareStatus.values or not data.care_status:
            errors.append(_err("care_status", "required", "请选择收治状态",
                               "Choose the care status"))
        if data.severity not in Severity.values:
            errors.append(_err("severity", "invalid_choice", "临床分型无效", "Unknown severity"))


@transaction.atomic
def followup_record(*, user, case_id: int, data: FollowUpInput,
                    today: date | None = None) -> FollowUp:
    """Record a follow-up: a scheduled one (``followup_id``) or an unscheduled one."""
    today = today or _today()
    case = _case_for_write(user=user, case_id=case_id, perm=KeyDiseasePerm.FOLLOW_UP)
    item = None
    if data.followup_id:
        item = selectors.followup_get(case=case, followup_id=data.followup_id)
        if item.status == FollowUpStatus.DONE:
            raise Conflict("该随访已记录", "This follow-up is already recorded",
                           code="already_done")
        if item.status == FollowUpStatus.CANCELLED:
            raise Conflict("该随访已取消", "This follow-up was cancelled", code="cancelled")
        kind = item.kind
        if data.month is None:
            data.month = item.month
    else:
        kind = data.kind
    errors: list[FieldError] = []
    _validate_followup(case, kind, data, today, errors)
    temperature = _temperature(data.temperature, errors)
    _raise_if(errors)
    values = {
        "kind": kind, "done_date": data.done_date, "status": FollowUpStatus.DONE,
        "performed_by": user, "unit": user.org_unit, "month": data.month,
        "doses_planned": data.doses_planned, "doses_observed": data.doses_observed,
        "doses_missed": data.doses_missed, "last_dose_date": data.last_dose_date or (
            data.done_date if kind == FollowUpKind.VISIT and data.doses_observed else None),
        "adverse_reaction": data.adverse_reaction.strip()[:200],
        "smear_result": data.smear_result, "culture_result": data.culture_result,
        "care_status": data.care_status, "severity": data.severity, "temperature": temperature,
        "note": data.note.strip()[:500]}
    if item is None:
        item = FollowUp(case=case, created_by=user, **values)
    else:
        for name, value in values.items():
            setattr(item, name, value)
    item.save()
    if kind in (FollowUpKind.VISIT, FollowUpKind.HOME_VISIT):
        _autocomplete(case, "tb_first_home_visit", user, "已随访 Visit recorded")
    if kind == FollowUpKind.CLINICAL:
        changes = {"care_status": data.care_status}
        if data.severity:
            changes["severity"] = data.severity
        case = _audited_save(case, None, **changes)
        if data.care_status in (CareStatus.HOSPITAL, CareStatus.HOME):
            _autocomplete(case, "isolation_treatment", user, "已收治 Admitted")
    if kind == FollowUpKind.SPUTUM and (data.month or 0) >= 5 and LabOutcome.POSITIVE in (
            data.smear_result, data.culture_result):
        _notify_case_units(case, title=f"疑似治疗失败：{case.patient_name}",
                           title_en="Possible treatment failure",
                           body=f"治疗第{data.month}个月痰检阳性（WHO：治疗失败）。",
                           body_en=f"Positive sputum at month {data.month} (WHO: treatment "
                                   "failed).")
    event_emit(topic="keydiseases.followup.recorded",
               payload={"case_id": case.pk, "followup_id": item.pk, "kind": kind,
                        "disease_code": case.disease_code},
               aggregate_type="keydiseases.case", aggregate_id=case.pk)
    return item


def _notify_case_units(case: ManagedCase, *, title: str, title_en: str, body: str,
                       body_en: str) -> None:
    recipients = []
    for unit in (case.treating_unit, case.cdc_unit):
        if unit is not None:
            recipients += selectors.users_of_unit(unit=unit, perm=KeyDiseasePerm.FOLLOW_UP)
    if recipients:
        notification_send(recipients=recipients, title=title, title_en=title_en, body=body,
                          body_en=body_en, link=f"/keydiseases/cases/{case.pk}/",
                          level="warning")


# --- outcome -------------------------------------------------------------------------------------

def tb_facts(case: ManagedCase) -> rules.TbFacts:
    sputum = []
    last_dose = None
    for f in case.follow_ups.filter(status=FollowUpStatus.DONE):
        if f.kind == FollowUpKind.SPUTUM and f.month is not None:
            results = {f.smear_result, f.culture_result}
            if LabOutcome.POSITIVE in results:
                sputum.append(rules.SputumResult(f.month, True))
            elif LabOutcome.NEGATIVE in results:
                sputum.append(rules.SputumResult(f.month, False))
        if f.last_dose_date and (last_dose is None or f.last_dose_date > last_dose):
            last_dose = f.last_dose_date
    months = rules.REGIMENS.get(case.regimen, {}).get("months")
    return rules.TbFacts(
        bacteriologically_confirmed=case.bacteriologically_confirmed, planned_months=months,
        treatment_start=case.treatment_start_date, sputum=tuple(sputum),
        last_dose_date=last_dose, treatment_ended_on=case.treatment_ended_on)


@dataclass
class OutcomeInput:
    outcome: str = ""
    outcome_date: date | None = None
    note: str = ""


@transaction.atomic
def case_outcome_record(*, user, case_id: int, version: int | None, data: OutcomeInput,
                        today: date | None = None) -> ManagedCase:
    """Close the case with its outcome. TB outcomes follow the WHO definitions: cured,
    completed and failed must agree with the recorded sputum results and treatment."""
    today = today or _today()
    case = _case_for_write(user=user, case_id=case_id, perm=KeyDiseasePerm.MANAGE_CASES)
    errors: list[FieldError] = []
    allowed = rules.TB_OUTCOMES if case.is_tb else rules.ACUTE_OUTCOMES
    if data.outcome not in allowed:
        errors.append(_err("outcome", "invalid_choice", "转归不适用于该病种",
                           "This outcome does not apply to this disease"))
    if data.outcome_date is None:
        errors.append(_err("outcome_date", "required", "请填写转归日期", "Enter the date"))
    elif data.outcome_date > today:
        errors.append(_err("outcome_date", "future", "转归日期不能晚于今天",
                           "The date cannot be in the future"))
    elif data.outcome_date < case.diagnosis_date:
        errors.append(_err("outcome_date", "before_diagnosis", "转归日期不能早于诊断日期",
                           "The date cannot precede the diagnosis"))
    if not errors and case.is_tb:
        facts = tb_facts(case)
        facts = rules.TbFacts(**{**facts.__dict__,
                                 "treatment_ended_on": facts.treatment_ended_on
                                 or (data.outcome_date if data.outcome in
                                     (rules.CURED, rules.COMPLETED) else None),
                                 "died_on": data.outcome_date
                                 if data.outcome == rules.DIED else None})
        check = rules.tb_outcome_allowed(data.outcome, facts, today=data.outcome_date)
        if check.outcome is not None:
            errors.append(_err("outcome", check.outcome, check.reason, check.reason_en))
    _raise_if(errors)
    ended = case.treatment_ended_on or (data.outcome_date if case.is_tb else None)
    case = _audited_save(case, version, status=CaseStatus.CLOSED, outcome=data.outcome,
                         outcome_date=data.outcome_date, outcome_note=data.note.strip()[:500],
                         closed_at=timezone.now(), closed_by=user, treatment_ended_on=ended,
                         care_status=CareStatus.ENDED if case.is_tb else (
                             CareStatus.DISCHARGED if data.outcome == "recovered"
                             else case.care_status))
    FollowUp.objects.filter(case=case, status=FollowUpStatus.SCHEDULED).update(
        status=FollowUpStatus.CANCELLED)
    event_emit(topic="keydiseases.case.closed", payload=_case_payload(case),
               aggregate_type="keydiseases.case", aggregate_id=case.pk)
    return case


# --- contacts -------------------------------------------------------------------------------------

_PHONE = re.compile(r"^\+?[0-9\- ]{7,20}$")


@dataclass
class ContactInput:
    name: str = ""
    relation: str = ContactRelation.HOUSEHOLD
    sex: int = 0
    age_years: int | None = None
    phone: str = ""
    address_code: str = ""
    last_exposure_date: date | None = None
    note: str = ""
    person_id: int | None = None


@transaction.atomic
def contact_add(*, user, case_id: int, data: ContactInput, today: date | None = None) -> Contact:
    from phis.core.crypto.fields import encrypt_text
    from phis.core.crypto.masking import mask_phone

    today = today or _today()
    case = _case_for_write(user=user, case_id=case_id, perm=KeyDiseasePerm.FOLLOW_UP)
    errors: list[FieldError] = []
    name = data.name.strip()
    if not name:
        errors.append(_err("name", "required", "请填写姓名", "Enter the name"))
    elif len(name) > 64:
        errors.append(_err("name", "too_long", "姓名过长", "The name is too long"))
    if data.relation not in ContactRelation.values:
        errors.append(_err("relation", "invalid_choice", "关系无效", "Unknown relation"))
    if data.sex not in (0, 1, 2, 9):
        errors.append(_err("sex", "invalid_choice", "性别无效", "Unknown sex"))
    if data.age_years is not None and not 0 <= data.age_years <= 120:
        errors.append(_err("age_years", "out_of_range", "年龄应在0–120之间",
                           "Age must be between 0 and 120"))
    phone = data.phone.strip()
    if phone and not _PHONE.match(phone):
        errors.append(_err("phone", "invalid", "电话号码格式无效", "Invalid phone number"))
    if data.last_exposure_date is None:
        errors.append(_err("last_exposure_date", "required", "请填写末次接触日期",
                           "Enter the date of last exposure"))
    elif data.last_exposure_date > today:
        errors.append(_err("last_exposure_date", "future", "末次接触日期不能晚于今天",
                           "The date cannot be in the future"))
    address = case.address_unit
    if data.address_code:
        address = selectors.unit_by_code(data.address_code.strip())
        if address is None or address.level not in (Level.TOWNSHIP, Level.COMMUNITY):
            errors.append(_err("address_code", "invalid", "现住址应为乡镇街道或社区村代码",
                               "The address must be a township or community code"))
    days = 0
    if not case.is_tb:
        days = rules.observation_days(case.disease_code, case.diagnosis_date)
        if days == 0:
            errors.append(_err("name", "not_traced",
                               "按诊断时施行的方案，该病种不判定密切接触者",
                               "Close contacts are not traced for this disease under the "
                               "rules in force at diagnosis"))
    _raise_if(errors)
    end = data.last_exposure_date + timedelta(days=days) if days else None
    if case.is_tb:
        status = ContactStatus.TO_SCREEN
    else:
        status = ContactStatus.OBSERVING if end >= today else ContactStatus.RELEASED
    contact = Contact.objects.create(
        case=case, person_id=data.person_id, name=name, relation=data.relation, sex=data.sex,
        age_years=data.age_years, phone_encrypted=encrypt_text(phone, purpose="phone")
        if phone else None, phone_masked=mask_phone(phone) if phone else "",
        address_unit=address, last_exposure_date=data.last_exposure_date,
        observation_days=days, observation_end=end, status=status,
        note=data.note.strip()[:500], created_by=user)
    if not case.is_tb:
        _autocomplete(case, "contact_tracing", user, "已登记密切接触者 Contacts listed")
    return contact


@dataclass
class CheckInput:
    check_date: date | None = None
    temperature: Decimal | float | str | None = None
    symptoms: list[str] = field(default_factory=list)
    note: str = ""


@transaction.atomic
def contact_check_record(*, user, contact_id: int, data: CheckInput,
                         today: date | None = None) -> ContactCheck:
    """One day of medical observation; entering the same day again corrects it. A fever or
    a listed symptom makes the contact symptomatic: the county CDC gets a 2-hour task."""
    today = today or _today()
    if not user.has_phis_perm(KeyDiseasePerm.FOLLOW_UP):
        raise PermissionDenied()
    contact = selectors.contact_get_visible(user=user, contact_id=contact_id)
    if contact.status not in (ContactStatus.OBSERVING, ContactStatus.SYMPTOMATIC):
        raise Conflict("该密切接触者不在医学观察中", "This contact is not under observation",
                       code="not_observing")
    errors: list[FieldError] = []
    day = data.check_date or today
    if day > today:
        errors.append(_err("check_date", "future", "观察日期不能晚于今天",
                           "The date cannot be in the future"))
    elif day < contact.last_exposure_date or (contact.observation_end
                                               and day > contact.observation_end):
        errors.append(_err("check_date", "outside_period", "观察日期不在医学观察期内",
                           "The date is outside the observation period"))
    unknown = [s for s in data.symptoms if s not in rules.CONTACT_SYMPTOMS]
    if unknown:
        errors.append(_err("symptoms", "invalid_choice", "症状无效",
                           f"Unknown symptoms: {', '.join(unknown)[:100]}"))
    temperature = _temperature(data.temperature, errors)
    _raise_if(errors)
    symptoms = sorted(set(data.symptoms))
    symptomatic = rules.contact_is_symptomatic(
        temperature=float(temperature) if temperature is not None else None, symptoms=symptoms)
    check, _created = ContactCheck.objects.update_or_create(
        contact=contact, check_date=day,
        defaults={"temperature": temperature, "symptoms": symptoms, "symptomatic": symptomatic,
                  "note": data.note.strip()[:300], "by": user})
    case = contact.case
    _autocomplete(case, "community_observation", user, "已开展医学观察 Observation started")
    if symptomatic and contact.status != ContactStatus.SYMPTOMATIC:
        contact.status = ContactStatus.SYMPTOMATIC
        contact.save(update_fields=["status", "updated_at"])
        _task_create(case=case, contact=contact, template=rules.SYMPTOMATIC_CONTACT_TASK,
                     now=timezone.now(), by=user,
                     title=f"{rules.SYMPTOMATIC_CONTACT_TASK.label} · {contact.name}")
    return check


@transaction.atomic
def contact_screening_record(*, user, contact_id: int, screening_date: date | None,
                             result: str, note: str = "",
                             today: date | None = None) -> Contact:
    """TB household contact screening (symptoms, chest X-ray, PPD/IGRA) and its result."""
    today = today or _today()
    if not user.has_phis_perm(KeyDiseasePerm.FOLLOW_UP):
        raise PermissionDenied()
    contact = selectors.contact_get_visible(user=user, contact_id=contact_id)
    errors = []
    if not contact.case.is_tb:
        errors.append(_err("result", "not_tb", "筛查适用于肺结核密切接触者",
                           "Screening applies to TB contacts"))
    if not result or result not in ScreeningResult.values:
        errors.append(_err("result", "invalid_choice", "请选择筛查结果",
                           "Choose the screening result"))
    if screening_date is None:
        errors.append(_err("screening_date", "required", "请填写筛查日期", "Enter the date"))
    elif screening_date > today:
        errors.append(_err("screening_date", "future", "筛查日期不能晚于今天",
                           "The date cannot be in the future"))
    _raise_if(errors)
    contact.screening_date = screening_date
    contact.screening_result = result
    contact.status = ContactStatus.SCREENED
    if note:
        contact.note = note.strip()[:500]
    contact.save()
    case = contact.case
    if result in (ScreeningResult.SUSPECTED, ScreeningResult.TB):
        _notify_case_units(case, title=f"密切接触者筛查异常：{contact.name}",
                           title_en="Contact screening: possible TB",
                           body="请安排到定点医院诊断。",
                           body_en="Arrange diagnosis at the designated hospital.")
    if not case.contacts.filter(status=ContactStatus.TO_SCREEN).exists():
        _autocomplete(case, "tb_contact_screening", user,
                      "家庭密切接触者已全部筛查 All contacts screened")
    return contact


_CONTACT_END_STATES = (ContactStatus.RELEASED, ContactStatus.BECAME_CASE, ContactStatus.LOST)


@transaction.atomic
def contact_status_set(*, user, contact_id: int, status: str, note: str = "") -> Contact:
    if not user.has_phis_perm(KeyDiseasePerm.FOLLOW_UP):
        raise PermissionDenied()
    contact = selectors.contact_get_visible(user=user, contact_id=contact_id)
    if status not in _CONTACT_END_STATES:
        raise ValidationFailed([_err("status", "invalid_choice", "状态无效",
                                     "Choose released, became a case or lost")])
    contact.status = status
    if note:
        contact.note = note.strip()[:500]
    contact.save()
    return contact


# --- ILI sentinel ------------------------------------------------------------------------------

@transaction.atomic
def ili_site_set(*, user, org_unit_code: str, kind: str = SiteKind.GENERAL,
                 clinics: str = "", active: bool = True,
                 since: date | None = None) -> IliSite:
    if not user.has_phis_perm(KeyDiseasePerm.MANAGE_ILI_SITES):
        raise PermissionDenied()
    unit = selectors.unit_by_code(org_unit_code)
    errors = []
    if unit is None or unit.level != Level.FACILITY or not unit_in_scope(user, unit.path):
        errors.append(_err("org_unit_code", "invalid", "请选择管辖范围内的医院",
                           "Choose a hospital in your jurisdiction"))
    if kind not in SiteKind.values:
        errors.append(_err("kind", "invalid_choice", "类型无效", "Unknown kind"))
    _raise_if(errors)
    site, _ = IliSite.objects.update_or_create(
        org_unit=unit, defaults={"kind": kind, "clinics": clinics.strip()[:200],
                                 "active": active, "since": since or _today(),
                                 "created_by": user})
    return site


@dataclass
class IliWeekInput:
    week_start: date | None = None
    ili_0_4: int = 0
    ili_5_14: int = 0
    ili_15_24: int = 0
    ili_25_59: int = 0
    ili_60p: int = 0
    visits_total: int | None = None
    specimens_collected: int = 0
    specimens_tested: int = 0
    pos_a_h1n1pdm09: int = 0
    pos_a_h3n2: int = 0
    pos_a_unsubtyped: int = 0
    pos_b_victoria: int = 0
    pos_b_yamagata: int = 0
    pos_b_undetermined: int = 0

    def ili_total(self) -> int:
        return sum(getattr(self, f"ili_{k}") or 0 for k, _zh, _en in rules.ILI_AGE_GROUPS)

    def positive_total(self) -> int:
        return sum(getattr(self, f"pos_{k}") or 0 for k, _zh, _en in rules.FLU_SUBTYPES)


_COUNT_FIELDS = ([f"ili_{k}" for k, _zh, _en in rules.ILI_AGE_GROUPS]
                 + ["specimens_collected", "specimens_tested"]
                 + [f"pos_{k}" for k, _zh, _en in rules.FLU_SUBTYPES])


def ili_week_validate(data: IliWeekInput, *, today: date) -> list[FieldError]:
    errors: list[FieldError] = []
    if data.week_start is None:
        errors.append(_err("week_start", "required", "请选择监测周", "Choose the week"))
    elif data.week_start.weekday() != 0:
        errors.append(_err("week_start", "not_monday", "监测周应从周一开始",
                           "The week must start on a Monday"))
    elif data.week_start + timedelta(days=7) > today:
        errors.append(_err("week_start", "not_over", "该周尚未结束，不能填报",
                           "The week is not over yet"))
    for name in _COUNT_FIELDS:
        value = getattr(data, name)
        if value is None or value < 0 or value > 1_000_000:
            errors.append(_err(name, "out_of_range", "应为0–1000000的整数",
                               "Must be a whole number from 0 to 1,000,000"))
    if data.visits_total is None or data.visits_total <= 0:
        errors.append(_err("visits_total", "required", "请填写门急诊就诊总数（大于0）",
                           "Enter the total outpatient and emergency visits (above 0)"))
    elif data.visits_total > 1_000_000:
        errors.append(_err("visits_total", "out_of_range", "就诊总数过大", "Too many visits"))
    if errors:
        return errors
    if data.ili_total() > data.visits_total:
        errors.append(_err("visits_total", "less_than_ili",
                           "就诊总数不能少于流感样病例数（须来自同一监测科室）",
                           "Total visits cannot be fewer than the ILI cases (same clinics)"))
    if data.specimens_tested > data.specimens_collected:
        errors.append(_err("specimens_tested", "more_than_collected",
                           "检测数不能多于采集数", "More specimens tested than collected"))
    if data.positive_total() > data.specimens_tested:
        errors.append(_err("pos_a_h1n1pdm09", "more_than_tested",
                           "各型阳性数之和不能多于检测数",
                           "The positives exceed the specimens tested"))
    return errors


@transaction.atomic
def ili_week_submit(*, user, site_id: int, data: IliWeekInput, version: int | None = None,
                    now: datetime | None = None) -> IliWeek:
    """Enter or correct a sentinel hospital's week. A correction must name the version it
    saw (409 when someone else changed it meanwhile)."""
    now = now or timezone.now()
    if not user.has_phis_perm(KeyDiseasePerm.REPORT_ILI):
        raise PermissionDenied()
    site = selectors.ili_site_get(user=user, site_id=site_id)
    if not site.active:
        raise Conflict("该哨点医院已停用", "This sentinel hospital is inactive",
                       code="site_inactive")
    errors = ili_week_validate(data, today=timezone.localtime(now).date())
    _raise_if(errors)
    iso_year, iso_week, _ = data.week_start.isocalendar()
    values = {name: getattr(data, name) for name in _COUNT_FIELDS}
    ili_total = data.ili_total()
    values.update(ili_total=ili_total, visits_total=data.visits_total,
                  ili_percent=rules.ili_percent(ili_total, data.visits_total),
                  positive_total=data.positive_total(), iso_year=iso_year, iso_week=iso_week,
                  season=rules.season_of(data.week_start))
    existing = IliWeek.objects.select_for_update().filter(
        site=site, week_start=data.week_start).first()
    if existing is None:
        due = timezone.make_aware(rules.ili_due_at_local(data.week_start))
        try:
            with transaction.atomic():
                week = IliWeek.objects.create(site=site, week_start=data.week_start,
                                              submitted_at=now, submitted_by=user,
                                              late=now > due, created_by=user, **values)
        except IntegrityError:
            raise Conflict("该周已由他人填报，请刷新后修改", "This week was just entered by "
                           "someone else; reload and correct it", code="concurrent_update"
                           ) from None
    else:
        if version is None or version != existing.version:
            raise Conflict("该周数据已填报或已被他人修改，请刷新后修改",
                           "This week is already entered or was changed; reload it",
                           code="concurrent_update")
        for name, value in values.items():
            setattr(existing, name, value)
        existing.version += 1
        existing.save()
        week = existing
    event_emit(topic="keydiseases.ili.week_submitted",
               payload={"site_id": site.pk, "org_unit": site.org_unit.code,
                        "week_start": data.week_start.isoformat(),
                        "ili_percent": week.ili_percent},
               aggregate_type="keydiseases.iliweek", aggregate_id=week.pk)
    return week


# --- school / collective-unit ILI clusters ------------------------------------------------

@dataclass
class ClusterInput:
    unit_code: str = ""
    week_end: date | None = None
    first_onset_date: date | None = None
    ili_cases: int | None = None
    hospitalised: int = 0
    deaths: int = 0
    note: str = ""


@transaction.atomic
def cluster_report(*, user, data: ClusterInput, now: datetime | None = None) -> IliCluster:
    """ILI cases in one week in a school, kindergarten or other collective unit. At the
    reporting threshold the county CDC gets a verification task (24 h; 2 h for an outbreak
    at the emergency threshold, §4.3)."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if not user.has_phis_perm(KeyDiseasePerm.REPORT_CLUSTER):
        raise PermissionDenied()
    errors: list[FieldError] = []
    unit = selectors.unit_by_code((data.unit_code or "").strip())
    if unit is None or not unit_in_scope(user, unit.path):
        errors.append(_err("unit_code", "invalid", "请选择管辖范围内的学校或单位",
                           "Choose a school or unit in your jurisdiction"))
    if data.week_end is None:
        errors.append(_err("week_end", "required", "请填写统计截止日期", "Enter the date"))
    elif data.week_end > today:
        errors.append(_err("week_end", "future", "统计截止日期不能晚于今天",
                           "The date cannot be in the future"))
    if data.ili_cases is None or not 0 <= data.ili_cases <= 100_000:
        errors.append(_err("ili_cases", "required", "请填写流感样病例数",
                           "Enter the number of ILI cases"))
    for name in ("hospitalised", "deaths"):
        value = getattr(data, name)
        if value is None or value < 0 or (data.ili_cases is not None
                                          and value > data.ili_cases):
            errors.append(_err(name, "out_of_range", "不能为负数或多于病例数",
                               "Cannot be negative or exceed the cases"))
    if data.first_onset_date and data.week_end and (
            data.first_onset_date > data.week_end):
        errors.append(_err("first_onset_date", "after_end", "首例发病日期不能晚于统计截止日期",
                           "The first onset cannot be after the end date"))
    _raise_if(errors)
    level = rules.ili_cluster_level(ili_cases=data.ili_cases, hospitalised=data.hospitalised,
                                    deaths=data.deaths)
    county = _county_unit(unit)
    cluster = IliCluster.objects.create(
        unit=unit, unit_name=unit.name, county_code=county.code if county else "",
        week_end=data.week_end, first_onset_date=data.first_onset_date,
        ili_cases=data.ili_cases, hospitalised=data.hospitalised, deaths=data.deaths,
        level=level, note=data.note.strip()[:500], created_by=user)
    if level != ClusterLevel.NONE:
        cdc = _county_cdc(county)
        if cdc is not None:
            _task_create(cluster=cluster, template=rules.ILI_CLUSTER_VERIFY[level], now=now,
                         owner_unit=cdc, by=user)
    event_emit(topic="keydiseases.cluster.reported",
               payload={"cluster_id": cluster.pk, "level": level, "unit": unit.code,
                        "county_code": cluster.county_code, "ili_cases": data.ili_cases},
               aggregate_type="keydiseases.cluster", aggregate_id=cluster.pk)
    return cluster


# --- daily and weekly jobs -------------------------------------------------------------------

TB_TRACE_TASK = rules.TaskTemplate(
    "tb_trace_interrupted", "追踪中断治疗患者", "Trace a patient who interrupted treatment",
    rules.OWNER_COMMUNITY, timedelta(days=3), "U", "design")


def keydiseases_daily(*, today: date | None = None, now: datetime | None = None) -> dict:
    """Mark follow-ups whose window passed as missed, open a tracing task for TB patients
    without an observed dose for 2 months, and end the observation of contacts whose
    period is over."""
    now = now or timezone.now()
    today = today or timezone.localtime(now).date()
    missed = 0
    with transaction.atomic():
        missed_units: dict[int, int] = {}
        for item in selectors.followups_to_mark_missed(today=today).select_related("unit"):
            if item.unit_id:
                missed_units[item.unit_id] = missed_units.get(item.unit_id, 0) + 1
        missed = selectors.followups_to_mark_missed(today=today).update(
            status=FollowUpStatus.MISSED)
        for unit in OrgUnit.objects.filter(pk__in=missed_units):
            recipients = selectors.users_of_unit(unit=unit, perm=KeyDiseasePerm.FOLLOW_UP)
            if recipients:
                n = missed_units[unit.pk]
                notification_send(recipients=recipients, title=f"有{n}次随访已超期",
                                  title_en=f"{n} follow-ups are overdue",
                                  link="/keydiseases/?view=followups_overdue",
                                  level="warning")
    traced = 0
    for case in selectors.tb_cases_interrupted(today=today).select_related(
            "managing_unit", "cdc_unit", "treating_unit"):
        if selectors.task_for_case_step(case=case, kind=TB_TRACE_TASK.key) is not None:
            continue
        with transaction.atomic():
            if _task_create(case=case, template=TB_TRACE_TASK, now=now):
                traced += 1
    released = selectors.contacts_observation_ended(today=today).update(
        status=ContactStatus.RELEASED, updated_at=now)
    return {"followups_missed": missed, "tb_tracing_tasks": traced,
            "contacts_released": released}


def ili_reminders_send(*, today: date | None = None) -> int:
    """Remind each sentinel hospital that has not entered last week (due Monday 24:00)."""
    today = today or _today()
    week = rules.week_monday(today) - timedelta(days=7)
    sent = 0
    for site in selectors.ili_sites_missing(week_start=week):
        recipients = selectors.users_of_unit(unit=site.org_unit, perm=KeyDiseasePerm.REPORT_ILI)
        if not recipients:
            continue
        due = rules.ili_due_at_local(week)
        with transaction.atomic():
            notification_send(
                recipients=recipients, title=f"请填报第{week.isocalendar()[1]}周流感样病例监测数据",
                title_en=f"Enter ILI sentinel data for week {week.isocalendar()[1]}",
                body=f"截止{due:%m-%d %H:%M}前（周一24时）。",
                body_en=f"Due by {due:%Y-%m-%d %H:%M} (Monday 24:00).",
                link=f"/keydiseases/ili/entry/?site={site.pk}&week={week.isoformat()}")
        sent += 1
    return sent


# --- person merge ------------------------------------------------------------------------------

@transaction.atomic
def person_merged(*, survivor_id: int, merged_id: int) -> int:
    """Re-point managed cases and contacts of the merged person to the survivor. An open
    case of the merged person keeps its own episode key when the survivor already has an
    open case of the same disease (both stay visible; the note says so)."""
    if not survivor_id or not merged_id or survivor_id == merged_id:
        return 0
    moved = 0
    survivor_open = set(ManagedCase.objects.filter(
        person_id=survivor_id, status=CaseStatus.OPEN).values_list("disease_code", flat=True))
    for case in ManagedCase.objects.select_for_update().filter(person_id=merged_id):
        case.person_id = survivor_id
        if case.identity_key == f"person:{merged_id}":
            if case.status == CaseStatus.OPEN and case.disease_code in survivor_open:
                case.outcome_note = (case.outcome_note + " 合并人员后与同病种病例重复，请核对"
                                     )[:500]
            else:
                case.identity_key = f"person:{survivor_id}"
        case.version += 1
        case.save()
        moved += 1
    moved += Contact.objects.filter(person_id=merged_id).update(person_id=survivor_id)
    return moved


# --- demo -----------------------------------------------------------------------------------

def keydiseases_demo_setup() -> dict:
    """Idempotent demo data once the card history exists: sentinel hospitals with four
    seasons of ILI weeks, managed TB cases for the last year's reviewed TB cards (history in
    bulk; the last three weeks through the services so tasks and clocks are live), and live
    cases for the other key diseases of the last week."""
    from phis.apps.keydiseases.demo import demo_setup

    return demo_setup()
