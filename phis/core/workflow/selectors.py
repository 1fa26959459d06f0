"""Reads of workflow items. Everything a user reads is scoped through the one scoping helper
on the owner org unit (plus items assigned to the user personally)."""

from __future__ import annotations

from datetime import datetime
from functools import reduce
from operator import or_

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from phis.core.exceptions import NotFound
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import scope_q
from phis.core.workflow.definitions import Escalation, Transition, definition_get, definitions_all
from phis.core.workflow.models import WorkflowInstance, WorkflowTransition


def _visible_q(user) -> Q:
    return scope_q(user, "owner_unit") | Q(owner_user_id=user.pk)


def workflow_visible(*, user, definition: str | None = None) -> QuerySet[WorkflowInstance]:
    qs = WorkflowInstance.objects.filter(_visible_q(user)).select_related(
        "owner_unit", "owner_user")
    if definition:
        qs = qs.filter(definition=definition)
    return qs


def workflow_get(*, instance_id: int, user) -> WorkflowInstance:
    instance = workflow_visible(user=user).filter(pk=instance_id).first()
    if instance is None:
        raise NotFound("流程事项", "workflow item")
    return instance


def workflow_overdue(*, user, definition: str | None = None,
                     now: datetime | None = None) -> QuerySet[WorkflowInstance]:
    """Open items in the user's scope whose clock has run out, most overdue first."""
    return (workflow_visible(user=user, definition=definition)
            .filter(is_open=True, due_at__lte=now or timezone.now())
            .order_by("due_at", "id"))


def _actionable_q(user, definition: str | None) -> Q:
    pairs = Q(pk__in=[])
    for defn in definitions_all():
        if definition and defn.name != definition:
            continue
        states = {s for t in defn.transitions if t.permits(user) and not t.owner_only
                  for s in t.sources}
        if states:
            pairs |= Q(definition=defn.name, state__in=sorted(states))
    return pairs


def workflow_queue_for(*, user, definition: str | None = None) -> QuerySet[WorkflowInstance]:
    """What the user should work on: open items assigned to them, plus unassigned open items
    in their scope where their role may take an action. Soonest deadline first."""
    mine = Q(owner_user_id=user.pk)
    pool = Q(owner_user__isnull=True) & _actionable_q(user, definition)
    return (workflow_visible(user=user, definition=definition)
            .filter(is_open=True).filter(mine | pool)
            .order_by("due_at", "id"))


def workflow_history(*, instance_id: int, user) -> QuerySet[WorkflowTransition]:
    instance = workflow_get(instance_id=instance_id, user=user)
    return instance.history.select_related("by").order_by("at", "id")


def workflow_actions_for(*, instance: WorkflowInstance, user) -> list[Transition]:
    """Transitions the user may attempt now (role, permission, owner; guards run later)."""
    defn = definition_get(instance.definition)
    return [t for t in defn.transitions_from(instance.state) if t.permits(user)
            and not (t.owner_only and instance.owner_user_id
                     and instance.owner_user_id != user.pk)]


def workflow_for_subject(*, subject: Model | None = None, subject_key: str = "",
                         definition: str | None = None) -> QuerySet[WorkflowInstance]:
    """Items of one subject, for the owning module's own services (not scoped)."""
    qs = WorkflowInstance.objects.all()
    if subject is not None:
        qs = qs.filter(subject_type=ContentType.objects.get_for_model(subject),
                       subject_id=str(subject.pk))
    if subject_key:
        qs = qs.filter(subject_key=subject_key)
    if definition:
        qs = qs.filter(definition=definition)
    return qs.order_by("-created_at", "-id")


def workflow_due_for_escalation(*, now: datetime, limit: int) -> list[int]:
    return list(WorkflowInstance.objects.filter(is_open=True, escalated_at__isnull=True,
                                                due_at__lte=now)
                .order_by("due_at", "id").values_list("pk", flat=True)[:limit])


def _escalation_unit(unit: OrgUnit, at: str) -> OrgUnit | None:
    if at == "owner":
        return unit
    if at == "parent":
        return unit.parent
    wanted = Level.COUNTY if at == "county" else Level.CITY
    codes = [c for c in unit.path.split("/") if c]
    return OrgUnit.objects.filter(code__in=codes, level=wanted).order_by("-level").first()


def workflow_escalation_recipients(*, instance: WorkflowInstance,
                                   escalation: Escalation) -> list:
    """Active users to notify when ``instance`` is overdue (owner first, no duplicates)."""
    users: list = []
    if escalation.notify_owner and instance.owner_user_id:
        users.append(instance.owner_user)
    if escalation.recipients is not None:
        found = list(escalation.recipients(instance))
    else:
        unit = _escalation_unit(instance.owner_unit, escalation.at)
        found = []
        if unit is not None:
            where = Q(org_unit=unit) | Q(org_unit__parent=unit, org_unit__level=Level.FACILITY)
            qs = get_user_model().objects.filter(where, is_active=True)
            if escalation.roles:
                qs = qs.filter(reduce(or_, (Q(role=str(r)) for r in escalation.roles)))
            found = list(qs.order_by("pk"))
    seen = set()
    result = []
    for u in users + found:
        if u.pk not in seen and u.is_active:
            seen.add(u.pk)
            result.append(u)
    return result
