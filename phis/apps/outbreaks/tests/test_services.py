from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from phis.apps.notifiable.services import card_create
from phis.apps.notifiable.tests.conftest import card_input, resident_id
from phis.apps.outbreaks import selectors, services
from phis.apps.outbreaks.models import Conclusion, ContactStatus, OutbreakStatus
from phis.apps.outbreaks.rules import observation_days
from phis.core.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db


def _open(env, **over):
    data = {"title": "某小学诺如病毒感染暴发", "disease_code": "infectious-diarrhoea",
                "county_code": "370502", "place_code": "370502001", "setting": "school"}
    data.update(over)
    return services.outbreak_open(user=env.reviewer, data=services.OutbreakInput(**data))


def _card(env, **over):
    from datetime import date

    values = {"disease_code": "infectious-diarrhoea", "patient_name": "王小明",
              "parent_name": "王大明", "occupation": "03",
              "work_unit": "东营市实验小学三年级二班",
              "id_number": resident_id(date(2015, 3, 2), seq=400 + len(over))}
    values.update(over)
    return card_create(user=env.clinician, data=card_input(**values))


def test_open_numbers_events_per_county_and_year(card_env):
    first, second = _open(card_env), _open(card_env, title="第二起")
    year = timezone.localtime().year
    assert first.number == f"OB370502{year}0001"
    assert second.number == f"OB370502{year}0002"
    assert first.status == OutbreakStatus.OPEN
    assert first.steps.count() == 1  # the opening is the first entry of the record


def test_open_refuses_bad_input_field_by_field(card_env):
    with pytest.raises(ValidationFailed) as exc:
        services.outbreak_open(user=card_env.reviewer, data=services.OutbreakInput(
            title="", disease_code="no-such", county_code="370523", setting="moon"))
    fields = {e.field for e in exc.value.errors}
    assert fields == {"title", "disease_code", "county_code", "setting"}
    # 370523 is another county: out of scope for the 东营区 reviewer
    assert any(e.code == "out_of_scope" for e in exc.value.errors)


def test_place_must_lie_in_the_county(card_env):
    with pytest.raises(ValidationFailed) as exc:
        _open(card_env, place_code="370523001")
    assert exc.value.errors[0].field == "place_code"


def test_other_county_cannot_see_or_manage(card_env):
    outbreak = _open(card_env)
    with pytest.raises(NotFound):
        selectors.outbreak_get_visible(user=card_env.reviewer_gr, outbreak_id=outbreak.pk)
    assert not selectors.outbreak_list(user=card_env.reviewer_gr).exists()
    assert selectors.outbreak_list(user=card_env.city).filter(pk=outbreak.pk).exists()
    with pytest.raises(NotFound):
        services.step_add(user=card_env.reviewer_gr, outbreak_id=outbreak.pk,
                          data=services.StepInput(kind="phone", summary="x"))


def test_link_cases_once_and_only_visible_cards(card_env):
    outbreak = _open(card_env)
    a, b = _card(card_env), _card(card_env, patient_name="李四", id_number=resident_id(
        timezone.localdate().replace(year=2014), seq=77))
    candidates = {c.pk for c in selectors.link_candidates(user=card_env.reviewer,
                                                          outbreak=outbreak)}
    assert {a.pk, b.pk} <= candidates
    created = services.outbreak_link_cases(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                           card_ids=[a.pk, b.pk, a.pk], index_card_id=a.pk)
    assert {c.card_id for c in created} == {a.pk, b.pk}
    again = services.outbreak_link_cases(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                         card_ids=[a.pk])
    assert again == []
    assert outbreak.cases.get(card_id=a.pk).is_index
    remaining = {c.pk for c in selectors.link_candidates(user=card_env.reviewer,
                                                         outbreak=outbreak)}
    assert not remaining & {a.pk, b.pk}
    figures = selectors.outbreak_figures(outbreak=outbreak)
    assert figures.cases == 2 and figures.first_onset == a.onset_date


