"""Record linkage for the master patient index (no Django, no database).

Fellegi–Sunter linkage with comparators for Chinese identity data (resident IDs, names in
characters or pinyin, dates, phones, addresses) and generic ones, blocking, EM training
without labels, clustering with stable IDs and an index for incremental matching.
See docs/modules/linkage.md.
"""

from phis.algorithms.linkage.engine import (
    ALGORITHM,
    MATCH,
    NON_MATCH,
    POSSIBLE,
    AssignResult,
    Candidate,
    DedupeResult,
    LinkageIndex,
    Linker,
    LinkResult,
    MatchResult,
)
from phis.algorithms.linkage.evaluate import PairwiseScores, link_scores, pairwise_scores
from phis.algorithms.linkage.model import FellegiSunterModel
from phis.algorithms.linkage.schema import (
    PERSON_FIELDS,
    LinkageSchema,
    chinese_person_schema,
    febrl_schema,
)

__all__ = [
    "ALGORITHM", "MATCH", "NON_MATCH", "PERSON_FIELDS", "POSSIBLE", "AssignResult", "Candidate",
    "DedupeResult", "FellegiSunterModel", "LinkResult", "LinkageIndex", "LinkageSchema",
    "Linker", "MatchResult", "PairwiseScores", "chinese_person_schema", "febrl_schema",
    "link_scores", "pairwise_scores",
]
