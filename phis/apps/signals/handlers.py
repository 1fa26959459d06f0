"""Event handlers: the count tables follow every card change (idempotent re-count of the
cells the event names, then the real-time fixed-threshold check)."""

from phis.apps.signals.services import counts_apply_event
from phis.core.events.registry import handles


@handles("notifiable.card.changed", name="signals.count_card_change")
def count_card_change(event) -> None:
    counts_apply_event(payload=event.payload or {})
