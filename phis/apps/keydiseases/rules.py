"""A4 key infectious diseases: the management plans as data, and the pure rules that read
them (follow-up schedule, WHO treatment outcomes, ILI%, school ILI clusters).

Tags as in shared/domain/surveillance.md §0: [V] verified, [K] well-known but not re-checked
against the primary text, [U] unconfirmed or a design choice of this module. Everything
tagged [U] (and most [K]) is a value in the tables below, never a literal in the services,
so the city can change it without touching the logic.

Sources:
- Case classifications, disease codes: surveillance.md §1.2, §2.1; catalogue codes of
  phis/core/codes/data/notifiable_diseases.json.
- TB: WHO "Definitions and reporting framework for tuberculosis" (2013, rev. 2014/2020) for
  the outcome definitions [K]; 中国结核病预防控制工作技术规范(2020年版) for the standard regimen
  and the sputum checks at the end of months 2, 5 and 6 [K]; 国家基本公共卫生服务规范(第三版)
  肺结核患者健康管理 for the first home visit within 72 h and the monthly visits [K].
- ILI: surveillance.md §4.3 (ILI%, Monday 24:00 entry, age groups, specimens, ILI outbreak
  thresholds) and §5.4 (school ILI cluster: ≥10 in 7 days).
- Medical observation of close contacts: national protocols per disease [K]/[U] as marked.

This module imports nothing from the app's layers, so any layer may read it.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

# --- who owns a task ------------------------------------------------------------------------
# "hospital": the treating (for TB: designated) hospital; "community": the township health
# centre / community health service centre of the patient's current address; "cdc": the
# county CDC of the patient's current address.
OWNER_HOSPITAL = "hospital"
OWNER_COMMUNITY = "community"
OWNER_CDC = "cdc"
OWNERS = (OWNER_HOSPITAL, OWNER_COMMUNITY, OWNER_CDC)

# Case classifications of the card (surveillance.md §2.1): 1 suspected, 2 clinical,
# 3 confirmed, 4 carrier, 5 positive test.
ALL_CLASSIFICATIONS = frozenset({"1", "2", "3", "4", "5"})


@dataclass(frozen=True)
class TaskTemplate:
    """One community–hospital–CDC task generated when a case opens."""

    key: str
    label: str
    label_en: str
    owner: str
    due: timedelta  # from the time the case is opened (the card's review)
    tag: str
    source: str = ""


@dataclass(frozen=True)
class ObservationPeriod:
    """Days of medical observation of a close contact, counted from the last exposure,
    for cases diagnosed in [valid_from, valid_to]."""

    days: int
    valid_from: date
    valid_to: date | None
    tag: str
    note: str = ""


@dataclass(frozen=True)
class Plan:
    key: str                    # "tb" or "acute"
    disease_codes: tuple[str, ...]
    label: str
    label_en: str
    open_for: frozenset[str]    # case classifications that open a managed case
    tasks: tuple[TaskTemplate, ...]
    observation: tuple[ObservationPeriod, ...] = ()
    open_tag: str = "U"
    contact_label: str = "密切接触者"
    contact_label_en: str = "Close contacts"


# --- tuberculosis ------------------------------------------------------------------------------

TB_CODES = ("tuberculosis",)
TB_RR_SUBTYPE = "tb-rifampicin-resistant"        # card sub-type (2019 card) [V]
TB_POSITIVE_SUBTYPES = frozenset({"tb-pathogen-positive", TB_RR_SUBTYPE})

REGIMEN_DS = "2HRZE/4HR"            # new drug-susceptible PTB, 6 months [K]
REGIMEN_RR_REFERRAL = "RR-referral"  # rifampicin-resistant: referred to the drug-resistance
                                     # designated hospital, which sets the long regimen [K]
REGIMENS = {
    REGIMEN_DS: {"label": "2HRZE/4HR（初治敏感）", "label_en": "2HRZE/4HR (drug-susceptible)",
                 "months": 6, "intensive_months": 2, "tag": "K"},
    REGIMEN_RR_REFERRAL: {"label": "利福平耐药：转诊耐药定点医院",
                          "label_en": "Rifampicin-resistant: refer to the MDR centre",
                          "months": None, "intensive_months": None, "tag": "K"},
}
# Sputum smear/culture at the end of these treatment months for drug-susceptible TB [K].
TB_SPUTUM_MONTHS = (2, 5, 6)
# A visit counts within this many days either side of its date [U].
TB_VISIT_WINDOW_DAYS = 7
# Interruption of treatment for this many consecutive days (2 months) = lost to follow-up
# (WHO 2013) [K].
TB_INTERRUPTION_DAYS = 60

TB_TASKS = (
    TaskTemplate("tb_treatment_start", "定点医院登记并开始治疗", "Register at the designated "
                 "hospital and start treatment", OWNER_HOSPITAL, timedelta(days=3), "U",
                 "design: registration and start within 3 days of review"),
    TaskTemplate("tb_first_home_visit", "首次入户随访", "First home visit", OWNER_COMMUNITY,
                 timedelta(hours=72), "K", "国家基本公共卫生服务规范(第三版): within 72 h"),
    TaskTemplate("tb_contact_screening", "家庭密切接触者筛查", "Screen household contacts",
                 OWNER_CDC, timedelta(days=14), "U", "design: within 14 days"),
)
TB_RR_TASK = TaskTemplate("tb_rr_referral", "转诊耐药定点医院", "Refer to the drug-resistance "
                          "designated hospital", OWNER_HOSPITAL, timedelta(days=7), "U",
                          "design: within 7 days of the rifampicin-resistance result")

# Designated TB hospital per county code (facility code) [U: the city's own list]; when a
# county is missing, the county's people's hospital (F<county>H1) is used, then the
# reporting unit.
TB_DESIGNATED_HOSPITALS: dict[str, str] = {}

# --- acute key diseases --------------------------------------------------------------------------

PLAGUE, CHOLERA, SARS, COVID = "plague", "cholera", "sars", "covid-19"
AVIAN_CODES = ("hpai", "h7n9", "novel-influenza-subtype")
ACUTE_CODES = (PLAGUE, CHOLERA, SARS, COVID, *AVIAN_CODES)
# Class A and managed-as-class-A diseases get the 2-hour clocks (surveillance.md §1.3, §2.2).
TWO_HOUR_CODES = frozenset({PLAGUE, CHOLERA, SARS})


def _acute_tasks(code: str) -> tuple[TaskTemplate, ...]:
    fast = code in TWO_HOUR_CODES
    tasks = [
        TaskTemplate("isolation_treatment", "收治隔离治疗", "Admit for isolation and treatment",
                     OWNER_HOSPITAL, timedelta(hours=2 if fast else 24), "U",
                     "design: same clock as the report deadline (§2.2)"),
        TaskTemplate("epi_investigation", "流行病学个案调查", "Case investigation", OWNER_CDC,
                     timedelta(hours=24), "U", "design"),
        TaskTemplate("contact_tracing", "判定并登记密切接触者", "Identify and list close "
                     "contacts", OWNER_CDC, timedelta(hours=24), "U", "design"),
        TaskTemplate("community_observation", "落实密切接触者医学观察",
                     "Start medical observation of contacts", OWNER_COMMUNITY,
                     timedelta(hours=24), "U", "design"),
    ]
    if code in (PLAGUE, CHOLERA):
        tasks.append(TaskTemplate("disinfection", "疫点消毒处理", "Disinfect the focus",
                                  OWNER_CDC, timedelta(hours=24), "U", "design"))
    return tuple(tasks)


_OPEN = date(2004, 12, 1)
OBSERVATION: dict[str, tuple[ObservationPeriod, ...]] = {
    PLAGUE: (ObservationPeriod(9, _OPEN, None, "K", "鼠疫密切接触者医学观察9天"),),
    CHOLERA: (ObservationPeriod(5, _OPEN, None, "K", "霍乱密切接触者医学观察5天"),),
    SARS: (ObservationPeriod(14, _OPEN, None, "K", "SARS密切接触者医学观察14天"),),
    "hpai": (ObservationPeriod(7, _OPEN, None, "K", "人感染禽流感密切接触者医学观察7天"),),
    "h7n9": (ObservationPeriod(7, _OPEN, None, "K", "人感染H7N9禽流感密切接触者医学观察7天"),),
    "novel-influenza-subtype": (ObservationPeriod(7, date(2025, 9, 1), None, "U",
                                                  "assumed as for H7N9"),),
    COVID: (
        ObservationPeriod(14, date(2020, 1, 20), date(2022, 6, 27), "K", "前九版方案14天"),
        ObservationPeriod(7, date(2022, 6, 28), date(2022, 11, 10), "U", "第九版方案"),
        ObservationPeriod(5, date(2022, 11, 11), date(2023, 1, 7), "U", "二十条/新十条"),
        # 乙类乙管 from 2023-01-08: no close-contact determination [K]
        ObservationPeriod(0, date(2023, 1, 8), None, "K", "乙类乙管：不再判定密切接触者"),
    ),
}

# TB contacts are screened, not observed; household contacts [K].
TB_PLAN = Plan("tb", TB_CODES, "肺结核患者管理", "Tuberculosis case management",
               open_for=frozenset({"2", "3"}), tasks=TB_TASKS, open_tag="U",
               contact_label="家庭密切接触者", contact_label_en="Household contacts")


def _acute_plan(code: str) -> Plan:
    return Plan("acute", (code,), "重点传染病病例管理", "Key-disease case management",
                open_for=ALL_CLASSIFICATIONS, tasks=_acute_tasks(code),
                observation=OBSERVATION.get(code, ()), open_tag="U")


PLANS: dict[str, Plan] = {"tuberculosis": TB_PLAN}
PLANS.update({code: _acute_plan(code) for code in ACUTE_CODES})

# Influenza (class C) has no per-case management: it is followed through the ILI sentinel
# network and school clusters (§4.3).
KEY_DISEASES: dict[str, tuple[str, str]] = {
    "tuberculosis": ("肺结核", "Tuberculosis"),
    COVID: ("新型冠状病毒感染", "COVID-19"),
    SARS: ("传染性非典型肺炎", "SARS"),
    PLAGUE: ("鼠疫", "Plague"),
    CHOLERA: ("霍乱", "Cholera"),
    "hpai": ("人感染高致病性禽流感", "Human HPAI"),
    "h7n9": ("人感染H7N9禽流感", "Human H7N9 avian influenza"),
    "novel-influenza-subtype": ("人感染新亚型流感", "Human novel influenza subtype"),
    "influenza": ("流行性感冒", "Influenza"),
}


def plan_for(disease_code: str) -> Plan | None:
    return PLANS.get(disease_code)


def opens_case(disease_code: str, case_classification: str) -> bool:
    plan = plan_for(disease_code)
    return plan is not None and case_classification in plan.open_for


def observation_days(disease_code: str, on: date) -> int:
    """Days of medical observation for a contact of a case diagnosed on ``on`` (0: none)."""
    for period in OBSERVATION.get(disease_code, ()):
        if period.valid_from <= on and (period.valid_to is None or on <= period.valid_to):
            return period.days
    return 0


def tb_tasks(*, rifampicin_resistant: bool) -> tuple[TaskTemplate, ...]:
    return (*TB_TASKS, TB_RR_TASK) if rifampicin_resistant else TB_TASKS


def tb_regimen_for(*, rifampicin_resistant: bool) -> str:
    return REGIMEN_RR_REFERRAL if rifampicin_resistant else REGIMEN_DS


# --- TB follow-up schedule -----------------------------------------------------------------

VISIT = "visit"          # monthly follow-up visit with adherence review (community)
SPUTUM = "sputum"        # sputum smear/culture (hospital)


@dataclass(frozen=True)
class ScheduledFollowUp:
    kind: str
    month: int
    scheduled_date: date
    window_end: date


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clipped to the end of a shorter month (Jan 31 + 1 = Feb 28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def tb_schedule(*, treatment_start: date, regimen: str = REGIMEN_DS) -> list[ScheduledFollowUp]:
    """The follow-ups of a drug-susceptible regimen: a visit at the end of every treatment
    month and a sputum check at the end of months 2, 5 and 6. A referred (RR) patient gets
    none here: the MDR centre sets them."""
    months = REGIMENS[regimen]["months"]
    if not months:
        return []
    window = timedelta(days=TB_VISIT_WINDOW_DAYS)
    items = []
    for m in range(1, months + 1):
        when = add_months(treatment_start, m)
        items.append(ScheduledFollowUp(VISIT, m, when, when + window))
        if m in TB_SPUTUM_MONTHS:
            items.append(ScheduledFollowUp(SPUTUM, m, when, when + window))
    return items


def tb_expected_end(*, treatment_start: date, regimen: str = REGIMEN_DS) -> date | None:
    months = REGIMENS[regimen]["months"]
    return add_months(treatment_start, months) if months else None


# --- TB treatment outcomes (WHO 2013, rev. 2020) [K] ----------------------------------------

CURED = "cured"
COMPLETED = "treatment_completed"
FAILED = "treatment_failed"
DIED = "died"
LOST = "lost_to_follow_up"
NOT_EVALUATED = "not_evaluated"
TB_OUTCOMES = (CURED, COMPLETED, FAILED, DIED, LOST, NOT_EVALUATED)


@dataclass(frozen=True)
class SputumResult:
    month: int              # treatment month at whose end the specimen was taken
    positive: bool


@dataclass(frozen=True)
class TbFacts:
    bacteriologically_confirmed: bool
    planned_months: int | None
    treatment_start: date | None
    sputum: Sequence[SputumResult] = ()
    last_dose_date: date | None = None   # last observed dose
    died_on: date | None = None
    transferred_out: bool = False
    treatment_ended_on: date | None = None
    observed_doses: int = 0
    planned_doses: int = 0


@dataclass(frozen=True)
class OutcomeCheck:
    outcome: str | None
    reason: str
    reason_en: str


def tb_outcome_suggest(facts: TbFacts, *, today: date) -> OutcomeCheck:
    """The WHO outcome the records support, or None while treatment is still running.

    Order as in WHO 2013: died; failed (positive smear/culture at month 5 or later);
    lost to follow-up (never started, or interrupted ≥ 2 consecutive months); then, at the
    end of treatment, cured (bacteriologically confirmed at the start, negative in the
    last month and on at least one earlier occasion) or treatment completed; transferred
    out → not evaluated."""
    if facts.died_on is not None:
        return OutcomeCheck(DIED, "治疗前或治疗期间死亡", "Died before or during treatment")
    if any(s.positive and s.month >= 5 for s in facts.sputum):
        return OutcomeCheck(FAILED, "治疗第5个月或以后痰检阳性",
                            "Sputum positive at month 5 or later")
    if facts.transferred_out:
        return OutcomeCheck(NOT_EVALUATED, "转出，无治疗转归", "Transferred out, outcome unknown")
    if facts.treatment_start is None:
        return OutcomeCheck(None, "尚未开始治疗", "Treatment not started")
    last = facts.last_dose_date or facts.treatment_start
    if (today - last).days >= TB_INTERRUPTION_DAYS and facts.treatment_ended_on is None:
        return OutcomeCheck(LOST, "连续中断治疗2个月或以上",
                            "Treatment interrupted for 2 consecutive months or more")
    if not facts.planned_months:
        return OutcomeCheck(None, "耐药方案由耐药定点医院评价",
                            "Outcome set by the drug-resistance centre")
    end = facts.treatment_ended_on or add_months(facts.treatment_start, facts.planned_months)
    if facts.treatment_ended_on is None and today < end:
        return OutcomeCheck(None, "疗程未结束", "Treatment still running")
    last_month = facts.planned_months
    negatives = [s for s in facts.sputum if not s.positive]
    if (facts.bacteriologically_confirmed and any(s.month >= last_month for s in negatives)
            and any(s.month < last_month for s in negatives)):
        return OutcomeCheck(CURED, "病原学阳性患者末月及此前至少一次痰检阴性",
                            "Confirmed at the start; negative in the last month and before")
    return OutcomeCheck(COMPLETED, "完成疗程，无治愈所需的痰检结果",
                        "Treatment completed without the sputum results needed for cured")


def tb_outcome_allowed(outcome: str, facts: TbFacts, *, today: date) -> OutcomeCheck:
    """Whether a user may record ``outcome``; ``outcome`` None means allowed, else the
    reason it is not. Died, lost to follow-up and not evaluated need the user's facts
    (date of death; tracing) and are always allowed; cured, completed and failed must
    match the records."""
    if outcome not in TB_OUTCOMES:
        return OutcomeCheck("invalid", "转归无效", "Unknown outcome")
    if outcome in (DIED, LOST, NOT_EVALUATED):
        return OutcomeCheck(None, "", "")
    suggested = tb_outcome_suggest(facts, today=today)
    if outcome == FAILED:
        if suggested.outcome == FAILED:
            return OutcomeCheck(None, "", "")
        return OutcomeCheck("mismatch", "治疗失败须有第5个月或以后的阳性痰检结果",
                            "Failure needs a positive sputum result at month 5 or later")
    if suggested.outcome == FAILED:
        return OutcomeCheck("mismatch", "已有第5个月或以后的阳性痰检，应判为治疗失败",
                            "A positive result at month 5 or later means treatment failed")
    if outcome == CURED and suggested.outcome != CURED:
        return OutcomeCheck("mismatch", "治愈须为病原学阳性患者且末月及此前至少一次痰检阴性",
                            "Cured needs a confirmed patient with a negative result in the "
                            "last month and on one earlier occasion")
    if outcome == COMPLETED and suggested.outcome not in (CURED, COMPLETED):
        return OutcomeCheck("mismatch", "疗程尚未完成，不能判为完成治疗",
                            "The treatment course has not been completed")
    return OutcomeCheck(None, "", "")


def doses_in(*, start: date, end: date) -> int:
    """Planned daily doses between two dates (inclusive) of a daily regimen [K]."""
    return max(0, (end - start).days + 1)


# --- acute disease outcomes -----------------------------------------------------------------

ACUTE_OUTCOMES = ("recovered", "died", "transferred", "excluded")
# "excluded": diagnosis revised or the card deleted (surveillance.md §2.4)
REVOKED = "revoked"

# Contact medical observation: a temperature from this value counts as fever (fever clinics,
# §4.1: axillary ≥37.3 °C) [K]; any listed symptom makes the contact symptomatic [U].
FEVER_FROM = 37.3
CONTACT_SYMPTOMS = {
    "fever": ("发热", "Fever"), "cough": ("咳嗽", "Cough"),
    "sore_throat": ("咽痛", "Sore throat"), "dyspnoea": ("呼吸困难", "Shortness of breath"),
    "diarrhoea": ("腹泻", "Diarrhoea"), "vomiting": ("呕吐", "Vomiting"),
    "lymphadenopathy": ("淋巴结肿痛", "Painful lymph nodes"),
    "haemoptysis": ("咯血", "Haemoptysis"),
}
# A symptomatic contact must be seen by the hospital within this time [U].
SYMPTOMATIC_CONTACT_TASK = TaskTemplate(
    "symptomatic_contact", "有症状密切接触者转诊排查", "Refer a symptomatic contact",
    OWNER_CDC, timedelta(hours=2), "U", "design")


def contact_is_symptomatic(*, temperature: float | None, symptoms: Iterable[str]) -> bool:
    return (temperature is not None and temperature >= FEVER_FROM) or any(
        s in CONTACT_SYMPTOMS for s in symptoms)


# --- influenza-like illness sentinel surveillance (§4.3) -----------------------------------

ILI_AGE_GROUPS = (("0_4", "0–4岁", "0–4 y"), ("5_14", "5–14岁", "5–14 y"),
                  ("15_24", "15–24岁", "15–24 y"), ("25_59", "25–59岁", "25–59 y"),
                  ("60p", "≥60岁", "≥60 y"))  # [K]
FLU_SUBTYPES = (("a_h1n1pdm09", "甲型H1N1pdm09", "A(H1N1)pdm09"), ("a_h3n2", "甲型H3N2", "A(H3N2)"),
                ("a_unsubtyped", "甲型未分型", "A not subtyped"),
                ("b_victoria", "乙型Victoria系", "B/Victoria"),
                ("b_yamagata", "乙型Yamagata系", "B/Yamagata"),
                ("b_undetermined", "乙型未分系", "B lineage not determined"))
# Weekly data are due before 24:00 on the Monday after the week (Monday–Sunday) [V].
ILI_ENTRY_DUE = timedelta(days=8)  # from the week's Monday 00:00 to Tuesday 00:00
# Northern provinces (Shandong): 20 specimens a month April–September, an average of 20 a
# week October–March [V].
SPECIMENS_PER_WEEK_WINTER = 20
SPECIMENS_PER_MONTH_SUMMER = 20
# Surveillance year: week 14 to week 13 of the next year [K].
SEASON_START_WEEK = 14


def ili_percent(ili_cases: int, outpatient_visits: int) -> float | None:
    """ILI% = Σ ILI / Σ outpatient+emergency visits × 100 (§4.3 [V]); None without visits."""
    if outpatient_visits <= 0:
        return None
    return round(ili_cases * 100.0 / outpatient_visits, 2)


def positivity_percent(positive: int, tested: int) -> float | None:
    if tested <= 0:
        return None
    return round(positive * 100.0 / tested, 1)


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def ili_due_at_local(week_start: date) -> datetime:
    """Naive local (Asia/Shanghai) time by which the week must be entered."""
    return datetime.combine(week_start, datetime.min.time()) + ILI_ENTRY_DUE


def season_of(week_start: date) -> int:
    """Surveillance year of a week: ISO week ≥ 14 belongs to that year's season."""
    iso_year, iso_week, _ = week_start.isocalendar()
    return iso_year if iso_week >= SEASON_START_WEEK else iso_year - 1


