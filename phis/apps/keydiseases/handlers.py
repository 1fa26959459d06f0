"""Event handlers (idempotent; delivered at least once by the outbox)."""

from phis.apps.keydiseases import services
from phis.core.events.registry import handles


@handles("notifiable.card.changed")
def open_case_for_reviewed_card(event) -> None:
    services.card_changed(event.payload or {})


@handles("people.person.merged")
def repoint_merged_person(event) -> None:
    payload = event.payload or {}
    services.person_merged(survivor_id=int(payload.get("survivor_id") or 0),
                           merged_id=int(payload.get("merged_id") or 0))
