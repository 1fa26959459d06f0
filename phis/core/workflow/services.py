"""Workflow writes: start, transition (compare-and-swap on ``version``), reassign and
escalation of overdue items. Every change writes history, an audit row and an outbox event
(``workflow.started``, ``workflow.transitioned``, ``workflow.reassigned``,
``workflow.escalated``) in the caller's transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from phis.core.audit.context import actor_for_user, current_actor
from phis.core.audit.services import audit_record
from phis.core.audit.types import AuditEventType
from phis.core.events.services import event_emit
from phis.core.exceptions import (
    ApplicationError,
    Conflict,
    FieldError,
    PermissionDenied,
    ValidationFailed,
)
from phis.core.notify.services import notification_send
from phis.core.orgunits.scoping import unit_in_scope
from phis.core.workflow.definitions import WorkflowDefinition, definition_get
from phis.core.workflow.models import WorkflowInstance, WorkflowTransition
from phis.core.workflow.selectors import (
    workflow_actions_for,
    workflow_due_for_escalation,
    workflow_escalation_recipients,
    workflow_get,
)

AUDIT_OBJECT = "workflow.instance"
log = logging.getLogger(__name__)


def _conflict() -> Conflict:
    return Conflict("该事项已被他人处理，请刷新后重试",
                    "Someone else has acted on this item; reload it and try again",
                    code="concurrent_update")


def _definition(name: str) -> WorkflowDefinition:
    try:
        return definition_get(name)
    except LookupError:
        raise ValidationFailed([FieldError("definition", "unknown", "流程不存在",
                                           f"Unknown workflow {name!r}")]) from None


def _due_at(defn: WorkflowDefinition, state: str, instance: WorkflowInstance,
            now: datetime) -> datetime | None:
    st = defn.state(state)
    if st.final or st.deadline is None:
        return None
    value = st.deadline if isinstance(st.deadline, timedelta) else st.deadline(instance, now)
    if value is None:
        return None
    return now + value if isinstance(value, timedelta) else value


def _audit(instance: WorkflowInstance, user, detail: dict) -> None:
    actor = None
    base = current_actor()
    if user is not None and base.user_id != user.pk:
        actor = actor_for_user(user, ip_address=base.ip_address, request_id=base.request_id,
                               channel=base.channel or "system")
    audit_record(event=AuditEventType.WORKFLOW_TRANSITION, object_type=AUDIT_OBJECT,
                 object_id=instance.pk, detail={"definition": instance.definition, **detail},
                 actor=actor)


def _payload(instance: WorkflowInstance, **extra: Any) -> dict:
    return {"instance_id": instance.pk, "definition": instance.definition,
            "state": instance.state, "version": instance.version,
            "subject_type": (f"{instance.subject_type.app_label}.{instance.subject_type.model}"
                             if instance.subject_type_id else ""),
            "subject_id": instance.subject_id, "subject_key": instance.subject_key,
            "owner_unit": instance.owner_unit.code if instance.owner_unit_id else "",
            "owner_user_id": instance.owner_user_id, **extra}


def _emit(topic: str, instance: WorkflowInstance, **extra: Any) -> None:
    event_emit(topic=topic, payload=_payload(instance, **extra), aggregate_type=AUDIT_OBJECT,
               aggregate_id=instance.pk)


# --- start --------------------------------------------------------------------------------

@transaction.atomic
def workflow_start(*, definition: str, owner_unit=None, owner_user=None,
                   subject: models.Model | None = None, subject_key: str = "", title: str = "",
                   data: dict | None = None, by=None,
                   now: datetime | None = None) -> WorkflowInstance:
    """Put an item into a workflow in its initial state, with the clock of that state. The
    owner unit defaults to the owner user's unit; it decides who sees the item."""
    defn = _definition(definition)
    now = now or timezone.now()
    if owner_unit is None and owner_user is not None:
        owner_unit = owner_user.org_unit
    if owner_unit is None:
        raise ValidationFailed([FieldError("owner_unit", "required", "请指定办理机构",
                                           "An owner org unit is required")])
    instance = WorkflowInstance(
        definition=defn.name, subject_key=subject_key[:128], title=title[:200],
        state=defn.initial, is_open=not defn.state(defn.initial).final, owner_user=owner_user,
        owner_unit=owner_unit, state_entered_at=now, data=data or {}, started_by=by,
        created_at=now, updated_at=now)
    if subject is not None:
        instance.subject_type = ContentType.objects.get_for_model(subject)
        instance.subject_id = str(subject.pk)
    instance.due_at = _due_at(defn, defn.initial, instance, now)
    instance.save()
    WorkflowTransition.objects.create(instance=instance, action="start", from_state="",
                                      to_state=defn.initial, by=by, at=now, version=1)
    _audit(instance, by, {"action": "start", "to": defn.initial})
    _emit("workflow.started", instance)
    return instance


