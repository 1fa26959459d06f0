"""Cases from reviewed cards, the plan's tasks (owners, clocks, overdue, escalation),
treatment and follow-ups, outcomes, contacts, ILI weeks, clusters, scoping and merges."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from phis.apps.keydiseases import rules, selectors, services
from phis.apps.keydiseases.models import (
    CaseStatus,
    ContactStatus,
    FollowUpStatus,
    ManagedCase,
)
from phis.apps.keydiseases.tests.conftest import payload_of
from phis.core.exceptions import Conflict, ValidationFailed
from phis.core.notify.models import Notification
from phis.core.workflow.services import workflow_escalate_overdue

pytestmark = pytest.mark.django_db


def _fields(exc) -> set[str]:
    return {e.field for e in exc.value.errors}


def _open(card):
    return services.card_changed(payload_of(card))


def test_reviewed_tb_card_opens_a_case_with_the_plan_tasks(kd, reviewed_card):
    card = reviewed_card()
    case = _open(card)
    assert case is not None and case.plan == "tb" and case.status == CaseStatus.OPEN
    assert case.bacteriologically_confirmed and case.regimen == rules.REGIMEN_DS
    assert case.treating_unit.code == "F370502H1"     # designated hospital of 东营区
    assert case.managing_unit == kd.hc_dy and case.cdc_unit.code == "F370502CDC"
    tasks = {t.kind: t for t in selectors.case_tasks(case=case)}
    assert set(tasks) == {"tb_treatment_start", "tb_first_home_visit", "tb_contact_screening"}
    assert tasks["tb_treatment_start"].instance.owner_unit.code == "F370502H1"
    assert tasks["tb_first_home_visit"].instance.owner_unit == kd.hc_dy
    assert tasks["tb_contact_screening"].instance.owner_unit.code == "F370502CDC"
    opened = case.opened_at
    assert tasks["tb_first_home_visit"].instance.due_at == opened + timedelta(hours=72)
    assert tasks["tb_treatment_start"].instance.due_at == opened + timedelta(days=3)
    assert tasks["tb_contact_screening"].instance.due_at == opened + timedelta(days=14)
    # the owners are told
    assert Notification.objects.filter(recipient=kd.thc, title__startswith="新任务").exists()
    assert Notification.objects.filter(recipient=kd.clinician).exists()
    # idempotent: the same event again changes nothing
    assert _open(card).pk == case.pk
    assert ManagedCase.objects.count() == 1 and len(tasks) == case.tasks.count()


def test_second_card_of_the_same_episode_joins_the_case(kd, reviewed_card):
    first = _open(reviewed_card())
    second_card = reviewed_card(case_classification="2", reporting_unit_code="F370502H1",
                                diagnosis_at=timezone.localtime().replace(microsecond=0)
                                - timedelta(hours=1))
    second = _open(second_card)
    assert second.pk == first.pk
    assert [c.card_number for c in selectors.case_cards(case=first)] == [
        first.card_number, second_card.card_number]
    assert ManagedCase.objects.count() == 1


def test_cards_that_open_no_case(kd, reviewed_card):
    assert _open(reviewed_card(disease_code="influenza", subtype_code="",
                               case_classification="2")) is None
    assert services.card_changed(payload_of(reviewed_card(), status="submitted")) is None \
        or ManagedCase.objects.count() == 1


def test_through_the_event_outbox(kd, reviewed_card):
    from phis.core.events.services import outbox_drain

    card = reviewed_card()
    outbox_drain()
    assert selectors.case_for_card(card_id=card.pk) is not None


def test_deleted_card_revokes_the_case(kd, reviewed_card):
    card = reviewed_card()
    case = _open(card)
    services.card_changed(payload_of(card, status="deleted"))
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.outcome == "revoked"
    assert Notification.objects.filter(title__startswith="病例已撤销").exists()


def test_treatment_start_generates_the_schedule(kd, reviewed_card):
    case = _open(reviewed_card())
    today = timezone.localdate()
    start = today - timedelta(days=2)
    with pytest.raises(ValidationFailed) as exc:
        services.treatment_start(user=kd.clinician, case_id=case.pk, version=case.version,
                                 data=services.TreatmentInput(start_date=today
                                                              + timedelta(days=1)))
    assert _fields(exc) == {"start_date"}
    case = services.treatment_start(user=kd.clinician, case_id=case.pk, version=case.version,
                                    data=services.TreatmentInput(start_date=start,
                                                                 dot_supervisor="村医张"))
    assert case.expected_end_date == rules.add_months(start, 6)
    items = list(selectors.case_follow_ups(case=case))
    assert len(items) == 9  # 6 visits + sputum at months 2, 5, 6
    visits = [f for f in items if f.kind == "visit"]
    assert [f.scheduled_date for f in visits] == [rules.add_months(start, m)
                                                  for m in range(1, 7)]
    assert all(f.unit == kd.hc_dy for f in visits)
    assert all(f.unit.code == "F370502H1" for f in items if f.kind == "sputum")
    step = selectors.task_for_case_step(case=case, kind="tb_treatment_start")
    step.instance.refresh_from_db()
    assert step.instance.state == "done"  # the record fulfils the step
    with pytest.raises(Conflict):
        services.treatment_start(user=kd.clinician, case_id=case.pk, version=case.version,
                                 data=services.TreatmentInput(start_date=start))


def test_rifampicin_resistant_patient_is_referred(kd, reviewed_card):
    case = _open(reviewed_card(subtype_code="tb-rifampicin-resistant"))
    assert case.drug_resistance == "rr" and case.regimen == rules.REGIMEN_RR_REFERRAL
    assert selectors.task_for_case_step(case=case, kind="tb_rr_referral") is not None
    with pytest.raises(ValidationFailed) as exc:
        services.treatment_start(user=kd.clinician, case_id=case.pk, version=case.version,
                                 data=services.TreatmentInput(
                                     start_date=timezone.localdate(),
                                     regimen=rules.REGIMEN_DS))
    assert exc.value.errors[0].code == "rr_needs_referral"


def test_followup_validation_and_first_visit_step(kd, reviewed_card):
    case = _open(reviewed_card())
    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as exc:
        services.followup_record(user=kd.thc, case_id=case.pk, data=services.FollowUpInput(
            kind="visit", done_date=today, doses_planned=10, doses_observed=8, doses_missed=3))
    assert _fields(exc) == {"doses_missed"}
    with pytest.raises(ValidationFailed) as exc:
        services.followup_record(user=kd.thc, case_id=case.pk, data=services.FollowUpInput(
            kind="clinical", done_date=today))
    assert _fields(exc) == {"kind"}
    item = services.followup_record(user=kd.thc, case_id=case.pk, data=services.FollowUpInput(
        kind="home_visit", done_date=today, note="已宣教"))
    assert item.status == FollowUpStatus.DONE and item.unit == kd.hc_dy
    step = selectors.task_for_case_step(case=case, kind="tb_first_home_visit")
    step.instance.refresh_from_db()
    assert step.instance.state == "done"


def _start_back(kd, case, days):
    start = timezone.localdate() - timedelta(days=days)
    return services.treatment_start(user=kd.clinician, case_id=case.pk, version=case.version,
                                    data=services.TreatmentInput(start_date=start))


def _sputum(kd, case, month, result):
    item = next(f for f in selectors.case_follow_ups(case=case)
                if f.kind == "sputum" and f.month == month)
    return services.followup_record(user=kd.clinician, case_id=case.pk,
                                    data=services.FollowUpInput(
                                        followup_id=item.pk, done_date=timezone.localdate(),
                                        smear_result=result))


def test_outcome_rules_on_the_records(kd, reviewed_card):
    card = reviewed_card(onset_date=timezone.localdate() - timedelta(days=220),
                         diagnosis_at=timezone.localtime().replace(microsecond=0)
                         - timedelta(days=200))
    case = _start_back(kd, _open(card), 190)
    with pytest.raises(ValidationFailed) as exc:
        services.case_outcome_record(user=kd.clinician, case_id=case.pk, version=case.version,
                                     data=services.OutcomeInput(outcome="cured",
                                                                outcome_date=timezone.localdate()))
    assert exc.value.errors[0].code == "mismatch"
    _sputum(kd, case, 2, "negative")
    _sputum(kd, case, 6, "negative")
    case.refresh_from_db()
    case = services.case_outcome_record(user=kd.clinician, case_id=case.pk,
                                        version=case.version,
                                        data=services.OutcomeInput(
                                            outcome="cured", outcome_date=timezone.localdate()))
    assert case.status == CaseStatus.CLOSED and case.outcome == "cured"
    assert not case.follow_ups.filter(status=FollowUpStatus.SCHEDULED).exists()


def test_positive_at_month_5_means_failure(kd, reviewed_card):
    card = reviewed_card(onset_date=timezone.localdate() - timedelta(days=200),
                         diagnosis_at=timezone.localtime().replace(microsecond=0)
                         - timedelta(days=170))
    case = _start_back(kd, _open(card), 160)
    _sputum(kd, case, 5, "positive")
    assert Notification.objects.filter(title__startswith="疑似治疗失败").exists()
    case.refresh_from_db()
    with pytest.raises(ValidationFailed):
        services.case_outcome_record(user=kd.clinician, case_id=case.pk, version=case.version,
                                     data=services.OutcomeInput(
                                         outcome="treatment_completed",
                                         outcome_date=timezone.localdate()))
    case = services.case_outcome_record(user=kd.clinician, case_id=case.pk,
                                        version=case.version,
                                        data=services.OutcomeInput(
                                            outcome="treatment_failed",
                                            outcome_date=timezone.localdate()))
    assert case.outcome == "treatment_failed"


def test_stale_version_is_a_conflict(kd, reviewed_card):
    case = _open(reviewed_card())
    with pytest.raises(Conflict):
        services.treatment_start(user=kd.clinician, case_id=case.pk, version=case.version + 5,
                                 data=services.TreatmentInput(start_date=timezone.localdate()))


def test_deadlines_overdue_lists_and_escalation(kd, reviewed_card):
    case = _open(reviewed_card())
    opened = case.opened_at
    assert not selectors.task_overdue(user=kd.reviewer, now=opened + timedelta(hours=71))
    later = opened + timedelta(hours=73)
    overdue = list(selectors.task_overdue(user=kd.reviewer, now=later))
    assert sorted(t.kind for t in overdue) == ["tb_first_home_visit", "tb_treatment_start"]
    assert sorted((r["unit_code"], r["count"]) for r in selectors.overdue_by_unit(
        user=kd.reviewer, now=later)) == [("F370502001HC", 1), ("F370502H1", 1)]
    # the township centre sees its own overdue step; 广饶 sees none
    assert [t.kind for t in selectors.task_overdue(user=kd.thc, now=later)] == [
        "tb_first_home_visit"]
    assert not selectors.task_overdue(user=kd.reviewer_gr, now=later)
    assert workflow_escalate_overdue(now=later) == 2
    notes = Notification.objects.filter(recipient=kd.reviewer, title__startswith="超时未办")
    assert sorted(n.title.split(" · ")[0] for n in notes) == ["超时未办：重点传染病任务"] * 2
    assert any("首次入户随访" in n.title for n in notes)
    assert all(n.link == f"/keydiseases/cases/{case.pk}/" for n in notes)
    assert workflow_escalate_overdue(now=later) == 0  # once per state
    # a step the CDC owns escalates to the county bureau and the city CDC
    assert workflow_escalate_overdue(now=opened + timedelta(days=15)) == 1
    assert Notification.objects.filter(recipient=kd.bureau,
                                       title__contains="家庭密切接触者筛查").exists()
    assert Notification.objects.filter(recipient=kd.city,
                                       title__contains="家庭密切接触者筛查").exists()


def test_task_mine_complete_and_cancel(kd, reviewed_card):
    case = _open(reviewed_card())
    mine = list(selectors.task_mine(user=kd.thc))
    assert [t.kind for t in mine] == ["tb_first_home_visit"]
    assert [t.kind for t in selectors.task_mine(user=kd.reviewer)] == ["tb_contact_screening"]
    task = services.task_complete(user=kd.thc, task_id=mine[0].pk, comment="已入户")
    assert task.instance.state == "done" and not selectors.task_mine(user=kd.thc)
    screening = selectors.task_for_case_step(case=case, kind="tb_contact_screening")
    with pytest.raises(ValidationFailed):
        services.task_cancel(user=kd.reviewer, task_id=screening.pk, comment=" ")
    from phis.core.exceptions import PermissionDenied
    with pytest.raises(PermissionDenied):
        services.task_cancel(user=kd.clinician, task_id=selectors.task_for_case_step(
            case=case, kind="tb_treatment_start").pk, comment="不需要")
    services.task_cancel(user=kd.reviewer, task_id=screening.pk, comment="无家庭成员")


def test_scoping_county_township_hospital(kd, reviewed_card):
    case = _open(reviewed_card())
    assert list(selectors.case_visible_for(user=kd.reviewer)) == [case]
    assert list(selectors.case_visible_for(user=kd.thc)) == [case]
    assert list(selectors.case_visible_for(user=kd.clinician)) == [case]
    assert list(selectors.case_visible_for(user=kd.city)) == [case]
    for outsider in (kd.reviewer_gr, kd.thc_gr, kd.clinician_gr):
        assert not selectors.case_visible_for(user=outsider).exists()
        assert not selectors.task_visible_for(user=outsider).exists()
    from phis.core.exceptions import NotFound
    with pytest.raises(NotFound):
        services.followup_record(user=kd.thc_gr, case_id=case.pk, data=services.FollowUpInput(
            kind="home_visit", done_date=timezone.localdate()))


def test_contact_living_elsewhere_is_seen_where_they_live(kd, reviewed_card):
    case = _open(reviewed_card())
    contact = services.contact_add(user=kd.reviewer, case_id=case.pk, data=services.ContactInput(
        name="李密接", relation="household", last_exposure_date=timezone.localdate(),
        address_code="370523001001", phone="13900001111"))
    assert contact.status == ContactStatus.TO_SCREEN and contact.phone_masked.endswith("1111")
    assert list(selectors.contact_visible_for(user=kd.thc_gr)) == [contact]
    assert not selectors.case_visible_for(user=kd.thc_gr).exists()
    services.contact_screening_record(user=kd.thc_gr, contact_id=contact.pk,
                                      screening_date=timezone.localdate(), result="negative")
    step = selectors.task_for_case_step(case=case, kind="tb_contact_screening")
    step.instance.refresh_from_db()
    # 广饶's centre may not act on the 东营区 CDC's step; the CDC closes it
    assert step.instance.state == "open"


def test_acute_case_contacts_and_daily_observation(kd, reviewed_card):
    card = reviewed_card(disease_code="cholera", subtype_code="", case_classification="1")
    case = _open(card)
    assert case.plan == "acute" and case.treating_unit.code == "F370502H1"
    tasks = {t.kind: t.instance for t in selectors.case_tasks(case=case)}
    assert set(tasks) == {"isolation_treatment", "epi_investigation", "contact_tracing",
                          "community_observation", "disinfection"}
    assert tasks["isolation_treatment"].due_at == case.opened_at + timedelta(hours=2)
    today = timezone.localdate()
    contact = services.contact_add(user=kd.reviewer, case_id=case.pk, data=services.ContactInput(
        name="赵密接", relation="close", last_exposure_date=today - timedelta(days=1)))
    assert contact.observation_days == 5 and contact.observation_end == today + timedelta(days=4)
    assert contact.status == ContactStatus.OBSERVING
    assert tasks["contact_tracing"].__class__.objects.get(pk=tasks["contact_tracing"].pk).state \
        == "done"
    assert list(selectors.contacts_due_today(user=kd.thc)) == [contact]
    with pytest.raises(ValidationFailed) as exc:
        services.contact_check_record(user=kd.thc, contact_id=contact.pk,
                                      data=services.CheckInput(temperature="45",
                                                               symptoms=["itch"]))
    assert _fields(exc) == {"temperature", "symptoms"}
    services.contact_check_record(user=kd.thc, contact_id=contact.pk,
                                  data=services.CheckInput(temperature="37.8"))
    contact.refresh_from_db()
    assert contact.status == ContactStatus.SYMPTOMATIC
    assert not selectors.contacts_due_today(user=kd.thc).exists()
    alert = [t for t in selectors.case_tasks(case=case) if t.kind == "symptomatic_contact"]
    assert alert and alert[0].instance.due_at <= timezone.now() + timedelta(hours=2)
    # clinical progress: admitted -> isolation step done
    services.followup_record(user=kd.clinician, case_id=case.pk, data=services.FollowUpInput(
        kind="clinical", done_date=today, care_status="hospital", severity="mild"))
    case.refresh_from_db()
    assert case.care_status == "hospital"
    case = services.case_outcome_record(user=kd.clinician, case_id=case.pk, version=case.version,
                                        data=services.OutcomeInput(outcome="recovered",
                                                                   outcome_date=today))
    assert case.care_status == "discharged"


def test_covid_under_class_b_management_traces_no_contacts(kd, reviewed_card):
    case = _open(reviewed_card(disease_code="covid-19", subtype_code="",
                               case_classification="3"))
    assert [t.kind for t in selectors.case_tasks(case=case)] == ["isolation_treatment"]
    with pytest.raises(ValidationFailed) as exc:
        services.contact_add(user=kd.reviewer, case_id=case.pk, data=services.ContactInput(
            name="甲", last_exposure_date=timezone.localdate()))
    assert exc.value.errors[0].code == "not_traced"


def test_daily_job_marks_missed_and_traces_interruptions(kd, reviewed_card):
    card = reviewed_card(onset_date=timezone.localdate() - timedelta(days=120),
                         diagnosis_at=timezone.localtime().replace(microsecond=0)
                         - timedelta(days=100))
    case = _start_back(kd, _open(card), 90)
    result = services.keydiseases_daily()
    assert result["followups_missed"] == 3   # month-1 and month-2 visits, month-2 sputum
    assert result["tb_tracing_tasks"] == 1
    assert selectors.task_for_case_step(case=case, kind="tb_trace_interrupted") is not None
    assert services.keydiseases_daily()["tb_tracing_tasks"] == 0  # once per case
    assert selectors.followups_due(user=kd.thc, overdue=True).count() == 3


def test_person_merge_repoints_cases(kd, reviewed_card):
    from phis.core.people.models import Person

    survivor = Person.objects.create(name="王结核", sex=1)
    merged = Person.objects.create(name="王结核", sex=1)
    case = _open(reviewed_card())
    ManagedCase.objects.filter(pk=case.pk).update(person=merged,
                                                  identity_key=f"person:{merged.pk}")
    assert services.person_merged(survivor_id=survivor.pk, merged_id=merged.pk) == 1
    case.refresh_from_db()
    assert case.person_id == survivor.pk and case.identity_key == f"person:{survivor.pk}"
    assert services.person_merged(survivor_id=survivor.pk, merged_id=merged.pk) == 0


def test_ili_week_submit_validation_late_and_versions(kd):
    site = services.ili_site_set(user=kd.reviewer, org_unit_code="F370502H1")
    monday = rules.week_monday(timezone.localdate()) - timedelta(days=14)
    bad = services.IliWeekInput(week_start=monday + timedelta(days=1), ili_0_4=5,
                                visits_total=3, specimens_collected=2, specimens_tested=3)
    with pytest.raises(ValidationFailed) as exc:
        services.ili_week_submit(user=kd.clerk, site_id=site.pk, data=bad)
    assert _fields(exc) == {"week_start"}
    bad.week_start = monday
    with pytest.raises(ValidationFailed) as exc:
        services.ili_week_submit(user=kd.clerk, site_id=site.pk, data=bad)
    assert _fields(exc) == {"visits_total", "specimens_tested"}
    data = services.IliWeekInput(week_start=monday, ili_0_4=10, ili_5_14=12, ili_15_24=3,
                                 ili_25_59=8, ili_60p=4, visits_total=1250,
                                 specimens_collected=20, specimens_tested=20, pos_a_h3n2=6,
                                 pos_b_victoria=3)
    week = services.ili_week_submit(user=kd.clerk, site_id=site.pk, data=data)
    assert (week.ili_total, week.ili_percent, week.positive_total) == (37, 2.96, 9)
    assert week.late  # entered after the Monday 24:00 deadline of a week two weeks back
    with pytest.raises(Conflict):
        services.ili_week_submit(user=kd.clerk, site_id=site.pk, data=data)
    data.visits_total = 1000
    week = services.ili_week_submit(user=kd.clerk, site_id=site.pk, data=data, version=1)
    assert week.ili_percent == 3.7 and week.version == 2
    chart = selectors.ili_chart(user=kd.reviewer)
    season = str(rules.season_of(monday))
    index = chart["weeks"].index(monday.isocalendar()[1])
    assert chart["seasons"][season][index] == 3.7
    assert chart["positivity"][season][index] == 45.0
    # 广饶 sees nothing of 东营区's sentinel hospital
    from phis.core.exceptions import NotFound
    assert selectors.ili_chart(user=kd.reviewer_gr)["seasons"] == {}
    with pytest.raises(NotFound):
        services.ili_week_submit(user=kd.clinician_gr, site_id=site.pk, data=data, version=2)


def test_ili_reminders_for_missing_weeks(kd):
    services.ili_site_set(user=kd.reviewer, org_unit_code="F370502H1",
                          since=date(2020, 1, 6))
    assert services.ili_reminders_send() == 1
    assert Notification.objects.filter(recipient=kd.clerk,
                                       title__contains="流感样病例监测").exists()


def test_school_ili_cluster_levels_and_tasks(kd):
    today = timezone.localdate()
    small = services.cluster_report(user=kd.school_doctor, data=services.ClusterInput(
        unit_code="F370502001PS", week_end=today, ili_cases=6))
    assert small.level == "none" and not small.tasks.exists()
    cluster = services.cluster_report(user=kd.school_doctor, data=services.ClusterInput(
        unit_code="F370502001PS", week_end=today, ili_cases=12))
    task = cluster.tasks.get()
    assert cluster.level == "cluster" and task.instance.owner_unit.code == "F370502CDC"
    assert task.instance.due_at == task.created_at + timedelta(hours=24)
    outbreak = services.cluster_report(user=kd.school_doctor, data=services.ClusterInput(
        unit_code="F370502001PS", week_end=today, ili_cases=15, hospitalised=5))
    assert outbreak.level == "emergency"
    assert outbreak.tasks.get().instance.due_at == outbreak.tasks.get().created_at + timedelta(
        hours=2)
    with pytest.raises(ValidationFailed) as exc:
        services.cluster_report(user=kd.school_doctor, data=services.ClusterInput(
            unit_code="F370523CDC", week_end=today + timedelta(days=1), ili_cases=3,
            deaths=4))
    assert _fields(exc) == {"unit_code", "week_end", "deaths"}


def test_timeline_source(kd, reviewed_card):
    from phis.core.people.models import Person
    from phis.core.people.timeline import timeline_collect

    person = Person.objects.create(name="王结核", sex=1)
    case = _open(reviewed_card())
    ManagedCase.objects.filter(pk=case.pk).update(person=person)
    entries = [e for e in timeline_collect(user=kd.reviewer, person_ids=[person.pk]).entries
               if e.module == "keydiseases"]
    assert [e.kind for e in entries] == ["case_opened"]
    assert not [e for e in timeline_collect(user=kd.reviewer_gr, person_ids=[person.pk]).entries
                if e.module == "keydiseases"]


def test_demo_setup_is_idempotent(kd):
    first = services.keydiseases_demo_setup()
    assert first["ili_sites"] == 2 and first["ili_weeks"] > 150
    again = services.keydiseases_demo_setup()
    assert again["ili_weeks"] == 0
