"""The plan rules as pure functions: schedule dates, WHO outcomes, ILI%, seasons,
clusters, observation periods (reference values worked out by hand)."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from phis.apps.keydiseases import rules
from phis.apps.keydiseases.rules import SputumResult, TbFacts


def test_tb_schedule_dates_by_hand():
    items = rules.tb_schedule(treatment_start=date(2026, 1, 31))
    visits = [(i.month, i.scheduled_date) for i in items if i.kind == rules.VISIT]
    # Jan 31 + n months, clipped to the month's end
    assert visits == [(1, date(2026, 2, 28)), (2, date(2026, 3, 31)), (3, date(2026, 4, 30)),
                      (4, date(2026, 5, 31)), (5, date(2026, 6, 30)), (6, date(2026, 7, 31))]
    sputum = [(i.month, i.scheduled_date) for i in items if i.kind == rules.SPUTUM]
    assert sputum == [(2, date(2026, 3, 31)), (5, date(2026, 6, 30)), (6, date(2026, 7, 31))]
    assert all(i.window_end == i.scheduled_date + timedelta(days=7) for i in items)
    assert rules.tb_expected_end(treatment_start=date(2026, 1, 31)) == date(2026, 7, 31)
    assert rules.tb_schedule(treatment_start=date(2026, 1, 1),
                             regimen=rules.REGIMEN_RR_REFERRAL) == []


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
       st.integers(min_value=0, max_value=36))
def test_add_months_keeps_day_or_clips(day, months):
    result = rules.add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day == day.day or (result.day < day.day
                                     and (result + timedelta(days=1)).day == 1)


START = date(2026, 1, 5)


def facts(**kw):
    base = {"bacteriologically_confirmed": True, "planned_months": 6, "treatment_start": START,
            "last_dose_date": date(2026, 7, 4)}
    base.update(kw)
    return TbFacts(**base)


def test_outcome_cured_needs_negative_last_month_and_an_earlier_one():
    end = date(2026, 7, 10)
    cured = facts(sputum=(SputumResult(2, False), SputumResult(6, False)))
    assert rules.tb_outcome_suggest(cured, today=end).outcome == rules.CURED
    only_last = facts(sputum=(SputumResult(6, False),))
    assert rules.tb_outcome_suggest(only_last, today=end).outcome == rules.COMPLETED
    negative_patient = facts(bacteriologically_confirmed=False,
                             sputum=(SputumResult(2, False), SputumResult(6, False)))
    assert rules.tb_outcome_suggest(negative_patient, today=end).outcome == rules.COMPLETED


def test_outcome_failed_died_lost_running():
    failed = facts(sputum=(SputumResult(2, False), SputumResult(5, True)))
    assert rules.tb_outcome_suggest(failed, today=date(2026, 6, 10)).outcome == rules.FAILED
    # positive at month 2 is not failure
    early = facts(sputum=(SputumResult(2, True),))
    assert rules.tb_outcome_suggest(early, today=date(2026, 3, 10)).outcome is None
    died = facts(died_on=date(2026, 3, 1))
    assert rules.tb_outcome_suggest(died, today=date(2026, 3, 2)).outcome == rules.DIED
    # 59 days without a dose: still on treatment; 60: lost to follow-up
    interrupted = facts(last_dose_date=date(2026, 2, 1))
    assert rules.tb_outcome_suggest(interrupted, today=date(2026, 4, 1)).outcome is None
    assert rules.tb_outcome_suggest(interrupted, today=date(2026, 4, 2)).outcome == rules.LOST
    assert rules.tb_outcome_suggest(facts(treatment_start=None),
                                    today=date(2026, 4, 2)).outcome is None


def test_outcome_allowed_refuses_what_the_records_contradict():
    end = date(2026, 7, 10)
    no_sputum = facts()
    check = rules.tb_outcome_allowed(rules.CURED, no_sputum, today=end)
    assert check.outcome == "mismatch" and "治愈" in check.reason
    assert rules.tb_outcome_allowed(rules.COMPLETED, no_sputum, today=end).outcome is None
    running = rules.tb_outcome_allowed(rules.COMPLETED, no_sputum, today=date(2026, 4, 1))
    assert running.outcome == "mismatch"
    assert rules.tb_outcome_allowed(rules.FAILED, no_sputum, today=end).outcome == "mismatch"
    failed = facts(sputum=(SputumResult(5, True),))
    assert rules.tb_outcome_allowed(rules.COMPLETED, failed, today=end).outcome == "mismatch"
    assert rules.tb_outcome_allowed(rules.FAILED, failed, today=end).outcome is None
    for free in (rules.DIED, rules.LOST, rules.NOT_EVALUATED):
        assert rules.tb_outcome_allowed(free, no_sputum, today=end).outcome is None
    assert rules.tb_outcome_allowed("healed", no_sputum, today=end).outcome == "invalid"


def test_ili_percent_reference_values():
    assert rules.ili_percent(37, 1250) == 2.96          # 37 / 1250 × 100
    assert rules.ili_percent(120, 1500) == 8.0
    assert rules.ili_percent(1, 3) == 33.33
    assert rules.ili_percent(5, 0) is None
    week = rules.WeeklyIli(week_start=date(2026, 1, 5), ili=37 + 120, visits=1250 + 1500)
    assert week.ili_percent == 5.71                     # 157 / 2750 × 100 = 5.709
    assert rules.positivity_percent(9, 20) == 45.0


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_ili_percent_is_a_percentage(ili, visits):
    value = rules.ili_percent(min(ili, visits), visits)
    assert 0.0 <= value <= 100.0


def test_seasons_run_from_week_14():
    assert rules.season_of(date(2026, 3, 30)) == 2026    # ISO 2026-W14
    assert rules.season_of(date(2026, 3, 23)) == 2025    # ISO 2026-W13
    assert rules.season_of(date(2026, 1, 5)) == 2025
    weeks = rules.season_weeks()
    assert weeks[0] == 14 and weeks[-1] == 13 and len(weeks) == 53
    assert rules.week_monday(date(2026, 1, 11)) == date(2026, 1, 5)
    # due before Monday 24:00 after the week
    assert str(rules.ili_due_at_local(date(2026, 1, 5))) == "2026-01-13 00:00:00"
    assert rules.specimen_target(date(2026, 1, 5)) == 20
    assert rules.specimen_target(date(2026, 6, 1)) == 5  # 20 a month spread over 30 days


def test_cluster_levels():
    assert rules.ili_cluster_level(ili_cases=9) == rules.CLUSTER_NONE
    assert rules.ili_cluster_level(ili_cases=10) == rules.CLUSTER_REPORT
    assert rules.ili_cluster_level(ili_cases=29, hospitalised=4, deaths=1) == \
        rules.CLUSTER_REPORT
    assert rules.ili_cluster_level(ili_cases=30) == rules.CLUSTER_EMERGENCY
    assert rules.ili_cluster_level(ili_cases=12, hospitalised=5) == rules.CLUSTER_EMERGENCY
    assert rules.ili_cluster_level(ili_cases=3, deaths=2) == rules.CLUSTER_EMERGENCY


def test_observation_days_follow_the_rules_of_the_diagnosis_date():
    assert rules.observation_days("plague", date(2026, 1, 1)) == 9
    assert rules.observation_days("cholera", date(2026, 1, 1)) == 5
    assert rules.observation_days("covid-19", date(2021, 5, 1)) == 14
    assert rules.observation_days("covid-19", date(2023, 1, 7)) == 5
    assert rules.observation_days("covid-19", date(2024, 1, 1)) == 0
    assert rules.observation_days("tuberculosis", date(2024, 1, 1)) == 0
    assert rules.opens_case("tuberculosis", "3") and not rules.opens_case("tuberculosis", "1")
    assert rules.opens_case("cholera", "4") and not rules.opens_case("influenza", "3")
    assert rules.contact_is_symptomatic(temperature=37.3, symptoms=[])
    assert not rules.contact_is_symptomatic(temperature=37.2, symptoms=[])
    assert rules.contact_is_symptomatic(temperature=None, symptoms=["cough"])
