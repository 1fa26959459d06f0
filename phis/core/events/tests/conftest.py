import pytest

from phis.core.events import registry
from phis.core.orgunits.models import Level, OrgUnit


@pytest.fixture
def clean_registry():
    """Handlers registered by a test disappear after it."""
    saved = dict(registry._HANDLERS)
    registry._HANDLERS.clear()
    yield registry
    registry._HANDLERS.clear()
    registry._HANDLERS.update(saved)


@pytest.fixture
def effect_handler(clean_registry):
    """An idempotent handler whose effect is a row (one org unit per event) and which
    records every call, so tests can tell deliveries from effects."""
    calls: list[int] = []

    @clean_registry.handles("test.thing_happened", name="tests.effect")
    def apply(event):
        calls.append(event.pk)
        OrgUnit.objects.create(code=f"EVT{event.pk}", name="effect", level=Level.FACILITY,
                               path=f"/EVT{event.pk}/")

    apply.calls = calls
    return apply


def effects() -> int:
    return OrgUnit.objects.filter(code__startswith="EVT").count()