def test_cannot_link_a_card_outside_scope(card_env):
    outbreak = _open(card_env)
    other = card_create(user=card_env.clinician_gr, data=card_input(
        disease_code="infectious-diarrhoea", address_code="370523001001",
        reporting_unit_code="F370523H1"))
    with pytest.raises(ValidationFailed) as exc:
        services.outbreak_link_cases(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                     card_ids=[other.pk])
    assert exc.value.errors[0].code == "not_found"
    assert not outbreak.cases.exists()


def test_unlink_needs_a_reason_and_is_recorded(card_env):
    outbreak = _open(card_env)
    card = _card(card_env)
    services.outbreak_link_cases(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                 card_ids=[card.pk])
    with pytest.raises(ValidationFailed):
        services.outbreak_unlink_case(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                      card_id=card.pk, reason=" ")
    services.outbreak_unlink_case(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                  card_id=card.pk, reason="误报，非本起事件")
    assert not outbreak.cases.exists()
    assert outbreak.steps.filter(details="误报，非本起事件").exists()


def test_first_step_starts_the_investigation(card_env):
    outbreak = _open(card_env)
    services.step_add(user=card_env.reviewer, outbreak_id=outbreak.pk,
                      data=services.StepInput(kind="field", summary="现场流行病学调查"))
    outbreak.refresh_from_db()
    assert outbreak.status == OutbreakStatus.INVESTIGATING
    with pytest.raises(ValidationFailed) as exc:
        services.step_add(user=card_env.reviewer, outbreak_id=outbreak.pk,
                          data=services.StepInput(kind="field", summary="x",
                                                  at=timezone.now() + timedelta(days=1)))
    assert exc.value.errors[0].field == "at"


def test_status_moves_with_the_version_seen(card_env):
    outbreak = _open(card_env)
    services.outbreak_set_status(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                 version=outbreak.version, status=OutbreakStatus.INVESTIGATING)
    with pytest.raises(Conflict):  # a second investigator with the old page
        services.outbreak_set_status(user=card_env.reviewer2, outbreak_id=outbreak.pk,
                                     version=outbreak.version,
                                     status=OutbreakStatus.INVESTIGATING)
    outbreak.refresh_from_db()
    with pytest.raises(ValidationFailed):  # closing goes through outbreak_close only
        services.outbreak_set_status(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                     version=outbreak.version, status=OutbreakStatus.CLOSED)


def _contact(env, outbreak, **over):
    data = {"name": "赵六", "sex": 2, "age": 9, "exposure_kind": "classmate",
                "last_exposure": timezone.localdate() - timedelta(days=1),
                "address_code": "370502001011"}
    data.update(over)
    return services.contact_add(user=env.reviewer, outbreak_id=outbreak.pk,
                                data=services.ContactInput(**data))


def test_contact_observation_period_follows_the_disease(card_env):
    outbreak = _open(card_env, disease_code="measles", title="麻疹聚集")
    contact = _contact(card_env, outbreak, phone="13900001111")
    assert contact.observation_end == contact.last_exposure + timedelta(days=21)
    assert contact.phone_masked == "139****1111"
    assert contact.phone_encrypted and b"13900001111" not in bytes(contact.phone_encrypted)
    # the observer defaults to the county CDC when the township has no health centre
    assert contact.observer_unit.code in ("F370502CDC", "370502")


def test_contact_bad_input_is_reported_per_field(card_env):
    outbreak = _open(card_env)
    with pytest.raises(ValidationFailed) as exc:
        _contact(card_env, outbreak, name="", sex=5, age=200, exposure_kind="?",
                 last_exposure=timezone.localdate() + timedelta(days=2), phone="12",
                 id_number="370502199001011230", address_code="999")
    fields = {e.field for e in exc.value.errors}
    assert fields == {"name", "sex", "age", "exposure_kind", "last_exposure", "phone",
                      "id_number", "address_code"}


def test_contact_with_resident_id_goes_through_the_mpi(card_env):
    outbreak = _open(card_env)
    from datetime import date

    contact = _contact(card_env, outbreak, id_number=resident_id(date(2016, 1, 9), seq=31))
    assert contact.person_id is not None
    assert contact.id_number_masked.startswith("370502")


