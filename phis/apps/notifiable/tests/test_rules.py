"""The card's cross-field rules (surveillance.md §2.1, §2.3 automatic checks)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phis.apps.notifiable import rules
from phis.apps.notifiable.tests.conftest import aware, card_input, resident_id

pytestmark = pytest.mark.django_db


def _errors(data, user=None):
    errors, checked = rules.check_card(data, user=user)
    return {e.field: e.code for e in errors}, checked


def test_valid_card_and_derivations(card_env):
    errors, checked = _errors(card_input(birth_date=None), card_env.clinician)
    assert errors == {}
    v = checked.values
    assert v["birth_date"] == date(1980, 5, 17)  # from the resident ID
    assert (v["age_unit"], v["residence_category"]) == ("Y", "1")
    assert checked.rules.deadline_hours == 24


@pytest.mark.parametrize(("overrides", "field", "code"), [
    ({"patient_name": ""}, "patient_name", "required"),
    ({"sex": 2}, "sex", "mismatch_id"),
    ({"birth_date": date(1980, 5, 18)}, "birth_date", "mismatch_id"),
    ({"id_number": "370502198005171230"}, "id_number", "invalid_check"),
    ({"occupation": "17"}, "occupation_other", "required"),
    ({"disease_code": "viral-hepatitis"}, "subtype_code", "required"),
    ({"disease_code": "hepatitis-b"}, "acute_chronic", "required"),
    ({"disease_code": "schistosomiasis"}, "acute_chronic", "required"),
    ({"disease_code": "no-such-disease"}, "disease_code", "unknown"),
    ({"icd10_code": "A00"}, "icd10_code", "disease_mismatch"),
    ({"case_classification": "7"}, "case_classification", "invalid_choice"),
    ({"address_code": "370500"}, "address_code", "unknown"),
    ({"residence_category": "4"}, "residence_category", "mismatch_address"),
    ({"death_date": date(2000, 1, 1)}, "death_date", "before_onset"),
    ({"reporting_unit_code": "F370523H1"}, "reporting_unit_code", "out_of_scope"),
    ({"phone": "12345"}, "phone", "invalid_phone"),
])
def test_field_errors(card_env, overrides, field, code):
    errors, _ = _errors(card_input(**overrides), card_env.clinician)
    assert errors.get(field) == code, errors


def test_subtype_as_disease_code_and_pulmonary_anthrax_two_hours(card_env):
    errors, checked = _errors(card_input(disease_code="anthrax-pulmonary",
                                         case_classification="1"), card_env.clinician)
    assert errors == {}
    assert (checked.values["disease_code"], checked.values["subtype_code"]) == (
        "anthrax", "anthrax-pulmonary")
    assert checked.values["deadline_hours"] == 2
    _, plain = _errors(card_input(disease_code="anthrax", subtype_code="anthrax-cutaneous"),
                       card_env.clinician)
    assert plain.values["deadline_hours"] == 24


def test_child_rules(card_env):
    today = timezone.localdate()
    child = date(today.year - 4, 1, 1)
    base = {"birth_date": None, "id_number": resident_id(child, seq=21)}
    errors, _ = _errors(card_input(occupation="02", **base), card_env.clinician)
    assert errors == {"parent_name": "required"}
    errors, _ = _errors(card_input(occupation="01", parent_name="王妈妈",
                                   work_unit="东营区实验幼儿园", **base), card_env.clinician)
    assert errors == {"work_unit": "kindergarten_required"}  # no class given
    errors, _ = _errors(card_input(occupation="01", parent_name="王妈妈",
                                   work_unit="东营区实验幼儿园大二班", **base),
                        card_env.clinician)
    assert errors == {}
    teen = date(today.year - 12, 1, 1)
    errors, _ = _errors(card_input(occupation="02", parent_name="李爸爸", birth_date=None,
                                   id_number=resident_id(teen, seq=41)), card_env.clinician)
    assert errors == {"occupation": "age_mismatch"}  # scattered child only pre-school
    errors, _ = _errors(card_input(occupation="03", parent_name="李爸爸", birth_date=None,
                                   id_number=resident_id(teen, seq=41),
                                   work_unit="东营市实验中学初一3班"), card_env.clinician)
    assert errors == {}


def test_age_instead_of_birth_date(card_env):
    errors, _ = _errors(card_input(id_number="", id_type="01", birth_date=None,
                                         age_value=35, age_unit="Y"), card_env.clinician)
    assert errors == {"id_number": "required"}
    errors, _ = _errors(card_input(id_number="", birth_date=None), card_env.clinician)
    assert errors["birth_date"] == "required"


def test_rules_configuration_override(card_env, settings):
    settings.PHIS_NOTIFIABLE_RULES = {"case_classifications": {"influenza": ["2", "3"]},
                                      "id_number_required": False,
                                      "suspected_limit_days": {"influenza": 2}}
    errors, _ = _errors(card_input(case_classification="4"), card_env.clinician)
    assert errors == {"case_classification": "not_allowed_for_disease"}
    assert rules.suspected_limit("influenza") == timedelta(days=2)
    assert rules.suspected_limit("measles") == timedelta(days=7)
    errors, _ = _errors(card_input(id_number="", birth_date=date(1980, 1, 1)),
                        card_env.clinician)
    assert errors == {}


def test_residence_derivation_outside_city(card_env):
    errors, checked = _errors(card_input(address_code="", residence_category="4",
                                         address_text="河北省沧州市某街道"), card_env.clinician)
    assert errors == {} and checked.values["residence_category"] == "4"
    errors, _ = _errors(card_input(address_code="", residence_category="1"),
                        card_env.clinician)
    assert errors == {"address_code": "required"}


def test_review_limits_and_episodes(settings):
    assert rules.review_hours(2) == 2 and rules.review_hours(24) == 24
    assert rules.same_episode("tuberculosis", date(2024, 1, 1), date(2024, 11, 1))
    assert not rules.same_episode("influenza", date(2024, 1, 1), date(2024, 3, 1))
    assert rules.same_episode("influenza", date(2024, 1, 1), date(2024, 1, 20))
    clock = rules.report_clock(diagnosis_at=aware(2024, 5, 1, 8, 0), deadline_hours=2,
                               reported_at=aware(2024, 5, 1, 10, 30))
    assert clock["reported_late"] is True
    assert clock["review_due_at"] == aware(2024, 5, 1, 12, 30)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(birth_offset=st.integers(0, 30000), onset_offset=st.integers(-400, 400),
       diag_offset=st.integers(-400, 400), death_offset=st.one_of(st.none(),
                                                                  st.integers(-400, 400)))
def test_date_order_property(card_env, birth_offset, onset_offset, diag_offset,
                             death_offset):
    """birth ≤ onset ≤ diagnosis ≤ today, death ≥ onset, no future dates: a card passes the
    date rules exactly when the dates are in that order."""
    today = timezone.localdate()
    base = today - timedelta(days=500)
    birth = base - timedelta(days=birth_offset)
    onset = base + timedelta(days=onset_offset)
    diag_day = base + timedelta(days=diag_offset)
    death = base + timedelta(days=death_offset) if death_offset is not None else None
    data = card_input(birth_date=birth, id_number="", age_value=None, age_unit="",
                      onset_date=onset, diagnosis_at=aware(diag_day.year, diag_day.month,
                                                           diag_day.day, 9, 0),
                      death_date=death, occupation="18", parent_name="家长",
                      filled_date=today)
    with settings_override():
        errors, _ = rules.check_card(data, user=card_env.clinician)
    date_fields = {"onset_date", "diagnosis_at", "death_date", "birth_date", "filled_date"}
    date_errors = {e.field for e in errors if e.field in date_fields}
    ordered = birth <= onset <= diag_day <= today and (death is None or onset <= death <= today)
    assert (not date_errors) == ordered, (errors, birth, onset, diag_day, death)


class settings_override:
    """ID numbers off for the property test (it varies the birth date freely)."""

    def __enter__(self):
        from django.test import override_settings

        self._o = override_settings(PHIS_NOTIFIABLE_RULES={"id_number_required": False})
        self._o.enable()

    def __exit__(self, *exc):
        self._o.disable()
