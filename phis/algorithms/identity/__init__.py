"""Identity numbers: the resident ID of GB 11643 (check character, birth date, sex, 15→18)."""

from phis.algorithms.identity.resident_id import (
    ResidentId,
    ResidentIdError,
    check_character,
    parse_resident_id,
    upgrade_15_to_18,
)

__all__ = ["ResidentId", "ResidentIdError", "check_character", "parse_resident_id",
           "upgrade_15_to_18"]