def test_follow_up_daily_and_the_due_list(card_env):
    outbreak = _open(card_env)
    contact = _contact(card_env, outbreak)
    due = selectors.contacts_due(user=card_env.reviewer)
    assert contact in due
    with pytest.raises(ValidationFailed) as exc:
        services.contact_follow_up(user=card_env.reviewer, contact_id=contact.pk,
                                   data=services.FollowUpInput(symptomatic=True,
                                                               temperature="48"))
    assert {e.field for e in exc.value.errors} == {"temperature", "symptoms"}
    services.contact_follow_up(user=card_env.reviewer, contact_id=contact.pk,
                               data=services.FollowUpInput(temperature="36.6"))
    assert contact not in selectors.contacts_due(user=card_env.reviewer)
    # recording the same day again corrects it rather than adding a row
    services.contact_follow_up(user=card_env.reviewer, contact_id=contact.pk,
                               data=services.FollowUpInput(symptomatic=True,
                                                           symptoms="呕吐", temperature=37.9))
    assert contact.follow_ups.count() == 1
    assert contact.follow_ups.get().symptomatic
    with pytest.raises(ValidationFailed) as exc:  # the exposure day is not observed
        services.contact_follow_up(user=card_env.reviewer, contact_id=contact.pk,
                                   data=services.FollowUpInput(day=contact.last_exposure))
    assert exc.value.errors[0].code == "outside_observation"


def test_follow_up_gaps_list_missed_days(card_env):
    outbreak = _open(card_env, disease_code="measles", title="麻疹")
    contact = _contact(card_env, outbreak,
                       last_exposure=timezone.localdate() - timedelta(days=4))
    services.contact_follow_up(user=card_env.reviewer, contact_id=contact.pk,
                               data=services.FollowUpInput(
                                   day=timezone.localdate() - timedelta(days=2)))
    gaps = selectors.follow_up_gaps(contact=contact)
    today = timezone.localdate()
    assert gaps == [today - timedelta(days=3), today - timedelta(days=1)]


def test_contact_cannot_complete_before_the_period_ends(card_env):
    outbreak = _open(card_env)
    contact = _contact(card_env, outbreak)
    with pytest.raises(ValidationFailed):
        services.contact_set_status(user=card_env.reviewer, contact_id=contact.pk,
                                    version=contact.version, status=ContactStatus.COMPLETED)
    with pytest.raises(ValidationFailed):  # lost needs an explanation
        services.contact_set_status(user=card_env.reviewer, contact_id=contact.pk,
                                    version=contact.version, status=ContactStatus.LOST)
    card = _card(card_env, patient_name="赵六")
    updated = services.contact_set_status(user=card_env.reviewer, contact_id=contact.pk,
                                          version=contact.version,
                                          status=ContactStatus.BECAME_CASE, card_id=card.pk)
    assert updated.status == ContactStatus.BECAME_CASE
    assert outbreak.cases.filter(card_id=card.pk).exists()  # the new case joins the event


def test_close_early_needs_a_reason_and_freezes_the_figures(card_env):
    outbreak = _open(card_env)
    card = _card(card_env)
    services.outbreak_link_cases(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                 card_ids=[card.pk])
    _contact(card_env, outbreak)
    outbreak.refresh_from_db()
    report = services.ClosingInput(conclusion=Conclusion.OUTBREAK, measures="停课消毒",
                                   closing_summary="一起学校诺如病毒感染暴发")
    with pytest.raises(ValidationFailed) as exc:
        services.outbreak_close(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                version=outbreak.version, data=report)
    assert exc.value.errors[0].field == "close_early_reason"
    report.close_early_reason = "上级要求按期结案"
    closed = services.outbreak_close(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                     version=outbreak.version, data=report)
    assert closed.status == OutbreakStatus.CLOSED
    assert closed.final_figures["cases"] == 1 and closed.final_figures["observing"] == 1
    with pytest.raises(Conflict):
        services.step_add(user=card_env.reviewer, outbreak_id=outbreak.pk,
                          data=services.StepInput(kind="phone", summary="late"))


