from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from phis.core.audit.models import AuditLog
from phis.core.audit.types import AuditEventType
from phis.core.events.models import OutboxEvent
from phis.core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from phis.core.notify.models import Notification
from phis.core.workflow.definitions import (
    State,
    Transition,
    WorkflowDefinition,
    workflow_register,
    workflow_unregister,
)
from phis.core.workflow.models import WorkflowInstance
from phis.core.workflow.selectors import workflow_for_subject, workflow_history
from phis.core.workflow.services import (
    workflow_reassign,
    workflow_start,
    workflow_transition,
)

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0)


def _start(city, key="R1", unit=None, **kw):
    return workflow_start(definition="tests.report_review", owner_unit=unit or city.dy_hosp,
                          subject_key=key, title=f"报告卡 {key}", by=city.dy_clerk,
                          now=kw.pop("now", T0), **kw)


def test_start_sets_clock_history_audit_and_event(city):
    item = _start(city)
    assert item.state == "submitted" and item.is_open and item.version == 1
    assert item.due_at == T0 + timedelta(hours=24)
    [h] = workflow_history(instance_id=item.pk, user=city.dy_reviewer)
    assert (h.action, h.from_state, h.to_state, h.by) == ("start", "", "submitted",
                                                         city.dy_clerk)
    audit = AuditLog.objects.filter(object_type="workflow.instance", object_id=str(item.pk))
    assert audit.get().event_type == AuditEventType.WORKFLOW_TRANSITION
    assert audit.get().actor_username == "dy_clerk"
    assert OutboxEvent.objects.filter(topic="workflow.started",
                                      aggregate_id=str(item.pk)).exists()


def test_start_with_subject_and_owner_user(city):
    item = workflow_start(definition="tests.report_review", owner_user=city.dy_reviewer,
                          subject=city.dy_hosp)
    assert item.owner_unit == city.dy_cdc  # from the owner user
    assert item.subject == city.dy_hosp
    assert list(workflow_for_subject(subject=city.dy_hosp)) == [item]


def test_review_path_with_history(city):
    item = _start(city)
    t1 = T0 + timedelta(hours=2)
    item = workflow_transition(instance_id=item.pk, action="return", user=city.dy_reviewer,
                               comment="地址缺失", now=t1)
    assert (item.state, item.version, item.due_at) == ("returned", 2, t1 + timedelta(hours=72))
    t2 = T0 + timedelta(hours=3)
    item = workflow_transition(instance_id=item.pk, action="resubmit", user=city.dy_clerk,
                               now=t2)
    assert (item.state, item.state_entered_at, item.due_at) == (
        "resubmitted", t2, t2 + timedelta(hours=24))
    item = workflow_transition(instance_id=item.pk, action="review", user=city.dy_reviewer2,
                               data={"diagnosis_confirmed": True}, now=T0 + timedelta(hours=4))
    assert (item.state, item.is_open, item.due_at, item.version) == ("reviewed", False, None, 4)
    history = list(workflow_history(instance_id=item.pk, user=city.dy_clerk))
    assert [(h.action, h.from_state, h.to_state, h.by.username) for h in history] == [
        ("start", "", "submitted", "dy_clerk"),
        ("return", "submitted", "returned", "dy_reviewer"),
        ("resubmit", "returned", "resubmitted", "dy_clerk"),
        ("review", "resubmitted", "reviewed", "dy_reviewer2"),
    ]
    assert history[1].comment == "地址缺失"
    assert history[3].data == {"diagnosis_confirmed": True}
    rows = AuditLog.objects.filter(event_type=AuditEventType.WORKFLOW_TRANSITION,
                                   object_id=str(item.pk)).order_by("id")
    assert [r.detail["action"] for r in rows] == ["start", "return", "resubmit", "review"]
    events = OutboxEvent.objects.filter(topic="workflow.transitioned").order_by("id")
    assert [e.payload["to_state"] for e in events] == ["returned", "resubmitted", "reviewed"]
    assert events.last().payload["subject_key"] == "R1"


def test_role_without_the_transition_is_refused(city):
    item = _start(city)
    with pytest.raises(PermissionDenied) as exc:
        workflow_transition(instance_id=item.pk, action="review", user=city.dy_clerk)
    assert exc.value.status == 403 and exc.value.message_en
    # the bureau can see the item (same county) but has no role in this machine
    with pytest.raises(PermissionDenied):
        workflow_transition(instance_id=item.pk, action="review", user=city.dy_bureau)
    assert WorkflowInstance.objects.get(pk=item.pk).state == "submitted"


def test_other_county_cannot_see_or_act(city):
    item = _start(city)
    with pytest.raises(NotFound):
        workflow_transition(instance_id=item.pk, action="review", user=city.gr_reviewer)
    with pytest.raises(NotFound):
        workflow_history(instance_id=item.pk, user=city.gr_reviewer)


def test_action_not_possible_in_this_state_is_a_conflict(city):
    item = _start(city)
    with pytest.raises(Conflict) as exc:
        workflow_transition(instance_id=item.pk, action="resubmit", user=city.dy_clerk)
    assert exc.value.code == "invalid_transition" and exc.value.status == 409