# --- transition ---------------------------------------------------------------------------

@transaction.atomic
def workflow_transition(*, instance_id: int, action: str, user, comment: str = "",
                        data: dict | None = None, expected_version: int | None = None,
                        now: datetime | None = None) -> WorkflowInstance:
    """Take ``action`` on an item. Raises NotFound outside the user's scope,
    PermissionDenied (403) when the role may not act, Conflict (409) when the item changed
    since ``expected_version`` or meanwhile, or when the action is not possible in the
    current state."""
    now = now or timezone.now()
    instance = workflow_get(instance_id=instance_id, user=user)
    defn = _definition(instance.definition)
    version = instance.version
    if expected_version is not None and expected_version != version:
        raise _conflict()
    t = defn.transition(instance.state, action)
    if t is None:
        st = defn.state(instance.state)
        raise Conflict(f"当前状态“{st.label}”不能执行此操作",
                       f"Action {action!r} is not possible in state {st.label_en!r}",
                       code="invalid_transition")
    if t not in workflow_actions_for(instance=instance, user=user):
        raise PermissionDenied("没有办理此事项的权限",
                               "You may not take this action on this item")
    if t.guard is not None and not t.guard(instance, user):
        raise ApplicationError(code="guard_failed", message=t.guard_message,
                               message_en=t.guard_message_en, status=400)
    from_state = instance.state
    owner_user, owner_unit = instance.owner_user, instance.owner_unit
    if t.assign is not None:
        new_user, new_unit = t.assign(instance, user)
        owner_user = new_user if new_user is not None else owner_user
        owner_unit = new_unit if new_unit is not None else owner_unit
    instance.state = t.target
    due_at = _due_at(defn, t.target, instance, now)
    updated = WorkflowInstance.objects.filter(pk=instance.pk, version=version).update(
        state=t.target, is_open=not defn.state(t.target).final, version=version + 1,
        state_entered_at=now, due_at=due_at, escalated_at=None, owner_user=owner_user,
        owner_unit=owner_unit, updated_at=now)
    if not updated:
        raise _conflict()  # another user's transition committed after we read the item
    instance.refresh_from_db()
    WorkflowTransition.objects.create(instance=instance, action=action, from_state=from_state,
                                      to_state=t.target, by=user, at=now, comment=comment,
                                      data=data or {}, version=instance.version)
    if t.effect is not None:
        t.effect(instance, user)
    _audit(instance, user, {"action": action, "from": from_state, "to": t.target,
                            "version": instance.version, "comment": comment[:500]})
    _emit("workflow.transitioned", instance, action=action, from_state=from_state,
          to_state=t.target, by_user_id=user.pk)
    return instance


# --- reassign -----------------------------------------------------------------------------

