"""Demo data of A4 (called through services.keydiseases_demo_setup): deterministic and
idempotent, written in bulk.

- ILI sentinel hospitals (each county's people's hospital and two city hospitals) with four
  surveillance years of weeks: a winter peak of varying height and timing per season, a
  small summer wave in some seasons, the dominant subtype changing by season [U: a plausible
  synthetic pattern, not Dongying's figures].
- TB: every reviewed TB card of the last year becomes a managed case. Cards older than three
  weeks get a history (treatment start, the follow-ups already due, outcomes by the WHO rules
  for finished courses, a few interruptions); the last three weeks' cards and the last
  week's cards of the other key diseases go through the services, so their tasks, owners
  and clocks are live.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from phis.apps.keydiseases import rules, selectors, services
from phis.apps.keydiseases.models import (
    CareStatus,
    CaseCardLink,
    CaseStatus,
    DotMode,
    DrugResistance,
    FollowUp,
    FollowUpStatus,
    IliSite,
    IliWeek,
    LabOutcome,
    ManagedCase,
    SiteKind,
)
from phis.core.orgunits.models import Level, OrgUnit

DEMO_SEED = 20260105
HISTORY_DAYS = 365
LIVE_TB_DAYS = 21
LIVE_ACUTE_DAYS = 7
LIVE_CAP = 400
SEASONS = 4
AGE_SHARES = (0.30, 0.28, 0.10, 0.22, 0.10)
# per season: (peak ILI% above baseline, peak position in the season, dominant subtype)
SEASON_SHAPES = ((6.5, 39, "a_h3n2"), (9.0, 37, "a_h1n1pdm09"), (4.5, 42, "b_victoria"),
                 (8.0, 38, "a_h3n2"), (7.0, 40, "a_h1n1pdm09"))


def demo_setup(*, today: date | None = None, seed: int = DEMO_SEED) -> dict:
    today = today or timezone.localdate()
    sites = _sites(today)
    weeks = _ili_weeks(sites, today, seed)
    history = _tb_history(today, seed)
    live = _live_cases(today)
    return {"ili_sites": len(sites), "ili_weeks": weeks, "tb_history_cases": history,
            "live_cases": live}


# --- ILI -------------------------------------------------------------------------------------

def _sites(today: date) -> list[IliSite]:
    codes = [f"F{c.code}H1" for c in OrgUnit.objects.filter(level=Level.COUNTY)]
    codes += ["F370500H1", "F370500H2"]
    units = OrgUnit.objects.filter(code__in=codes, level=Level.FACILITY).order_by("code")
    start = rules.week_monday(today) - timedelta(weeks=52 * SEASONS + 30)
    sites = []
    for unit in units:
        site, _ = IliSite.objects.get_or_create(
            org_unit=unit, defaults={"kind": SiteKind.GENERAL, "since": start,
                                     "clinics": "内科门急诊、发热门诊、儿科门急诊"})
        sites.append(site)
    return sites


def _ili_weeks(sites: list[IliSite], today: date, seed: int) -> int:
    last = rules.week_monday(today) - timedelta(days=7)
    first_season = rules.season_of(last) - (SEASONS - 1)
    start = date.fromisocalendar(first_season, rules.SEASON_START_WEEK, 1)
    existing = set(IliWeek.objects.filter(site__in=sites).values_list("site_id", "week_start"))
    order = {w: i for i, w in enumerate(rules.season_weeks())}
    rows = []
    now = timezone.now()
    for index, site in enumerate(sites):
        rng = np.random.default_rng(seed + index)
        base_visits = 1200 + 400 * (index % 4)
        week = start
        while week <= last:
            if (site.pk, week) not in existing:
                season = rules.season_of(week)
                iso_year, iso_week, _ = week.isocalendar()
                peak, centre, dominant = SEASON_SHAPES[season % len(SEASON_SHAPES)]
                pos = order[iso_week]
                pct = 2.4 + peak * math.exp(-((pos - centre) / 4.5) ** 2)
                if season % 2 == 0:  # a summer wave in alternate seasons
                    pct += 1.5 * math.exp(-((pos - 16) / 3.0) ** 2)
                pct = max(0.5, pct * float(rng.normal(1.0, 0.08)))
                visits = max(200, int(rng.normal(base_visits * (1 + pct / 40), 60)))
                ili = min(visits, round(visits * pct / 100))
                ages = _split(ili, AGE_SHARES, rng)
                collected = rules.specimen_target(week)
                tested = collected
                positivity = min(0.6, max(0.01, (pct - 2.0) * 0.07))
                positive = int(rng.binomial(tested, positivity))
                subtypes = _subtypes(positive, dominant, rng)
                due = timezone.make_aware(rules.ili_due_at_local(week))
                submitted = due - timedelta(hours=int(rng.integers(2, 40)))
                rows.append(IliWeek(
                    site=site, week_start=week, iso_year=iso_year, iso_week=iso_week,
                    season=season, ili_0_4=ages[0], ili_5_14=ages[1], ili_15_24=ages[2],
                    ili_25_59=ages[3], ili_60p=ages[4], ili_total=ili, visits_total=visits,
                    ili_percent=rules.ili_percent(ili, visits), specimens_collected=collected,
                    specimens_tested=tested, positive_total=positive,
                    submitted_at=min(submitted, now), late=False, **subtypes))
            week += timedelta(days=7)
    IliWeek.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _split(total: int, shares, rng) -> list[int]:
    if total <= 0:
        return [0] * len(shares)
    return [int(x) for x in rng.multinomial(total, shares)]


def _subtypes(positive: int, dominant: str, rng) -> dict[str, int]:
    keys = [k for k, _zh, _en in rules.FLU_SUBTYPES]
    shares = [0.08] * len(keys)
    shares[keys.index(dominant)] = 0.6
    shares = [s / sum(shares) for s in shares]
    counts = _split(positive, shares, rng)
    return {f"pos_{k}": n for k, n in zip(keys, counts, strict=True)}


# --- TB history ----------------------------------------------------------------------------

def _tb_cards(since, until):
    from phis.apps.notifiable.selectors import counted_cards

    linked = CaseCardLink.objects.values("card_id")
    return (counted_cards().filter(status="reviewed", disease_code__in=rules.TB_CODES,
                                   case_classification__in=sorted(rules.TB_PLAN.open_for),
                                   reviewed_at__gte=since, reviewed_at__lt=until)
            .exclude(pk__in=linked).select_related("address_unit", "reporting_unit")
            .order_by("reviewed_at", "pk"))


class _Units:
    """Org-unit look-ups of the bulk path, cached (the services resolve them per case)."""

    def __init__(self):
        self.cache: dict[int | None, tuple] = {}

    def for_card(self, card):
        key = card.address_unit_id or -card.reporting_unit_id
        if key not in self.cache:
            county = services._county_unit(card.address_unit) or services._county_unit(
                card.reporting_unit)
            township = selectors.township_of(card.address_unit)
            cdc = services._county_cdc(county)
            managing = selectors.health_centre_of(township) or cdc
            hospital = services._designated_tb_hospital(county, card.reporting_unit)
            self.cache[key] = (county, township, cdc, managing, hospital)
        return self.cache[key]


def _tb_history(today: date, seed: int) -> int:
    now = timezone.now()
    cutoff = now - timedelta(days=LIVE_TB_DAYS)
    cards = list(_tb_cards(now - timedelta(days=HISTORY_DAYS), cutoff))
    if not cards:
        return 0
    rng = np.random.default_rng(seed)
    units = _Units()
    open_keys = set(ManagedCase.objects.filter(status=CaseStatus.OPEN, plan="tb")
                    .values_list("identity_key", flat=True))
    plans = []  # (case, card, follow-up specs, link extra cards)
    by_key: dict[str, ManagedCase] = {}
    extra_links: list[tuple[str, object]] = []
    for card in cards:
        key = services._identity_key(card)
        if key in open_keys:
            continue  # the live case of that person takes it (services path)
        if key in by_key:
            extra_links.append((key, card))
            continue
        county, township, cdc, managing, hospital = units.for_card(card)
        rr = card.subtype_code == rules.TB_RR_SUBTYPE
        regimen = rules.tb_regimen_for(rifampicin_resistant=rr)
        reviewed = timezone.localtime(card.reviewed_at).date()
        start = reviewed + timedelta(days=int(rng.integers(0, 4)))
        confirmed = card.subtype_code in rules.TB_POSITIVE_SUBTYPES
        case = ManagedCase(
            plan="tb", disease_code=card.disease_code, subtype_code=card.subtype_code,
            case_classification=card.case_classification, identity_key=key,
            person_id=card.person_id, patient_name=card.patient_name, sex=int(card.sex),
            birth_date=card.birth_date, phone_masked=card.phone_masked,
            address_unit=card.address_unit, county_code=card.county_code or (
                county.code if county else ""),
            township_code=card.township_code or (township.code if township else ""),
            treating_unit=hospital, managing_unit=managing, cdc_unit=cdc,
            source_card_id=card.pk, card_number=card.card_number, onset_date=card.onset_date,
            diagnosis_date=timezone.localtime(card.diagnosis_at).date(),
            opened_at=card.reviewed_at, status=CaseStatus.OPEN,
            care_status=CareStatus.REFERRED if rr else CareStatus.OUTPATIENT,
            drug_resistance=DrugResistance.RIFAMPICIN_RESISTANT if rr else "",
            bacteriologically_confirmed=confirmed, regimen=regimen,
            treatment_start_date=start,
            expected_end_date=rules.tb_expected_end(treatment_start=start, regimen=regimen),
            dot_mode=DotMode.MEDICAL_STAFF if rng.random() < 0.7 else DotMode.FAMILY)
        by_key[key] = case
        plans.append((case, card, _history_followups(case, today, rng)))
    with transaction.atomic():
        ManagedCase.objects.bulk_create([p[0] for p in plans], batch_size=1000)
        links, followups = [], []
        for case, card, items in plans:
            links.append(CaseCardLink(case=case, card_id=card.pk, card_number=card.card_number,
                                      linked_at=card.reviewed_at))
            for item in items:
                item.case = case
                followups.append(item)
        for key, card in extra_links:
            links.append(CaseCardLink(case=by_key[key], card_id=card.pk,
                                      card_number=card.card_number, linked_at=card.reviewed_at))
        CaseCardLink.objects.bulk_create(links, batch_size=2000)
        FollowUp.objects.bulk_create(followups, batch_size=5000)
        _close_finished(plans, today, rng)
    return len(plans)


def _history_followups(case: ManagedCase, today: date, rng) -> list[FollowUp]:
    schedule = rules.tb_schedule(treatment_start=case.treatment_start_date,
                                 regimen=case.regimen)
    interrupted_after = int(rng.integers(2, 5)) if rng.random() < 0.05 else None
    fail = case.bacteriologically_confirmed and rng.random() < 0.02
    items = []
    for s in schedule:
        unit = case.managing_unit if s.kind == rules.VISIT else case.treating_unit
        item = FollowUp(kind=s.kind, month=s.month, scheduled_date=s.scheduled_date,
                        window_end=s.window_end, unit=unit)
        if s.window_end < today and (interrupted_after is None or s.month <= interrupted_after):
            done = s.scheduled_date + timedelta(days=int(rng.integers(-2, 4)))
            item.status, item.done_date = FollowUpStatus.DONE, min(done, today)
            if s.kind == rules.VISIT:
                planned = 30
                observed = int(rng.integers(26, 31))
                item.doses_planned, item.doses_observed = planned, observed
                item.doses_missed = planned - observed
                item.last_dose_date = item.done_date
            else:
                positive = (s.month == 2 and rng.random() < 0.1) or (fail and s.month >= 5)
                item.smear_result = LabOutcome.POSITIVE if positive else LabOutcome.NEGATIVE
        elif s.window_end < today:
            item.status = FollowUpStatus.MISSED
        items.append(item)
    return items


def _close_finished(plans, today: date, rng) -> None:
    """Cases whose course is over get the outcome the WHO rules give for their records."""
    for case, _card, items in plans:
        if case.expected_end_date is None or case.expected_end_date + timedelta(days=14) > today:
            continue
        sputum = tuple(rules.SputumResult(i.month, i.smear_result == LabOutcome.POSITIVE)
                       for i in items if i.kind == rules.SPUTUM and i.smear_result)
        last_dose = max((i.last_dose_date for i in items if i.last_dose_date), default=None)
        died = rng.random() < 0.02
        facts = rules.TbFacts(
            bacteriologically_confirmed=case.bacteriologically_confirmed, planned_months=6,
            treatment_start=case.treatment_start_date, sputum=sputum, last_dose_date=last_dose,
            died_on=case.expected_end_date - timedelta(days=40) if died else None)
        result = rules.tb_outcome_suggest(facts, today=case.expected_end_date + timedelta(days=7))
        if result.outcome is None:
            continue
        when = min(today, (facts.died_on or last_dose or case.expected_end_date))
        ManagedCase.objects.filter(pk=case.pk).update(
            status=CaseStatus.CLOSED, outcome=result.outcome, outcome_date=when,
            outcome_note=result.reason, closed_at=timezone.now(),
            treatment_ended_on=when, care_status=CareStatus.ENDED)
        FollowUp.objects.filter(case_id=case.pk, status=FollowUpStatus.SCHEDULED).update(
            status=FollowUpStatus.CANCELLED)


# --- live cases through the services ---------------------------------------------------------

def _live_cases(today: date) -> int:
    from phis.apps.notifiable.selectors import counted_cards

    now = timezone.now()
    linked = CaseCardLink.objects.values("card_id")
    qs = (counted_cards().filter(status="reviewed").exclude(pk__in=linked)
          .filter(disease_code__in=list(rules.PLANS))
          .exclude(disease_code__in=rules.TB_CODES, reviewed_at__lt=now - timedelta(
              days=LIVE_TB_DAYS))
          .exclude(disease_code__in=rules.ACUTE_CODES,
                   reviewed_at__lt=now - timedelta(days=LIVE_ACUTE_DAYS))
          .order_by("-reviewed_at").values_list("pk", "reviewed_at")[:LIVE_CAP])
    opened = 0
    for card_id, reviewed_at in reversed(list(qs)):
        if services.case_open_from_card(card_id=card_id, now=reviewed_at) is not None:
            opened += 1
    return opened
