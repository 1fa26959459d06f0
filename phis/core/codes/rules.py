"""Domain rules of the code systems that are verified facts ([V] in
shared/domain/surveillance.md): reporting deadlines by disease class (§2.2).

Unconfirmed values ([U]) are never here: they live in ``data/notifiable_diseases.json``
(``deadline_hours`` with ``deadline_tag``/``deadline_note``)."""

from __future__ import annotations

DISEASE_CLASSES = ("A", "B", "C", "other")

# §2.2 [V]: class A and class-B diseases managed as class A: network report within 2 hours
# of diagnosis; other class-B and class-C patients: within 24 hours.
URGENT_DEADLINE_HOURS = 2
DEFAULT_DEADLINE_HOURS = 24


def deadline_hours_for(disease_class: str, *, managed_as_class_a: bool) -> int:
    """The national reporting deadline in hours for a disease of ``disease_class``."""
    if disease_class == "A" or managed_as_class_a:
        return URGENT_DEADLINE_HOURS
    return DEFAULT_DEADLINE_HOURS
