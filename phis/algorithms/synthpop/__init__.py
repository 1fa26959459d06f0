"""Synthetic population of a Chinese city (persons with names, resident IDs, phones and
addresses by township) for tests, benchmarks and the demo city. No Django."""

from phis.algorithms.synthpop.data import DONGYING_TOWNSHIPS
from phis.algorithms.synthpop.generator import (
    PersonRecord,
    Persons,
    Township,
    generate_persons,
)

__all__ = ["DONGYING_TOWNSHIPS", "PersonRecord", "Persons", "Township", "generate_persons"]
