"""Request and response shapes of the A4 API."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import ConfigDict, Field

from phis.apps.keydiseases import rules


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


def _code(unit) -> str:
    return unit.code if unit is not None else ""


def _name(unit) -> str:
    return unit.name if unit is not None else ""


class CaseOut(Schema):
    id: int
    version: int
    plan: str
    disease_code: str
    disease_name: str
    subtype_code: str
    case_classification: str
    patient_name: str
    sex: int
    birth_date: dt.date | None
    phone_masked: str
    person_id: int | None
    address_code: str
    county_code: str
    township_code: str
    treating_unit_code: str
    treating_unit_name: str
    managing_unit_code: str
    managing_unit_name: str
    cdc_unit_code: str
    card_number: str
    onset_date: dt.date | None
    diagnosis_date: dt.date
    opened_at: dt.datetime
    status: str
    care_status: str
    severity: str
    drug_resistance: str
    bacteriologically_confirmed: bool
    regimen: str
    treatment_start_date: dt.date | None
    expected_end_date: dt.date | None
    dot_mode: str
    dot_supervisor: str
    outcome: str
    outcome_date: dt.date | None
    outcome_note: str
    closed_at: dt.datetime | None

    @staticmethod
    def of(case) -> CaseOut:
        return CaseOut(
            id=case.pk, version=case.version, plan=case.plan, disease_code=case.disease_code,
            disease_name=rules.KEY_DISEASES.get(case.disease_code, (case.disease_code,))[0],
            subtype_code=case.subtype_code, case_classification=case.case_classification,
            patient_name=case.patient_name, sex=case.sex, birth_date=case.birth_date,
            phone_masked=case.phone_masked, person_id=case.person_id,
            address_code=_code(case.address_unit), county_code=case.county_code,
            township_code=case.township_code, treating_unit_code=_code(case.treating_unit),
            treating_unit_name=_name(case.treating_unit),
            managing_unit_code=_code(case.managing_unit),
            managing_unit_name=_name(case.managing_unit), cdc_unit_code=_code(case.cdc_unit),
            card_number=case.card_number, onset_date=case.onset_date,
            diagnosis_date=case.diagnosis_date, opened_at=case.opened_at, status=case.status,
            care_status=case.care_status, severity=case.severity,
            drug_resistance=case.drug_resistance,
            bacteriologically_confirmed=case.bacteriologically_confirmed,
            regimen=case.regimen, treatment_start_date=case.treatment_start_date,
            expected_end_date=case.expected_end_date, dot_mode=case.dot_mode,
            dot_supervisor=case.dot_supervisor, outcome=case.outcome,
            outcome_date=case.outcome_date, outcome_note=case.outcome_note,
            closed_at=case.closed_at)


class FollowUpOut(Schema):
    id: int
    kind: str
    month: int | None
    scheduled_date: dt.date | None
    window_end: dt.date | None
    done_date: dt.date | None
    status: str
    unit_code: str
    doses_planned: int | None
    doses_observed: int | None
    doses_missed: int | None
    last_dose_date: dt.date | None
    adverse_reaction: str
    smear_result: str
    culture_result: str
    care_status: str
    severity: str
    temperature: float | None
    note: str
    case_id: int

    @staticmethod
    def of(f) -> FollowUpOut:
        return FollowUpOut(
            id=f.pk, kind=f.kind, month=f.month, scheduled_date=f.scheduled_date,
            window_end=f.window_end, done_date=f.done_date, status=f.status,
            unit_code=_code(f.unit), doses_planned=f.doses_planned,
            doses_observed=f.doses_observed, doses_missed=f.doses_missed,
            last_dose_date=f.last_dose_date, adverse_reaction=f.adverse_reaction,
            smear_result=f.smear_result, culture_result=f.culture_result,
            care_status=f.care_status, severity=f.severity,
            temperature=float(f.temperature) if f.temperature is not None else None,
            note=f.note, case_id=f.case_id)


class ContactOut(Schema):
    id: int
    case_id: int
    name: str
    relation: str
    sex: int
    age_years: int | None
    phone_masked: str
    address_code: str
    last_exposure_date: dt.date
    observation_days: int
    observation_end: dt.date | None
    status: str
    screening_date: dt.date | None
    screening_result: str
    note: str

    @staticmethod
    def of(c) -> ContactOut:
        return ContactOut(
            id=c.pk, case_id=c.case_id, name=c.name, relation=c.relation, sex=c.sex,
            age_years=c.age_years, phone_masked=c.phone_masked,
            address_code=_code(c.address_unit), last_exposure_date=c.last_exposure_date,
            observation_days=c.observation_days, observation_end=c.observation_end,
            status=c.status, screening_date=c.screening_date,
            screening_result=c.screening_result, note=c.note)


class CheckOut(Schema):
    id: int
    contact_id: int
    check_date: dt.date
    temperature: float | None
    symptoms: list[str]
    symptomatic: bool
    note: str

    @staticmethod
    def of(c) -> CheckOut:
        return CheckOut(id=c.pk, contact_id=c.contact_id, check_date=c.check_date,
                        temperature=float(c.temperature) if c.temperature is not None else None,
                        symptoms=list(c.symptoms or []), symptomatic=c.symptomatic, note=c.note)


class TaskOut(Schema):
    id: int
    kind: str
    title: str
    owner_kind: str
    owner_unit_code: str
    owner_unit_name: str
    owner_username: str | None
    disease_code: str
    case_id: int | None
    cluster_id: int | None
    contact_id: int | None
    state: str
    is_open: bool
    due_at: dt.datetime | None
    overdue: bool
    escalated_at: dt.datetime | None
    version: int
    workflow_id: int
    url: str

    @staticmethod
    def of(t, now: dt.datetime | None = None) -> TaskOut:
        i = t.instance
        return TaskOut(
            id=t.pk, kind=t.kind, title=i.title, owner_kind=t.owner_kind,
            owner_unit_code=i.owner_unit.code, owner_unit_name=i.owner_unit.name,
            owner_username=i.owner_user.username if i.owner_user_id else None,
            disease_code=t.disease_code, case_id=t.case_id, cluster_id=t.cluster_id,
            contact_id=t.contact_id, state=i.state, is_open=i.is_open, due_at=i.due_at,
            overdue=i.is_overdue(now), escalated_at=i.escalated_at, version=i.version,
            workflow_id=i.pk, url=(i.data or {}).get("url", ""))


class CaseDetailOut(Schema):
    case: CaseOut
    follow_ups: list[FollowUpOut]
    contacts: list[ContactOut]
    tasks: list[TaskOut]
    card_numbers: list[str]
    suggested_outcome: str | None
    suggested_outcome_reason: str
    suggested_outcome_reason_en: str


class TreatmentIn(StrictIn):
    version: int
    start_date: dt.date
    regimen: str = rules.REGIMEN_DS
    drug_resistance: str = ""
    dot_mode: str = "staff"
    dot_supervisor: str = Field("", max_length=64)


class FollowUpIn(StrictIn):
    followup_id: int | None = None
    kind: str = ""
    month: int | None = None
    done_date: dt.date
    doses_planned: int | None = None
    doses_observed: int | None = None
    doses_missed: int | None = None
    last_dose_date: dt.date | None = None
    adverse_reaction: str = Field("", max_length=200)
    smear_result: str = ""
    culture_result: str = ""
    care_status: str = ""
    severity: str = ""
    temperature: float | None = None
    note: str = Field("", max_length=500)


class OutcomeIn(StrictIn):
    version: int
    outcome: str
    outcome_date: dt.date
    note: str = Field("", max_length=500)


class ContactIn(StrictIn):
    name: str = Field(max_length=64)
    relation: str = "household"
    sex: int = 0
    age_years: int | None = None
    phone: str = Field("", max_length=20)
    address_code: str = Field("", max_length=32)
    last_exposure_date: dt.date
    note: str = Field("", max_length=500)


class CheckIn(StrictIn):
    check_date: dt.date | None = None
    temperature: float | None = None
    symptoms: list[str] = Field(default_factory=list, max_length=20)
    note: str = Field("", max_length=300)


class ScreeningIn(StrictIn):
    screening_date: dt.date
    result: str
    note: str = Field("", max_length=500)


class ContactStatusIn(StrictIn):
    status: str
    note: str = Field("", max_length=500)


class TaskActionIn(StrictIn):
    version: int | None = None
    comment: str = Field("", max_length=2000)


class OverdueUnitOut(Schema):
    unit_code: str
    unit_name: str
    count: int


class IliSiteIn(StrictIn):
    org_unit_code: str = Field(max_length=32)
    kind: str = "general"
    clinics: str = Field("", max_length=200)
    active: bool = True
    since: dt.date | None = None


class IliSiteOut(Schema):
    id: int
    org_unit_code: str
    org_unit_name: str
    kind: str
    clinics: str
    active: bool
    since: dt.date

    @staticmethod
    def of(s) -> IliSiteOut:
        return IliSiteOut(id=s.pk, org_unit_code=s.org_unit.code, org_unit_name=s.org_unit.name,
                          kind=s.kind, clinics=s.clinics, active=s.active, since=s.since)


class IliWeekIn(StrictIn):
    site_id: int
    version: int | None = None
    week_start: dt.date
    ili_0_4: int = 0
    ili_5_14: int = 0
    ili_15_24: int = 0
    ili_25_59: int = 0
    ili_60p: int = 0
    visits_total: int
    specimens_collected: int = 0
    specimens_tested: int = 0
    pos_a_h1n1pdm09: int = 0
    pos_a_h3n2: int = 0
    pos_a_unsubtyped: int = 0
    pos_b_victoria: int = 0
    pos_b_yamagata: int = 0
    pos_b_undetermined: int = 0


class IliWeekOut(Schema):
    id: int
    version: int
    site_id: int
    org_unit_code: str
    week_start: dt.date
    iso_year: int
    iso_week: int
    season: int
    ili_0_4: int
    ili_5_14: int
    ili_15_24: int
    ili_25_59: int
    ili_60p: int
    ili_total: int
    visits_total: int
    ili_percent: float | None
    specimens_collected: int
    specimens_tested: int
    positive_total: int
    positivity: float | None
    by_subtype: dict[str, int]
    submitted_at: dt.datetime
    late: bool

    @staticmethod
    def of(w) -> IliWeekOut:
        return IliWeekOut(
            id=w.pk, version=w.version, site_id=w.site_id, org_unit_code=w.site.org_unit.code,
            week_start=w.week_start, iso_year=w.iso_year, iso_week=w.iso_week, season=w.season,
            ili_0_4=w.ili_0_4, ili_5_14=w.ili_5_14, ili_15_24=w.ili_15_24,
            ili_25_59=w.ili_25_59, ili_60p=w.ili_60p, ili_total=w.ili_total,
            visits_total=w.visits_total, ili_percent=w.ili_percent,
            specimens_collected=w.specimens_collected, specimens_tested=w.specimens_tested,
            positive_total=w.positive_total,
            positivity=rules.positivity_percent(w.positive_total, w.specimens_tested),
            by_subtype={k: getattr(w, f"pos_{k}") for k, _zh, _en in rules.FLU_SUBTYPES},
            submitted_at=w.submitted_at, late=w.late)


class IliSeriesOut(Schema):
    weeks: list[int]
    seasons: dict[str, list[float | None]]
    positivity: dict[str, list[float | None]]


class ClusterIn(StrictIn):
    unit_code: str = Field(max_length=32)
    week_end: dt.date
    first_onset_date: dt.date | None = None
    ili_cases: int
    hospitalised: int = 0
    deaths: int = 0
    note: str = Field("", max_length=500)


class ClusterOut(Schema):
    id: int
    unit_code: str
    unit_name: str
    county_code: str
    week_end: dt.date
    first_onset_date: dt.date | None
    ili_cases: int
    hospitalised: int
    deaths: int
    level: str
    note: str

    @staticmethod
    def of(c) -> ClusterOut:
        return ClusterOut(id=c.pk, unit_code=c.unit.code, unit_name=c.unit_name,
                          county_code=c.county_code, week_end=c.week_end,
                          first_onset_date=c.first_onset_date, ili_cases=c.ili_cases,
                          hospitalised=c.hospitalised, deaths=c.deaths, level=c.level,
                          note=c.note)
