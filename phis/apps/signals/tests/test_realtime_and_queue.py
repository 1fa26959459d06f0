"""Count tables from card events (idempotent), the real-time fixed-threshold signal, the
de-duplicated queue with suppression, the response workflow, escalation and scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from phis.apps.signals import selectors, services
from phis.apps.signals.handlers import count_card_change
from phis.apps.signals.models import CaseCount, Signal
from phis.apps.signals.rules import Method, SignalState
from phis.core.events.models import OutboxEvent
from phis.core.exceptions import ApplicationError, Conflict, NotFound, ValidationFailed
from phis.core.notify.models import Notification

pytestmark = pytest.mark.django_db


def _cholera_signal(env) -> Signal:
    env.card(disease="cholera", onset=timezone.localdate(), now=timezone.now())
    env.drain()
    return Signal.objects.get(disease_code="cholera", county_code="370502")


def test_one_class_a_card_raises_a_real_time_signal(env):
    signal = _cholera_signal(env)
    assert signal.method == Method.FIXED and signal.observed == 1
    assert signal.status == SignalState.NEW and signal.is_open
    assert signal.response_hours == 2
    assert signal.workflow.due_at == signal.raised_at + timedelta(hours=2)
    assert signal.owner_unit.code == "F370502CDC"
    # the county's reviewers are notified (inbox + SMS), the other county's are not
    notified = set(Notification.objects.filter(link=f"/signals/{signal.pk}/")
                   .values_list("recipient__username", flat=True))
    assert notified == {"rev.dy", "rev.dy2"}
    assert OutboxEvent.objects.filter(topic="signals.signal.changed").exists()
    # the parameters used are stored with the signal
    assert signal.parameters["k"] == 1 and signal.parameters["window"] == 1
    assert signal.algorithm.startswith("fixed/")


def test_handler_is_idempotent_and_recounts_previous_cells(env):
    today = timezone.localdate()
    card = env.card(disease="influenza", onset=today - timedelta(days=1), now=timezone.now())
    env.drain()
    cell = CaseCount.objects.get(basis="onset", disease_code="influenza",
                                 day=today - timedelta(days=1))
    assert cell.count == 1 and cell.township_code == "370502001"
    assert CaseCount.objects.get(basis="report", disease_code="influenza", day=today).count == 1
    event = OutboxEvent.objects.filter(topic="notifiable.card.changed").latest("pk")
    count_card_change(event)
    count_card_change(event)  # the same event twice: same counts
    assert CaseCount.objects.get(pk=cell.pk).count == 1
    assert CaseCount.objects.filter(disease_code="influenza").count() == 2
    # a second card, then deleting it: re-counted from the cards, not decremented blindly
    other = env.card(disease="influenza", onset=today - timedelta(days=1), now=timezone.now())
    env.drain()
    assert CaseCount.objects.get(pk=cell.pk).count == 2
    from phis.apps.notifiable.services import card_delete

    card_delete(user=env.reviewer, card_id=other.pk, version=other.version,
                reason="重复报告")
    env.drain()
    assert CaseCount.objects.get(pk=cell.pk).count == 1
    # an event whose `previous` names another cell re-counts that cell too
    payload = dict(event.payload)
    payload["previous"] = {**payload, "township_code": "370502999", "previous": None}
    CaseCount.objects.create(basis="onset", disease_code="influenza", county_code="370502",
                             township_code="370502999", day=today - timedelta(days=1),
                             count=7)
    services.counts_apply_event(payload=payload)
    assert not CaseCount.objects.filter(township_code="370502999").exists()
    assert card.pk


def test_rebuild_equals_incremental_counts(env):
    today = timezone.localdate()
    for d in range(3):
        env.card(disease="mumps", onset=today - timedelta(days=d), now=timezone.now())
    env.card(disease="mumps", onset=today, county="gr", now=timezone.now())
    from datetime import date

    new_year_eve = date(today.year - 1, 12, 31)  # the rebuild runs year by year
    env.card(disease="mumps", onset=new_year_eve)
    env.drain()
    before = sorted(CaseCount.objects.values_list("basis", "disease_code", "county_code",
                                                   "township_code", "day", "count"))
    CaseCount.objects.all().delete()
    written = services.counts_rebuild()
    after = sorted(CaseCount.objects.values_list("basis", "disease_code", "county_code",
                                                  "township_code", "day", "count"))
    assert written == len(after) == len(before) and after == before
    # a partial rebuild leaves the other days alone
    CaseCount.objects.filter(day=new_year_eve).update(count=99)
    CaseCount.objects.filter(day=today).update(count=99)
    services.counts_rebuild(date_from=today, date_to=today)
    assert set(CaseCount.objects.filter(day=new_year_eve).values_list("count", flat=True)) \
        == {99}
    assert 99 not in set(CaseCount.objects.filter(day=today).values_list("count", flat=True))


def test_duplicates_fold_into_one_open_signal_and_suppression(env):
    signal = _cholera_signal(env)
    env.card(disease="cholera", onset=timezone.localdate(), now=timezone.now())
    env.drain()
    assert Signal.objects.filter(disease_code="cholera").count() == 1
    signal.refresh_from_db()
    assert signal.observed == 2 and signal.alert_count == 1
    config = selectors.config_get(disease_code="cholera")
    later = timezone.now() + timedelta(days=config.suppression_days + 1)
    alarm = services.Alarm(
        disease_code="cholera", county_code="370502", day=signal.day + timedelta(days=1),
        method=Method.FIXED, configured_method=Method.FIXED, algorithm="fixed/1.0",
        parameters={"k": 1, "window": 1}, observed=1, threshold=1, expected=None,
        statistic=1, window_days=1)
    outcome, same = services.signal_raise(alarm=alarm, config=config, county=env.tree.dy,
                                          run=None, now=later)
    assert outcome == "realerted" and same.pk == signal.pk
    same.refresh_from_db()
    assert same.alert_count == 2 and len(same.detection_days) == 2
    # the same alarm again changes nothing
    assert services.signal_raise(alarm=alarm, config=config, county=env.tree.dy, run=None,
                                 now=later)[0] == "unchanged"
    # closed: an alarm for a day already judged raises nothing; a later day opens a new one
    version = same.workflow.version
    services.signal_act(user=env.reviewer, signal_id=same.pk, action="exclude",
                        version=version, verification_method="phone", note="输入错误")
    same.refresh_from_db()
    services.signal_act(user=env.reviewer, signal_id=same.pk, action="close",
                        version=same.workflow.version)
    assert services.signal_raise(alarm=alarm, config=config, county=env.tree.dy, run=None,
                                 now=later)[0] == "already_closed"
    import dataclasses

    next_day = dataclasses.replace(alarm, day=alarm.day + timedelta(days=1))
    outcome, fresh = services.signal_raise(alarm=next_day, config=config, county=env.tree.dy,
                                           run=None, now=later)
    assert outcome == "new" and fresh.pk != signal.pk and fresh.is_open


def test_state_machine_conflict_and_validation(env):
    signal = _cholera_signal(env)
    v = signal.workflow.version
    with pytest.raises(Conflict) as exc:  # not possible in state "new"
        services.signal_act(user=env.reviewer, signal_id=signal.pk, action="close", version=v)
    assert exc.value.code == "invalid_transition"
    with pytest.raises(ValidationFailed) as exc:  # verification needs its method
        services.signal_act(user=env.reviewer, signal_id=signal.pk, action="exclude",
                            version=v)
    assert exc.value.errors[0].field == "verification_method"
    services.signal_act(user=env.reviewer, signal_id=signal.pk, action="acknowledge",
                        version=v, note="已查看")
    with pytest.raises(Conflict) as exc:  # the second reviewer saw the old version
        services.signal_act(user=env.reviewer2, signal_id=signal.pk, action="acknowledge",
                            version=v)
    assert exc.value.code == "concurrent_update"
    signal.refresh_from_db()
    assert signal.status == SignalState.ACKNOWLEDGED and signal.responded_by == env.reviewer
    services.signal_act(user=env.reviewer, signal_id=signal.pk, action="suspect",
                        version=signal.workflow.version, verification_method="on_site",
                        note="同一村3例", event_report_ref="GJ-2026-001")
    signal.refresh_from_db()
    assert signal.outcome == "suspected_event" and signal.verified_at is not None
    services.signal_link_outbreak(signal_id=signal.pk, outbreak_ref="OB-1", user=env.reviewer)
    services.signal_act(user=env.reviewer, signal_id=signal.pk, action="confirm",
                        version=signal.workflow.version, note="确认暴发")
    signal.refresh_from_db()
    assert signal.outcome == "confirmed_event" and signal.investigation_result == "outbreak"
    services.signal_act(user=env.reviewer, signal_id=signal.pk, action="close",
                        version=signal.workflow.version)
    signal.refresh_from_db()
    assert signal.status == SignalState.CLOSED and not signal.is_open
    assert signal.outbreak_ref == "OB-1" and signal.event_report_ref == "GJ-2026-001"
    with pytest.raises(ApplicationError):  # a clinician may not respond
        services.signal_act(user=env.clinician, signal_id=signal.pk, action="close",
                            version=signal.workflow.version)


def test_overdue_signal_escalates_to_the_city_cdc(env):
    from phis.core.workflow.services import workflow_escalate_overdue

    signal = _cholera_signal(env)
    workflow_escalate_overdue(now=signal.raised_at + timedelta(hours=1))
    signal.workflow.refresh_from_db()
    assert signal.workflow.escalated_at is None  # the 2-hour clock has not run out
    assert workflow_escalate_overdue(now=signal.raised_at + timedelta(hours=3)) >= 1
    signal.workflow.refresh_from_db()
    assert signal.workflow.escalated_at is not None
    assert Notification.objects.filter(recipient=env.city,
                                       link=f"/signals/{signal.pk}/").exists()
    overdue = selectors.signal_list(user=env.city, filters=selectors.SignalFilter(
        overdue=True), now=signal.raised_at + timedelta(hours=3))
    assert [s.pk for s in overdue] == [signal.pk]


def test_scoping_county_cannot_see_other_county(env):
    signal = _cholera_signal(env)
    env.card(disease="plague", onset=timezone.localdate(), county="gr", now=timezone.now())
    env.drain()
    gr_signal = Signal.objects.get(county_code="370523")
    assert {s.pk for s in selectors.signal_list(user=env.reviewer)} == {signal.pk}
    assert {s.pk for s in selectors.signal_list(user=env.reviewer_gr)} == {gr_signal.pk}
    assert {s.pk for s in selectors.signal_list(user=env.city)} == {signal.pk, gr_signal.pk}
    with pytest.raises(NotFound):
        selectors.signal_get_visible(user=env.reviewer_gr, signal_id=signal.pk)
    with pytest.raises(NotFound):
        services.signal_act(user=env.reviewer_gr, signal_id=signal.pk, action="acknowledge",
                            version=signal.workflow.version)
    # the plague signal ranks above cholera? both class A; overdue first, then priority
    ranked = list(selectors.signal_list(user=env.city))
    assert ranked[0].priority >= ranked[1].priority


def test_indicators(env):
    signal = _cholera_signal(env)
    services.signal_act(user=env.reviewer, signal_id=signal.pk, action="suspect",
                        version=signal.workflow.version, verification_method="phone")
    today = timezone.localdate()
    rows = selectors.signal_indicators(user=env.city, date_from=today, date_to=today)
    dy = next(r for r in rows if r["county_code"] == "370502")
    total = next(r for r in rows if r["county_code"] == "")
    assert dy["signals"] == 1 and dy["response_rate"] == 100.0
    assert dy["fixed_within_2h_rate"] == 100.0 and dy["suspected_event_rate"] == 100.0
    assert dy["median_response_hours"] is not None and dy["median_response_hours"] < 1
    assert total["signals"] == 1
    assert selectors.signal_indicators(user=env.reviewer_gr, date_from=today,
                                       date_to=today) == []


def test_signals_raised_reads_an_area_for_system_jobs(env):
    """The weekly report's reader: not user-scoped, by county or the whole city."""
    from phis.apps.signals.selectors import signals_raised

    signal = _cholera_signal(env)
    today = timezone.localdate()
    assert list(signals_raised(date_from=today, date_to=today, county_code="370502")) == \
        [signal]
    assert list(signals_raised(date_from=today, date_to=today)) == [signal]
    assert not signals_raised(date_from=today, date_to=today, county_code="370523").exists()
    assert not signals_raised(date_from=today - timedelta(days=7),
                              date_to=today - timedelta(days=1)).exists()
