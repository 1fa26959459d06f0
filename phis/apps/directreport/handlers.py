"""Event handlers of the direct-report app (imported from AppConfig.ready)."""

from phis.apps.directreport import services
from phis.core.events.registry import handles


@handles("notifiable.card.changed", name="directreport.queue_card")
def queue_card(event) -> None:
    """Every change of a card that may leave the city queues its new version (idempotent:
    one record per card version and channel)."""
    card_id = (event.payload or {}).get("card_id")
    if card_id:
        services.outbound_card_changed(card_id=int(card_id))