@transaction.atomic
def workflow_reassign(*, instance_id: int, by, owner_user=None, owner_unit=None,
                      comment: str = "", expected_version: int | None = None,
                      now: datetime | None = None) -> WorkflowInstance:
    """Hand an open item to another user and/or unit (the owner unit changes only when
    given). Allowed to the definition's ``reassign_roles`` (or, when empty, to whoever may
    act in the current state), within their scope: a user can hand over only to users and
    units they can see."""
    now = now or timezone.now()
    instance = workflow_get(instance_id=instance_id, user=by)
    defn = _definition(instance.definition)
    version = instance.version
    if expected_version is not None and expected_version != version:
        raise _conflict()
    allowed = (str(by.role) in {str(r) for r in defn.reassign_roles} if defn.reassign_roles
               else bool(workflow_actions_for(instance=instance, user=by)))
    if not instance.is_open or not allowed:
        raise PermissionDenied("没有转办此事项的权限", "You may not reassign this item")
    if owner_user is None and owner_unit is None:
        raise ValidationFailed([FieldError("owner_user", "required", "请指定新的办理人或机构",
                                           "Give a new owner user or unit")])
    new_unit = owner_unit or instance.owner_unit  # who sees the item stays the same
    targets = [new_unit] + ([owner_user.org_unit] if owner_user is not None
                            and owner_user.org_unit_id else [])
    if not all(unit_in_scope(by, u.path) for u in targets):
        raise PermissionDenied("只能转办给您管辖范围内的机构",
                               "You can only hand over within your own jurisdiction")
    before = {"owner_user_id": instance.owner_user_id, "owner_unit": instance.owner_unit.code}
    updated = WorkflowInstance.objects.filter(pk=instance.pk, version=version).update(
        owner_user=owner_user, owner_unit=new_unit, version=version + 1, updated_at=now)
    if not updated:
        raise _conflict()
    instance.refresh_from_db()
    after = {"owner_user_id": instance.owner_user_id, "owner_unit": new_unit.code}
    WorkflowTransition.objects.create(instance=instance, action="reassign",
                                      from_state=instance.state, to_state=instance.state,
                                      by=by, at=now, comment=comment,
                                      data={"before": before, "after": after},
                                      version=instance.version)
    _audit(instance, by, {"action": "reassign", "before": before, "after": after})
    _emit("workflow.reassigned", instance, by_user_id=by.pk)
    if owner_user is not None and owner_user.pk != by.pk:
        notification_send(recipients=[owner_user],
                          title=f"转办：{defn.label}{instance.title}",
                          title_en=f"Assigned to you: {defn.label_en} {instance.title}".strip(),
                          body=comment, body_en=comment, link=defn.link_for(instance))
    return instance


# --- escalation ---------------------------------------------------------------------------

def workflow_escalate_overdue(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate each open item whose clock has run out, once per state: mark it, record it
    in the history, notify the escalation target (and the owner). Returns how many."""
    now = now or timezone.now()
    count = 0
    for pk in workflow_due_for_escalation(now=now, limit=limit):
        try:
            if _escalate_one(pk=pk, now=now):
                count += 1
        except Exception:  # one broken item (e.g. its definition was removed) stops no other
            log.exception("escalation of workflow item %s failed", pk)
    return count


@transaction.atomic
def _escalate_one(*, pk: int, now: datetime) -> bool:
    instance = WorkflowInstance.objects.select_related("owner_unit", "owner_user").get(pk=pk)
    # Once per state: a transition meanwhile (new version) or another worker (escalated_at
    # set) makes this a no-op.
    updated = WorkflowInstance.objects.filter(
        pk=pk, version=instance.version, escalated_at__isnull=True, is_open=True).update(
        escalated_at=now)
    if not updated:
        return False
    instance.escalated_at = now
    defn = _definition(instance.definition)
    st = defn.state(instance.state)
    escalation = defn.escalation_for(instance.state)
    recipients = (workflow_escalation_recipients(instance=instance, escalation=escalation)
                  if escalation is not None else [])
    overdue_hours = round((now - instance.due_at).total_seconds() / 3600, 1)
    WorkflowTransition.objects.create(
        instance=instance, action="escalate", from_state=instance.state,
        to_state=instance.state, by=None, at=now, comment="超时升级 Overdue: escalated",
        data={"due_at": instance.due_at.isoformat(), "notified": [u.pk for u in recipients]},
        version=instance.version)
    if recipients:
        suffix = f" · {instance.title}" if instance.title else ""
        deadline = timezone.localtime(instance.due_at)
        notification_send(
            recipients=recipients,
            title=f"超时未办：{defn.label}{suffix}",
            body=f"“{st.label}”环节已超过办理时限（截止{deadline:%m-%d %H:%M}）。",
            title_en=f"Overdue: {defn.label_en}{suffix}",
            body_en=f"The step {st.label_en!r} passed its deadline ({deadline:%Y-%m-%d %H:%M}).",
            link=defn.link_for(instance), level=escalation.level,
            channels=escalation.channels)
    _audit(instance, None, {"action": "escalate", "state": instance.state,
                            "overdue_hours": overdue_hours,
                            "notified": [u.pk for u in recipients]})
    _emit("workflow.escalated", instance, notified=[u.pk for u in recipients])
    return True
