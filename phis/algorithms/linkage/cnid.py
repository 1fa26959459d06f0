"""Resident identity numbers (公民身份号码, GB 11643-1999) for record linkage.

18 characters: 6-digit area code (GB/T 2260), 8-digit birth date, 3-digit sequence (odd for
men, even for women) and a check character, ISO 7064 MOD 11-2 (``X`` stands for 10). Legacy
15-digit numbers (issued before 1999) have a 2-digit year and no check character; they are
converted by inserting ``19`` and computing the check character.

The MOD 11-2 check detects every single-character substitution and every transposition of two
adjacent characters. So when two numbers differ by one character (or by an adjacent swap) and
both pass the check, they are two *different* valid numbers (twins get consecutive sequence
numbers), not one number with a typo; when one of them fails the check, a typo is the likely
explanation. :func:`id_relation` encodes this reasoning.
"""

from __future__ import annotations

import numpy as np

from phis.algorithms.identity.resident_id import (  # one definition of the GB 11643 rules
    CHECK_CHARS,
    WEIGHTS,
    check_character,
)
from phis.algorithms.identity.resident_id import upgrade_15_to_18 as convert_15_to_18

__all__ = [
    "CHECK_CHARS",
    "WEIGHTS",
    "check_character",
    "convert_15_to_18",
    "id_relation",
    "is_valid",
    "normalize_id",
]
_WEIGHTS_NP = np.array(WEIGHTS, dtype=np.int64)
_CHECK_NP = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)

# relations returned by id_relation (also the comparison levels of the resident-ID comparator)
EXACT = 0
TYPO = 1          # one substitution or adjacent transposition, at least one side fails the check
NEAR_VALID = 2    # one substitution/transposition but both sides are valid: different numbers
DIFFERENT = 3


def is_valid(number: str) -> bool:
    """True for an 18-character number whose check character is right (no date check)."""
    return (len(number) == 18 and number[:17].isdigit() and number[17] in "0123456789X"
            and check_character(number[:17]) == number[17])


def normalize_id(raw: str | None) -> str:
    """Canonical 18-character form, or ``""`` when the value cannot be a resident ID.

    Full-width digits, spaces, dashes and a lower-case ``x`` are tolerated; 15-digit numbers
    are converted. A wrong check character is kept (it is evidence for the comparator)."""
    if not raw:
        return ""
    if len(raw) == 18 and raw[:17].isdigit() and raw[:17].isascii() and raw[17] in _LAST:
        return raw.upper()
    s = "".join(ch for ch in raw.strip().upper() if ch not in " -\u3000")
    s = s.translate(_FULLWIDTH)
    if len(s) == 15 and s.isdigit():
        return convert_15_to_18(s)
    if len(s) == 18 and s[:17].isdigit() and (s[17].isdigit() or s[17] == "X"):
        return s
    return ""


_LAST = frozenset("0123456789Xx")
_FULLWIDTH = str.maketrans("０１２３４５６７８９ＸＸ", "0123456789XX")


def id_relation(a: str, b: str) -> int:
    """Relation of two normalised 18-character numbers: EXACT, TYPO, NEAR_VALID or DIFFERENT."""
    if a == b:
        return EXACT
    diff = [i for i in range(18) if a[i] != b[i]]
    one_edit = len(diff) == 1 or (
        len(diff) == 2 and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    if not one_edit:
        return DIFFERENT
    return NEAR_VALID if (is_valid(a) and is_valid(b)) else TYPO


# ---- vectorised helpers -------------------------------------------------------------------

def digits_matrix(ids: list[str] | np.ndarray) -> np.ndarray:
    """(n, 18) uint8 matrix of characters (``X`` → 10, missing rows all 255)."""
    n = len(ids)
    out = np.full((n, 18), 255, dtype=np.uint8)
    if n == 0:
        return out
    joined = "".join(s if len(s) == 18 else "?" * 18 for s in ids).encode("ascii", "replace")
    raw = np.frombuffer(joined, dtype=np.uint8).reshape(n, 18)
    ok = raw[:, 0] != ord("?")
    vals = raw.astype(np.int16) - ord("0")
    vals[raw == ord("X")] = 10
    out[ok] = vals[ok].astype(np.uint8)
    return out


def valid_mask(d: np.ndarray) -> np.ndarray:
    """Check-character validity for a digits matrix (missing rows are False)."""
    present = d[:, 0] != 255
    body = d[:, :17].astype(np.int64)
    body[~present] = 0
    expect = (12 - (body @ _WEIGHTS_NP) % 11) % 11  # check value (10 = X)
    return present & (expect == d[:, 17])


def relation_matrix(da: np.ndarray, db: np.ndarray, va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    """Vectorised :func:`id_relation` for aligned rows of two digit matrices (-1 if missing)."""
    n = da.shape[0]
    out = np.full(n, -1, dtype=np.int8)
    present = (da[:, 0] != 255) & (db[:, 0] != 255)
    if not present.any():
        return out
    neq = da != db
    ndiff = neq.sum(axis=1)
    out[present] = DIFFERENT
    exact = present & (ndiff == 0)
    out[exact] = EXACT
    single = present & (ndiff == 1)
    two = np.flatnonzero(present & (ndiff == 2))
    swap = np.zeros(n, dtype=bool)
    if two.size:
        first = neq[two].argmax(axis=1)
        ok = first < 17
        first_c = np.minimum(first, 16)
        adj = ok & neq[two, first_c + 1]
        a0 = da[two, first_c]
        a1 = da[two, first_c + 1]
        b0 = db[two, first_c]
        b1 = db[two, first_c + 1]
        swap[two] = adj & (a0 == b1) & (a1 == b0)
    one_edit = single | swap
    both_valid = va & vb
    out[one_edit & both_valid] = NEAR_VALID
    out[one_edit & ~both_valid] = TYPO
    return out


def check_array(first17: np.ndarray) -> np.ndarray:
    """Check values (0..10, 10 = X) for an (n, 17) integer matrix of digits."""
    return (12 - (first17.astype(np.int64) @ _WEIGHTS_NP) % 11) % 11
