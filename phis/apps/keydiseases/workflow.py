"""The task machine of the key-disease plans on the workflow kernel: every plan step
(treatment start, first home visit, contact screening, case investigation …) is one item
with an owner unit and a clock; overdue items escalate (county CDC for steps owned by
hospitals and communities; the county health bureau and the city CDC for the CDC's own)."""

from __future__ import annotations

from datetime import datetime

from django.utils.dateparse import parse_datetime

from phis.apps.keydiseases.permissions import KeyDiseasePerm
from phis.core.accounts.permissions import Role
from phis.core.workflow.definitions import (
    Escalation,
    State,
    Transition,
    WorkflowDefinition,
    definition_get,
    workflow_register,
)

TASK_DEFINITION = "keydiseases.task"
OPEN, DONE, CANCELLED = "open", "done", "cancelled"

_TO_COUNTY_CDC = Escalation(roles=(Role.COUNTY_CDC_REVIEWER,), at="county")
_TO_BUREAU = Escalation(roles=(Role.COUNTY_HEALTH_BUREAU,), at="county", notify_owner=False)
_TO_CITY_CDC = Escalation(roles=(Role.CITY_CDC,), at="city", notify_owner=False)


def _due(instance, now: datetime):
    """Each step carries its own clock (rules.TaskTemplate.due), set when it is created."""
    value = (instance.data or {}).get("due_at")
    return parse_datetime(value) if value else None


def _recipients(instance):
    from phis.core.workflow.selectors import workflow_escalation_recipients

    if (instance.data or {}).get("owner_kind") == "cdc":
        found = []
        for esc in (_TO_BUREAU, _TO_CITY_CDC):
            found += workflow_escalation_recipients(instance=instance, escalation=esc)
        return found
    return workflow_escalation_recipients(instance=instance, escalation=_TO_COUNTY_CDC)


TASK_WORKFLOW = WorkflowDefinition(
    name=TASK_DEFINITION, label="重点传染病任务", label_en="Key-disease task", initial=OPEN,
    states=(
        State(OPEN, "待办", "Open", deadline=_due),
        State(DONE, "已完成", "Done", final=True),
        State(CANCELLED, "已取消", "Cancelled", final=True),
    ),
    transitions=(
        Transition("complete", (OPEN,), DONE, "完成", "Complete",
                   perms=(KeyDiseasePerm.FOLLOW_UP,)),
        Transition("cancel", (OPEN,), CANCELLED, "取消", "Cancel",
                   roles=(Role.COUNTY_CDC_REVIEWER, Role.CITY_CDC)),
    ),
    escalation=Escalation(recipients=_recipients, notify_owner=True),
    link="{instance.data[url]}",
    reassign_roles=(Role.COUNTY_CDC_REVIEWER, Role.CITY_CDC),
)


def register() -> None:
    try:
        if definition_get(TASK_DEFINITION) is TASK_WORKFLOW:
            return
    except LookupError:
        pass
    workflow_register(TASK_WORKFLOW)