def test_closing_report_needs_its_fields(card_env):
    outbreak = _open(card_env)
    with pytest.raises(ValidationFailed) as exc:
        services.outbreak_close(user=card_env.reviewer, outbreak_id=outbreak.pk,
                                version=outbreak.version,
                                data=services.ClosingInput(conclusion=Conclusion.OUTBREAK))
    assert {e.field for e in exc.value.errors} == {"closing_summary", "measures"}


def test_not_outbreak_closes_without_quiet_period(card_env):
    outbreak = _open(card_env)
    closed = services.outbreak_close(
        user=card_env.reviewer, outbreak_id=outbreak.pk, version=outbreak.version,
        data=services.ClosingInput(conclusion=Conclusion.NOT_OUTBREAK,
                                   closing_summary="散发病例，无流行病学关联"))
    assert closed.conclusion == Conclusion.NOT_OUTBREAK


def test_township_centre_sees_only_its_contacts(card_env, make_user):
    outbreak = _open(card_env)
    mine = _contact(card_env, outbreak, observer_unit_code="370502001")
    # lives and is observed in 广饶县: not the 东营区 township's business
    _contact(card_env, outbreak, name="钱七", observer_unit_code="370523001",
             address_code="370523001001")
    township = type(outbreak.county).objects.get(code="370502001")
    centre = make_user("township_health_centre", township, username="thc.dy")
    visible = selectors.outbreak_get_visible(user=centre, outbreak_id=outbreak.pk)
    assert list(selectors.contacts_visible(user=centre, outbreak=visible)) == [mine]
    with pytest.raises(PermissionDenied):
        services.outbreak_set_status(user=centre, outbreak_id=outbreak.pk,
                                     version=visible.version,
                                     status=OutbreakStatus.INVESTIGATING)


@settings(max_examples=60, deadline=None)
@given(code=st.sampled_from(["measles", "cholera", "influenza", "unknown-x", "hfmd"]))
def test_observation_days_are_positive_and_configurable(code):
    assert 1 <= observation_days(code) <= 60


def test_observation_days_setting_overrides(settings):
    settings.PHIS_OUTBREAK_OBSERVATION_DAYS = {"measles": 18}
    assert observation_days("measles") == 18


def _cholera_signal(env):
    from datetime import date

    from phis.apps.signals.selectors import SignalFilter, signal_list
    from phis.core.events.services import outbox_drain

    card_create(user=env.clinician, data=card_input(
        disease_code="cholera", case_classification="3",
        id_number=resident_id(date(1979, 4, 4), seq=701)))
    while outbox_drain(limit=1000).claimed:
        pass
    return signal_list(user=env.reviewer, filters=SignalFilter(disease_code="cholera")).get()


def test_open_from_a_signal_takes_its_facts_and_links_back(card_env):
    from phis.apps.signals.selectors import signal_get_visible
    from phis.apps.signals.services import signal_act

    signal = _cholera_signal(card_env)
    data = services.OutbreakInput(title="霍乱疑似聚集", setting="household",
                                  signal_id=signal.pk)
    with pytest.raises(Conflict):  # not yet verified as a suspected event (§3.1 step 3)
        services.outbreak_open(user=card_env.reviewer, data=data)
    signal = signal_act(user=card_env.reviewer, signal_id=signal.pk, action="suspect",
                        version=signal.workflow.version, verification_method="phone")
    outbreak = services.outbreak_open(user=card_env.reviewer, data=data)
    assert (outbreak.disease_code, outbreak.county.code) == ("cholera", "370502")
    assert signal_get_visible(user=card_env.reviewer,
                              signal_id=signal.pk).outbreak_ref == outbreak.number
    again = services.outbreak_open(user=card_env.reviewer, data=services.OutbreakInput(
        title="again", setting="household", signal_id=signal.pk))
    assert again.pk == outbreak.pk  # one event per signal
