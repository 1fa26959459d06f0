"""Declarative workflow definitions and their registry.

A module describes its machine once, as data, and registers it from its ``AppConfig.ready``::

    REVIEW = WorkflowDefinition(
        name="notifiable.report_review", label="报告卡审核", label_en="Report review",
        initial="submitted",
        states=(
            State("submitted", "待审核", "Submitted", deadline=timedelta(hours=24)),
            State("returned", "已退回", "Returned", deadline=timedelta(hours=72)),
            State("reviewed", "已审核", "Reviewed", final=True),
        ),
        transitions=(
            Transition("review", ("submitted",), "reviewed", "审核通过", "Approve",
                       roles=(Role.COUNTY_CDC_REVIEWER,)),
            Transition("return", ("submitted",), "returned", "退回", "Return",
                       roles=(Role.COUNTY_CDC_REVIEWER,)),
            Transition("resubmit", ("returned",), "submitted", "重新提交", "Resubmit",
                       roles=(Role.HOSPITAL_CLERK,)),
        ),
        escalation=Escalation(roles=(Role.COUNTY_HEALTH_BUREAU,), at="county"),
    )
    workflow_register(REVIEW)

This module imports nothing from the layers, so definitions can live in any module's
``rules.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phis.core.accounts.models import User
    from phis.core.orgunits.models import OrgUnit
    from phis.core.workflow.models import WorkflowInstance

# A deadline is a fixed duration or a function of the instance and the time the state is
# entered, returning a duration, an absolute time, or None (no clock in this state).
Deadline = timedelta | Callable[["WorkflowInstance", datetime], "timedelta | datetime | None"]
# A guard returns True to allow the transition; False refuses it with the transition's
# guard message. It may also raise an ApplicationError of its own.
Guard = Callable[["WorkflowInstance", "User"], bool]
# Runs inside the transition's transaction after the state changed (e.g. update the
# subject's status).
Effect = Callable[["WorkflowInstance", "User"], None]
# Returns the new owner (user, unit); None keeps the current one.
Assign = Callable[["WorkflowInstance", "User"], "tuple[User | None, OrgUnit | None]"]

ESCALATION_LEVELS = ("owner", "parent", "county", "city")


@dataclass(frozen=True)
class Escalation:
    """Who hears about an overdue item: users with ``roles`` (any role when empty) bound to
    the org unit found by ``at`` from the owner unit ("owner", "parent", "county", "city") or
    to a facility directly under it; plus the owner user when ``notify_owner``. A
    ``recipients`` function replaces the search."""

    roles: tuple[str, ...] = ()
    at: str = "parent"
    notify_owner: bool = True
    channels: tuple[str, ...] = ("inbox",)
    level: str = "warning"
    recipients: Callable[[WorkflowInstance], Iterable[User]] | None = None

    def __post_init__(self) -> None:
        if self.at not in ESCALATION_LEVELS:
            raise ValueError(f"escalation level must be one of {ESCALATION_LEVELS}")


@dataclass(frozen=True)
class State:
    name: str
    label: str
    label_en: str
    deadline: Deadline | None = None
    final: bool = False
    escalation: Escalation | None = None  # overrides the definition's


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    label: str
    label_en: str
    roles: tuple[str, ...] = ()  # any role when empty
    perms: tuple[str, ...] = ()  # all of them are needed
    owner_only: bool = False  # only the owner user may act (when there is one)
    guard: Guard | None = None
    guard_message: str = "不满足办理条件"
    guard_message_en: str = "The conditions for this action are not met"
    assign: Assign | None = None
    effect: Effect | None = None

    def permits(self, user: User) -> bool:
        """Role and permission check (no scope, no guard)."""
        if not getattr(user, "is_active", False):
            return False
        if self.roles and str(user.role) not in {str(r) for r in self.roles}:
            return False
        return all(user.has_phis_perm(p) for p in self.perms)


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    label: str
    label_en: str
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    escalation: Escalation | None = None
    # notification link, formatted with ``instance``: "/reports/{instance.subject_id}/"
    link: str = ""
    reassign_roles: tuple[str, ...] = ()  # empty: whoever may act in the current state
    _states: dict[str, State] = field(default_factory=dict, init=False, repr=False,
                                      compare=False)

    def __post_init__(self) -> None:
        names = [s.name for s in self.states]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate state names")
        self._states.update({s.name: s for s in self.states})
        if self.initial not in self._states:
            raise ValueError(f"{self.name}: unknown initial state {self.initial!r}")
        seen = set()
        for t in self.transitions:
            for s in (*t.sources, t.target):
                if s not in self._states:
                    raise ValueError(f"{self.name}: transition {t.action!r} uses unknown "
                                     f"state {s!r}")
            for s in t.sources:
                if (s, t.action) in seen:
                    raise ValueError(f"{self.name}: two {t.action!r} transitions from {s!r}")
                seen.add((s, t.action))

    def state(self, name: str) -> State:
        return self._states[name]

    def transitions_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]

    def transition(self, state: str, action: str) -> Transition | None:
        return next((t for t in self.transitions_from(state) if t.action == action), None)

    def escalation_for(self, state: str) -> Escalation | None:
        return self.state(state).escalation or self.escalation

    def link_for(self, instance: Any) -> str:
        return self.link.format(instance=instance) if self.link else ""


_DEFINITIONS: dict[str, WorkflowDefinition] = {}


def workflow_register(definition: WorkflowDefinition) -> WorkflowDefinition:
    existing = _DEFINITIONS.get(definition.name)
    if existing is not None and existing is not definition:
        raise ValueError(f"workflow {definition.name!r} is already registered")
    _DEFINITIONS[definition.name] = definition
    return definition


def workflow_unregister(name: str) -> None:
    _DEFINITIONS.pop(name, None)


def definition_get(name: str) -> WorkflowDefinition:
    try:
        return _DEFINITIONS[name]
    except KeyError:
        raise LookupError(f"no workflow definition {name!r}") from None


def definitions_all() -> list[WorkflowDefinition]:
    return list(_DEFINITIONS.values())