def test_two_reviewers_deciding_at_once_second_gets_409(city):
    """Both opened the item at version 1; the second decision must not overwrite the
    first."""
    item = _start(city)
    seen = item.version
    workflow_transition(instance_id=item.pk, action="review", user=city.dy_reviewer,
                        expected_version=seen)
    with pytest.raises(Conflict) as exc:
        workflow_transition(instance_id=item.pk, action="return", user=city.dy_reviewer2,
                            expected_version=seen)
    err = exc.value
    assert err.status == 409 and err.code == "concurrent_update"
    assert "他人" in err.message and "Someone else" in err.message_en
    assert WorkflowInstance.objects.get(pk=item.pk).state == "reviewed"
    assert workflow_history(instance_id=item.pk, user=city.dy_reviewer).count() == 2


def test_compare_and_swap_catches_a_commit_between_read_and_write(city):
    """The other user's transition commits after this one read the item (simulated inside a
    guard, which runs between the read and the update)."""

    def sneaky_guard(instance, user):
        WorkflowInstance.objects.filter(pk=instance.pk).update(version=F("version") + 1,
                                                               state="returned")
        return True

    machine = WorkflowDefinition(
        name="tests.race", label="竞争", label_en="Race", initial="open",
        states=(State("open", "开", "Open"), State("done", "完", "Done", final=True)),
        transitions=(Transition("close", ("open",), "done", "关", "Close",
                                guard=sneaky_guard),))
    workflow_register(machine)
    try:
        item = workflow_start(definition="tests.race", owner_unit=city.dy_cdc)
        with pytest.raises(Conflict) as exc:
            workflow_transition(instance_id=item.pk, action="close", user=city.dy_reviewer)
        assert exc.value.code == "concurrent_update"
        assert WorkflowInstance.objects.get(pk=item.pk).history.count() == 1
    finally:
        workflow_unregister("tests.race")


def test_guard_assign_effect_and_callable_deadline(city):
    effects = []

    def deadline(instance, now):
        return None if instance.data.get("no_clock") else now.replace(hour=23, minute=59)

    machine = WorkflowDefinition(
        name="tests.handover", label="交接", label_en="Handover", initial="waiting",
        states=(State("waiting", "待交接", "Waiting", deadline=deadline),
                State("accepted", "已接收", "Accepted", deadline=timedelta(hours=1)),
                State("closed", "已关闭", "Closed", final=True)),
        transitions=(
            Transition("accept", ("waiting",), "accepted", "接收", "Accept",
                       guard=lambda i, u: i.data.get("weighed", False),
                       guard_message="须先称重", guard_message_en="Weigh it first",
                       assign=lambda i, u: (u, u.org_unit)),
            Transition("close", ("accepted",), "closed", "关闭", "Close", owner_only=True,
                       effect=lambda i, u: effects.append((i.pk, u.pk))),
        ))
    workflow_register(machine)
    try:
        item = workflow_start(definition="tests.handover", owner_unit=city.dy_hosp, now=T0)
        assert item.due_at == T0.replace(hour=23, minute=59)
        assert workflow_start(definition="tests.handover", owner_unit=city.dy_hosp,
                              data={"no_clock": True}).due_at is None
        with pytest.raises(ApplicationError) as exc:
            workflow_transition(instance_id=item.pk, action="accept", user=city.dy_reviewer)
        assert exc.value.code == "guard_failed" and exc.value.message_en == "Weigh it first"
        WorkflowInstance.objects.filter(pk=item.pk).update(data={"weighed": True})
        item = workflow_transition(instance_id=item.pk, action="accept", user=city.dy_reviewer)
        assert (item.owner_user, item.owner_unit) == (city.dy_reviewer, city.dy_cdc)
        with pytest.raises(PermissionDenied):  # owner_only
            workflow_transition(instance_id=item.pk, action="close", user=city.dy_reviewer2)
        workflow_transition(instance_id=item.pk, action="close", user=city.dy_reviewer)
        assert effects == [(item.pk, city.dy_reviewer.pk)]
    finally:
        workflow_unregister("tests.handover")


def test_reassign(city):
    item = _start(city)
    item = workflow_reassign(instance_id=item.pk, by=city.dy_reviewer,
                             owner_user=city.dy_reviewer2, comment="请你处理")
    assert (item.owner_user, item.owner_unit, item.version) == (
        city.dy_reviewer2, city.dy_hosp, 2)  # the hospital still sees its report
    note = Notification.objects.get(recipient=city.dy_reviewer2)
    assert note.title.startswith("转办") and note.link == "/reports/R1/"
    assert workflow_history(instance_id=item.pk, user=city.dy_reviewer).last().action == \
        "reassign"
    with pytest.raises(PermissionDenied):  # a clerk cannot act in "submitted"
        workflow_reassign(instance_id=item.pk, by=city.dy_clerk, owner_unit=city.dy_hosp)
    with pytest.raises(PermissionDenied):  # outside the reviewer's jurisdiction
        workflow_reassign(instance_id=item.pk, by=city.dy_reviewer2, owner_unit=city.gr_cdc)
    with pytest.raises(PermissionDenied):
        workflow_reassign(instance_id=item.pk, by=city.dy_reviewer2, owner_user=city.gr_clerk)
    with pytest.raises(Conflict):
        workflow_reassign(instance_id=item.pk, by=city.dy_reviewer2, owner_unit=city.dy_cdc,
                          expected_version=1)
