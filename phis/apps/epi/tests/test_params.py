from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phis.apps.epi.params import (
    AreaScope,
    AreaSlice,
    iso_week_bounds,
    parse_epi_query,
    previous_iso_week,
)
from phis.core.exceptions import ValidationFailed

TODAY = date(2026, 3, 18)
KNOWN = {"known_diseases": {"hfmd", "influenza"}, "known_counties": {"370502", "370523"}}


def parse(**raw):
    return parse_epi_query(raw, today=TODAY, **KNOWN)


def fields(exc):
    return {e.field: e.code for e in exc.value.errors}


def test_defaults_are_the_last_four_weeks_by_onset_day():
    q = parse()
    assert (q.date_from, q.date_to) == (TODAY - timedelta(days=27), TODAY)
    assert (q.basis, q.interval, q.stack, q.disease_code, q.county_code) == \
        ("onset", "day", "area", "", "")


def test_long_periods_switch_to_weeks_and_all_means_every_disease():
    q = parse(date_from="2025-01-01", date_to="2025-12-31", disease_code="all")
    assert q.interval == "week" and q.disease_code == ""


def test_every_bad_parameter_gets_its_own_bilingual_field_error():
    with pytest.raises(ValidationFailed) as exc:
        parse(date_from="2026-13-01", date_to="x", date_basis="diagnosis-ish",
              disease_code="nope", county_code="999999", interval="month", stack="sex")
    assert fields(exc) == {"date_from": "invalid_date", "date_to": "invalid_date",
                           "date_basis": "invalid_choice", "disease_code": "unknown_disease",
                           "county_code": "unknown_county", "interval": "invalid_choice",
                           "stack": "invalid_choice"}
    assert exc.value.status == 422
    assert all(e.message and e.message_en for e in exc.value.errors)


def test_reversed_and_too_long_periods_are_refused():
    with pytest.raises(ValidationFailed) as exc:
        parse(date_from="2026-02-02", date_to="2026-02-01")
    assert fields(exc) == {"date_from": "after_date_to"}
    with pytest.raises(ValidationFailed) as exc:
        parse(date_from="2000-01-01", date_to="2026-02-01")
    assert fields(exc) == {"date_from": "range_too_long"}


@given(start=st.dates(date(2005, 1, 1), date(2030, 1, 1)), length=st.integers(1, 800))
def test_previous_period_has_the_same_length_and_ends_the_day_before(start, length):
    q = parse_epi_query({"date_from": start.isoformat(),
                         "date_to": (start + timedelta(days=length - 1)).isoformat()},
                        today=TODAY, **KNOWN)
    p = q.previous()
    assert p.days == q.days == length
    assert p.date_to == q.date_from - timedelta(days=1)


@given(st.dates(date(2005, 1, 1), date(2035, 12, 31)))
def test_previous_iso_week_is_the_last_complete_monday_to_sunday(today):
    year, week = previous_iso_week(today)
    start, end = iso_week_bounds(year, week)
    assert start.isoweekday() == 1 and end - start == timedelta(days=6)
    assert end < today <= end + timedelta(days=7)


def test_area_scope_allows_whole_counties_only():
    county = AreaScope(whole_city=False, slices=(AreaSlice("370502"),))
    township = AreaScope(whole_city=False, slices=(AreaSlice("370523", ("370523001",)),))
    assert county.allows_county("370502") and not county.allows_county("370523")
    assert not township.allows_county("370523")
    assert AreaScope(whole_city=True).allows_county("370523")
    assert AreaScope(whole_city=False).empty
