"""Who is acting, from where: set by the middleware for requests and by ``audit_context`` for
commands and tasks, read by every audit write."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditActor:
    user_id: int | None = None
    username: str = ""
    org_code: str = ""
    ip_address: str = ""
    request_id: str = ""
    channel: str = ""


_current: contextvars.ContextVar[AuditActor] = contextvars.ContextVar(
    "phis_audit_actor", default=AuditActor(channel="system"))  # noqa: B039 (frozen)


def current_actor() -> AuditActor:
    return _current.get()


def actor_for_user(user, **extra) -> AuditActor:
    if user is None or not getattr(user, "is_authenticated", False):
        return AuditActor(**extra)
    org_code = user.org_unit.code if getattr(user, "org_unit_id", None) else ""
    return AuditActor(user_id=user.pk, username=user.get_username(), org_code=org_code, **extra)


@contextmanager
def audit_context(actor: AuditActor) -> Iterator[AuditActor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def set_actor(actor: AuditActor) -> contextvars.Token:
    return _current.set(actor)


def reset_actor(token: contextvars.Token) -> None:
    _current.reset(token)