def season_weeks() -> list[int]:
    """ISO week numbers in season order: 14 … 53, 1 … 13."""
    return list(range(SEASON_START_WEEK, 54)) + list(range(1, SEASON_START_WEEK))


def specimen_target(week_start: date) -> int:
    """Specimens expected from one sentinel hospital in the week (northern rule [V]); the
    monthly summer target is spread over the weeks of the month."""
    if 4 <= week_start.month <= 9:
        return -(-SPECIMENS_PER_MONTH_SUMMER * 7 // calendar.monthrange(
            week_start.year, week_start.month)[1])
    return SPECIMENS_PER_WEEK_WINTER


# School / collective-unit ILI clusters (§4.3 [V], §5.4 [V]).
ILI_CLUSTER_WINDOW_DAYS = 7
ILI_CLUSTER_REPORT = 10          # ≥10 ILI in a week: report to the county CDC
ILI_EMERGENCY_CASES = 30         # ≥30 in a week, or
ILI_EMERGENCY_HOSPITALISED = 5   # ≥5 hospitalised, or
ILI_EMERGENCY_DEATHS = 2         # ≥2 deaths: public-health-emergency report within 2 h
CLUSTER_NONE, CLUSTER_REPORT, CLUSTER_EMERGENCY = "none", "cluster", "emergency"
ILI_CLUSTER_VERIFY = {
    CLUSTER_REPORT: TaskTemplate("ili_cluster_verify", "核实学校流感样病例聚集",
                                 "Verify a school ILI cluster", OWNER_CDC,
                                 timedelta(hours=24), "U", "design"),
    CLUSTER_EMERGENCY: TaskTemplate("ili_cluster_verify", "核实流感样病例暴发（2小时内网络报告）",
                                    "Verify an ILI outbreak (report within 2 h)", OWNER_CDC,
                                    timedelta(hours=2), "V", "§4.3: within 2 h"),
}


def ili_cluster_level(*, ili_cases: int, hospitalised: int = 0, deaths: int = 0) -> str:
    if (ili_cases >= ILI_EMERGENCY_CASES or hospitalised >= ILI_EMERGENCY_HOSPITALISED
            or deaths >= ILI_EMERGENCY_DEATHS):
        return CLUSTER_EMERGENCY
    if ili_cases >= ILI_CLUSTER_REPORT:
        return CLUSTER_REPORT
    return CLUSTER_NONE


@dataclass
class WeeklyIli:
    """Sums of one week over any set of sentinel hospitals."""

    week_start: date
    ili: int = 0
    visits: int = 0
    tested: int = 0
    positive: int = 0
    by_subtype: dict[str, int] = field(default_factory=dict)

    @property
    def ili_percent(self) -> float | None:
        return ili_percent(self.ili, self.visits)

    @property
    def positivity(self) -> float | None:
        return positivity_percent(self.positive, self.tested)
