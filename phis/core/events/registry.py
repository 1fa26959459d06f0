"""Handler registry: which functions receive which topics.

Handlers are registered at import time of the module that owns them; that module is imported
from its ``AppConfig.ready``::

    from phis.core.events.registry import handles

    @handles("workflow.transitioned")
    def count_transition(event):      # event: OutboxEvent
        ...                            # runs in its own transaction; keep it idempotent

The handler's name (``module.qualname`` unless given) is stored with each delivery, so keep
it stable: renaming a handler makes it receive undelivered events again under the new name.
This module imports nothing from the layers so any layer may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[Any], None]


@dataclass(frozen=True)
class RegisteredHandler:
    topic: str  # exact topic, "prefix.*" or "*"
    name: str
    func: Handler

    def matches(self, topic: str) -> bool:
        if self.topic == "*" or self.topic == topic:
            return True
        return self.topic.endswith(".*") and topic.startswith(self.topic[:-1])


_HANDLERS: dict[str, RegisteredHandler] = {}


def handler_name(func: Handler) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def handler_register(*, topic: str, func: Handler, name: str = "") -> RegisteredHandler:
    name = name or handler_name(func)
    existing = _HANDLERS.get(name)
    if existing is not None and existing.topic != topic:
        raise ValueError(f"handler {name!r} is already registered for {existing.topic!r}")
    entry = RegisteredHandler(topic=topic, name=name, func=func)
    _HANDLERS[name] = entry
    return entry


def handler_unregister(*, name: str) -> None:
    _HANDLERS.pop(name, None)


def handles(topic: str, *, name: str = "") -> Callable[[Handler], Handler]:
    """Decorator: deliver every event of ``topic`` ("a.b", "a.*" or "*") to the function."""

    def decorator(func: Handler) -> Handler:
        handler_register(topic=topic, func=func, name=name)
        return func

    return decorator


def handlers_for(topic: str) -> list[RegisteredHandler]:
    return [h for h in _HANDLERS.values() if h.matches(topic)]


def handlers_all() -> list[RegisteredHandler]:
    return list(_HANDLERS.values())
