from datetime import timedelta

import pytest
from django.utils import timezone

from phis.core.audit.models import AuditLog
from phis.core.events.models import OutboxEvent
from phis.core.notify.models import Notification
from phis.core.workflow.definitions import Escalation
from phis.core.workflow.models import WorkflowInstance
from phis.core.workflow.selectors import workflow_escalation_recipients, workflow_history
from phis.core.workflow.services import (
    workflow_escalate_overdue,
    workflow_start,
    workflow_transition,
)

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0)


def _start(city, unit, key, **kw):
    return workflow_start(definition="tests.report_review", owner_unit=unit, subject_key=key,
                          title=key, now=T0, **kw)


def test_escalates_once_notifies_county_bureau_and_records_history(city):
    dy = _start(city, city.dy_hosp, "DY", owner_user=city.dy_reviewer)
    gr = _start(city, city.gr_hosp, "GR")
    assert workflow_escalate_overdue(now=T0 + timedelta(hours=23)) == 0
    assert workflow_escalate_overdue(now=T0 + timedelta(hours=25)) == 2
    assert workflow_escalate_overdue(now=T0 + timedelta(hours=26)) == 0  # only once

    dy.refresh_from_db()
    assert dy.escalated_at == T0 + timedelta(hours=25)
    assert dy.version == 1  # escalation does not invalidate what users have open
    # owner first, then the county health bureau of the owner's county only
    assert set(Notification.objects.filter(title__contains="DY")
               .values_list("recipient__username", flat=True)) == {"dy_reviewer", "dy_bureau"}
    assert set(Notification.objects.filter(title__contains="GR")
               .values_list("recipient__username", flat=True)) == {"gr_bureau"}
    note = Notification.objects.get(recipient=city.dy_bureau)
    assert note.title == "超时未办：报告卡审核 · DY" and note.title_en.startswith("Overdue")
    assert note.level == "warning" and note.link == "/reports/DY/"
    last = workflow_history(instance_id=dy.pk, user=city.dy_reviewer).last()
    assert (last.action, last.from_state, last.to_state, last.by) == (
        "escalate", "submitted", "submitted", None)
    assert OutboxEvent.objects.filter(topic="workflow.escalated").count() == 2
    assert AuditLog.objects.filter(detail__action="escalate").count() == 2
    assert gr.pk


def test_new_state_new_clock_can_escalate_again(city):
    item = _start(city, city.dy_hosp, "R")
    workflow_escalate_overdue(now=T0 + timedelta(hours=25))
    item = workflow_transition(instance_id=item.pk, action="return", user=city.dy_reviewer,
                               now=T0 + timedelta(hours=26))
    assert item.escalated_at is None
    assert workflow_escalate_overdue(now=T0 + timedelta(hours=26 + 71)) == 0
    assert workflow_escalate_overdue(now=T0 + timedelta(hours=26 + 73)) == 1


def test_closed_items_never_escalate(city):
    item = _start(city, city.dy_hosp, "R")
    workflow_transition(instance_id=item.pk, action="review", user=city.dy_reviewer,
                        now=T0 + timedelta(hours=1))
    assert workflow_escalate_overdue(now=T0 + timedelta(days=9)) == 0
    assert WorkflowInstance.objects.get(pk=item.pk).escalated_at is None


def test_recipient_rules(city):
    item = _start(city, city.dy_hosp, "R", owner_user=city.dy_clerk)
    names = lambda esc: [u.username for u in  # noqa: E731
                         workflow_escalation_recipients(instance=item, escalation=esc)]
    assert names(Escalation(at="parent", roles=("county_cdc_reviewer",))) == [
        "dy_clerk", "dy_reviewer", "dy_reviewer2"]  # CDC facility directly under the county
    assert names(Escalation(at="city", notify_owner=False)) == ["city_cdc"]
    assert names(Escalation(at="owner", notify_owner=False)) == ["dy_clerk"]
    assert names(Escalation(recipients=lambda i: [city.gr_bureau], notify_owner=False)) == [
        "gr_bureau"]


def test_escalation_sms_channel(city, settings):
    from phis.core.notify.backends import MemorySmsBackend
    from phis.core.notify.models import Delivery

    settings.PHIS_SMS_BACKEND = "memory"
    from phis.core.workflow.definitions import State, WorkflowDefinition, workflow_register
    from phis.core.workflow.definitions import workflow_unregister as unregister

    machine = WorkflowDefinition(
        name="tests.urgent", label="紧急核实", label_en="Urgent check", initial="open",
        states=(State("open", "待核实", "Open", deadline=timedelta(hours=2)),),
        transitions=(),
        escalation=Escalation(roles=("county_health_bureau",), at="county",
                              channels=("inbox", "sms"), level="urgent"))
    workflow_register(machine)
    try:
        workflow_start(definition="tests.urgent", owner_unit=city.gr_cdc, now=T0)
        assert workflow_escalate_overdue(now=T0 + timedelta(hours=3)) == 1
        d = Delivery.objects.get(channel="sms")
        assert d.address == "13800000000" and d.notification.recipient == city.gr_bureau
        assert d.notification.level == "urgent"
        MemorySmsBackend.outbox.clear()
    finally:
        unregister("tests.urgent")


def test_task_wrapper(city):
    from phis.core.workflow.tasks import escalate_overdue_task

    workflow_start(definition="tests.report_review", owner_unit=city.dy_hosp,
                   now=timezone.now() - timedelta(hours=30))
    assert escalate_overdue_task() == 1


def test_an_item_of_a_removed_definition_does_not_block_the_others(city):
    ghost = _start(city, city.dy_hosp, "GHOST")
    WorkflowInstance.objects.filter(pk=ghost.pk).update(definition="tests.removed")
    _start(city, city.dy_hosp, "OK")
    assert workflow_escalate_overdue(now=T0 + timedelta(hours=25)) == 1
