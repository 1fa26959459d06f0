"""Field comparators: each turns raw values into features once (``prepare``) and then, for
aligned index arrays of record pairs, returns a comparison level per pair (``compare``):
0 is the strongest agreement, higher levels are weaker, ``-1`` means a value is missing (the
field then adds no evidence). Comparators also provide blocking keys and, for term-frequency
adjustment, a value code per record.

Features are a ``dict[str, numpy.ndarray]`` so they can be sliced, concatenated and saved
without pickle. Strings are kept in object arrays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pandas as pd
from rapidfuzz import distance, process

from phis.algorithms.linkage import cnid
from phis.algorithms.linkage.text import (
    fuzzy_pinyin,
    name_key,
    normalize_phone,
    parse_address,
)

Features = dict[str, np.ndarray]
_DATE_RE = re.compile(r"^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?$")
MISSING = -1


_HASH_KEY = "phis.linkage.v1."  # 16 bytes: SipHash key


def hash_strings(values: Sequence[str] | np.ndarray) -> np.ndarray:
    """Stable 64-bit codes of strings (SipHash-2-4 of the UTF-8 bytes, the same in every
    process, so saved indexes stay valid); '' and None → 0."""
    arr = np.asarray(values, dtype=object)
    if arr.size == 0:
        return np.zeros(0, dtype=np.uint64)
    arr = np.array(["" if v is None else str(v) for v in arr], dtype=object) \
        if arr.size < 64 else np.where(pd.isna(arr), "", arr).astype(object)
    if arr.size >= 64:
        codes_, uniq = pd.factorize(arr, use_na_sentinel=False)
        codes = _siphash(np.asarray(uniq, dtype=object))[codes_]
    else:
        codes = _siphash(arr)
    empty = arr == ""
    codes[empty] = 0
    codes[(~empty) & (codes == 0)] = 1
    return codes


def _siphash(arr: np.ndarray) -> np.ndarray:
    from pandas._libs.hashing import hash_object_array

    return hash_object_array(arr, _HASH_KEY, "utf8").astype(np.uint64)


HASH_PROBE = ("张伟", "phis")


def hash_probe() -> list[int]:
    """Codes of fixed strings: saved with an index to detect a changed hash function."""
    return [int(x) for x in hash_strings(list(HASH_PROBE))]


def hash_ints(*cols: np.ndarray) -> np.ndarray:
    """Combine integer columns into a 64-bit code; any zero column → 0 (missing)."""
    out = np.zeros(len(cols[0]), dtype=np.uint64)
    missing = np.zeros(len(cols[0]), dtype=bool)
    for c in cols:
        c = np.asarray(c).astype(np.uint64)
        missing |= c == 0
        out = combine(out, c)
    out[missing] = 0
    out[(~missing) & (out == 0)] = 1
    return out


_C1, _C2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)
_S6, _S2, _S31, _S29 = np.uint64(6), np.uint64(2), np.uint64(31), np.uint64(29)


def combine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mix two arrays of 64-bit codes (wrapping arithmetic, no overflow warnings for
    arrays)."""
    a = np.asarray(a).astype(np.uint64, copy=False)
    b = np.asarray(b).astype(np.uint64, copy=False)
    x = a ^ (b + _C1 + (a << _S6) + (a >> _S2))
    x = (x ^ (x >> _S31)) * _C2
    return x ^ (x >> _S29)


def _strs(values: Sequence[str | None]) -> list[str]:
    return ["" if v is None else str(v).strip() for v in values]


def _factorize(values: Sequence[str | None]) -> tuple[list[str], np.ndarray]:
    """Distinct stripped values and the code of each input value: per-value Python work is
    done once per distinct value."""
    if len(values) <= 32:  # one record (incremental matching): no pandas overhead
        seen: dict = {}
        small = [seen.setdefault(v, len(seen)) for v in values]
        return _strs(list(seen)), np.array(small, dtype=np.int64)
    arr = np.asarray(values, dtype=object)
    codes, uniq = pd.factorize(arr, use_na_sentinel=False)
    return _strs(list(uniq)), codes.astype(np.int64)


def _jw(a: np.ndarray, b: np.ndarray, workers: int) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0)
    return process.cpdist(list(a), list(b), scorer=distance.JaroWinkler.normalized_similarity,
                          workers=workers)


def _osa(a: np.ndarray, b: np.ndarray, workers: int) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    return process.cpdist(list(a), list(b), scorer=distance.OSA.distance, workers=workers)


class Comparator:
    """Base class. Subclasses set ``kind``, ``levels`` and implement the three hooks."""

    kind: ClassVar[str] = ""
    levels: ClassVar[tuple[str, ...]] = ()
    tf_levels: ClassVar[tuple[int, ...]] = ()

    def __init__(self, field: str, *, tf: bool = False, **params) -> None:
        self.field = field
        self.tf = tf
        self.params = params

    # --- hooks ---
    def prepare(self, values: Sequence[str | None]) -> Features:
        raise NotImplementedError

    def compare(self, fa: Features, ia: np.ndarray, fb: Features, ib: np.ndarray,
                workers: int = 1) -> np.ndarray:
        raise NotImplementedError

    def block_key(self, f: Features, key: str) -> np.ndarray:
        """(n,) or (n, k) uint64 blocking codes; 0 = no key."""
        raise KeyError(f"{self.kind} has no blocking key {key!r}")

    def tf_codes(self, f: Features) -> np.ndarray | None:
        """Value codes for term-frequency adjustment (only when ``tf`` is on)."""
        return None

    def exclusive_codes(self, f: Features) -> np.ndarray | None:
        """Codes of values that identify a person for sure (cannot-link constraint)."""
        return None

    # --- shared ---
    @property
    def n_levels(self) -> int:
        return len(self.levels)

    def spec(self) -> dict:
        return {"field": self.field, "kind": self.kind, "tf": self.tf, **self.params}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.field!r})"


class ResidentIdComparator(Comparator):
    """Resident ID (GB 11643): exact / typo (one substitution or adjacent swap with a failing
    check character) / near but both valid (different people, e.g. twins) / different.
    15-digit numbers are converted to 18 before comparison."""

    kind = "cn_id"
    levels = ("exact", "typo", "near_both_valid", "different")

    def prepare(self, values):
        uniq, codes = _factorize(values)
        ids = [cnid.normalize_id(v) for v in uniq]
        d = cnid.digits_matrix(ids)
        return {"digits": d[codes], "valid": cnid.valid_mask(d)[codes],
                "code": hash_strings(ids)[codes]}

    def compare(self, fa, ia, fb, ib, workers=1):
        return cnid.relation_matrix(fa["digits"][ia], fb["digits"][ib],
                                    fa["valid"][ia], fb["valid"][ib])

    def _part(self, f, sl: list[slice]) -> np.ndarray:
        d = f["digits"]
        present = d[:, 0] != 255
        cols = np.concatenate([np.arange(s.start, s.stop) for s in sl])
        # digits are 0..10: base-11 packing of up to 18 of them fits in int64 exactly
        packed = d[:, cols].astype(np.int64) @ (11 ** np.arange(len(cols), dtype=np.int64))
        out = combine(np.full(len(d), len(cols) * 1000 + int(cols[0]), dtype=np.uint64),
                      packed.astype(np.uint64) + np.uint64(1))
        out[~present] = 0
        return out

    def block_key(self, f, key):
        parts = {"full": [slice(0, 18)], "area_date": [slice(0, 14)],
                 "date_seq": [slice(6, 18)], "area_seq": [slice(0, 6), slice(14, 18)],
                 "birth_date": [slice(6, 14)]}
        if key not in parts:
            return super().block_key(f, key)
        return self._part(f, parts[key])

    def tf_codes(self, f):
        return f["code"]

    def exclusive_codes(self, f):
        c = f["code"].copy()
        c[~f["valid"]] = 0
        return c


class ChineseNameComparator(Comparator):
    """Person name in Chinese characters or pinyin: same characters (after traditional →
    simplified; for names written in Latin letters: the same pinyin in the same order) /
    same pinyin (homophones, pinyin spellings, either order) / same fuzzy
    pinyin (zh-z, n-l, -ng/-n ...) / Jaro-Winkler of pinyin ≥ t1 / ≥ t2 / different."""

    kind = "cn_name"
    levels = ("same_chars", "same_pinyin", "fuzzy_pinyin", "similar", "weak", "different")
    tf_levels = (0, 1)

    def prepare(self, values):
        uniq, codes = _factorize(values)
        keys = [name_key(v) for v in uniq]
        # the written form: simplified characters, or the pinyin as written for Latin names
        han = [k.han or (f"~{k.py}|{k.alt}" if k.py else "") for k in keys]
        py = [k.py for k in keys]
        alt = [k.alt for k in keys]
        sur = [k.surname for k in keys]
        alt_sur = [k.alt[: len(k.alt) - len(k.py) + len(k.surname)] if k.alt != k.py else ""
                   for k in keys]
        fz = [fuzzy_pinyin(p) for p in py]
        fz_alt = [a if a == p else fuzzy_pinyin(a) for a, p in zip(alt, py, strict=True)]
        return {
            "han": hash_strings(han)[codes], "py": hash_strings(py)[codes],
            "alt": hash_strings(alt)[codes], "fz": hash_strings(fz)[codes],
            "fz_alt": hash_strings(fz_alt)[codes], "sur": hash_strings(sur)[codes],
            "alt_sur": hash_strings(alt_sur)[codes],
            "py_s": np.array(py, dtype=object)[codes], "alt_s": np.array(alt, dtype=object)[codes],
        }

    def compare(self, fa, ia, fb, ib, workers=1):
        t1, t2 = self.params.get("thresholds", (0.92, 0.8))
        pa, pb = fa["py"][ia], fb["py"][ib]
        aa, ab = fa["alt"][ia], fb["alt"][ib]
        out = np.full(len(ia), 5, dtype=np.int8)
        present = (pa != 0) & (pb != 0)
        out[~present] = MISSING
        same_py = present & ((pa == pb) | (pa == ab) | (aa == pb))
        za, zb = fa["fz"][ia], fb["fz"][ib]
        zaa, zab = fa["fz_alt"][ia], fb["fz_alt"][ib]
        same_fz = present & ((za == zb) | (za == zab) | (zaa == zb))
        ha, hb = fa["han"][ia], fb["han"][ib]
        same_han = present & (ha != 0) & (ha == hb)
        out[same_fz] = 2
        out[same_py] = 1
        out[same_han] = 0
        rest = np.flatnonzero(present & ~same_fz)
        if rest.size:
            sa, sb = fa["py_s"][ia[rest]], fb["py_s"][ib[rest]]
            sim = _jw(sa, sb, workers)
            alt_rest = (aa[rest] != pa[rest]) | (ab[rest] != pb[rest])
            if alt_rest.any():
                r2 = rest[alt_rest]
                s2 = np.maximum(_jw(fa["alt_s"][ia[r2]], fb["py_s"][ib[r2]], workers),
                                _jw(fa["py_s"][ia[r2]], fb["alt_s"][ib[r2]], workers))
                sim[alt_rest] = np.maximum(sim[alt_rest], s2)
            lev = np.where(sim >= t1, 3, np.where(sim >= t2, 4, 5)).astype(np.int8)
            out[rest] = lev
        return out

    def block_key(self, f, key):
        if key == "py":
            return np.stack([f["py"], np.where(f["alt"] != f["py"], f["alt"], 0)], axis=1)
        if key == "fuzzy":
            return np.stack([f["fz"], np.where(f["fz_alt"] != f["fz"], f["fz_alt"], 0)], axis=1)
        if key == "surname":
            return np.stack([f["sur"], f["alt_sur"]], axis=1)
        if key == "han":
            return f["han"]
        return super().block_key(f, key)

    def tf_codes(self, f):
        return f["py"]


class DateComparator(Comparator):
    """Dates: exact / day and month swapped or one of year, month, day different /
    within ``near_days`` / different."""

    kind = "date"
    levels = ("exact", "swap_or_one_part", "near", "different")

    def prepare(self, values):
        uniq, codes = _factorize(values)
        ys, ms, ds = [], [], []
        for v in uniq:
            mt = _DATE_RE.match(v) if v else None
            if mt is None:
                ys.append(0)
                ms.append(0)
                ds.append(0)
            else:  # components are kept even when the date is not real (evidence too)
                ys.append(int(mt.group(1)))
                ms.append(int(mt.group(2)))
                ds.append(int(mt.group(3)))
        y = np.array(ys, dtype=np.int32)[codes]
        m = np.array(ms, dtype=np.int32)[codes]
        d = np.array(ds, dtype=np.int32)[codes]
        days = np.zeros(len(y), dtype=np.int64)
        ok = (y > 0) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
        if ok.any():
            dt = (y[ok] - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (m[ok] - 1)
            days[ok] = (dt.astype("datetime64[D]") + (d[ok] - 1)).astype(np.int64)
        return {"y": y, "m": m, "d": d, "days": days}

    def compare(self, fa, ia, fb, ib, workers=1):
        near = int(self.params.get("near_days", 365))
        ya, ma, da = fa["y"][ia], fa["m"][ia], fa["d"][ia]
        yb, mb, db = fb["y"][ib], fb["m"][ib], fb["d"][ib]
        present = (ya > 0) & (yb > 0)
        sy, sm, sd = ya == yb, ma == mb, da == db
        exact = sy & sm & sd
        swap = sy & (ma == db) & (da == mb)
        one = (sy.astype(np.int8) + sm + sd) == 2
        close = np.abs(fa["days"][ia] - fb["days"][ib]) <= near
        out = np.full(len(ia), 3, dtype=np.int8)
        out[close] = 2
        out[swap | one] = 1
        out[exact] = 0
        out[~present] = MISSING
        return out

    def block_key(self, f, key):
        y, m, d = f["y"], f["m"], f["d"]
        if key == "full":
            return hash_ints(y, m, d)
        if key == "unordered":  # robust to day/month swaps
            return hash_ints(y, np.minimum(m, d), np.maximum(m, d))
        if key == "year":
            return hash_ints(y)
        if key == "ym":
            return hash_ints(y, m)
        if key == "md":
            return hash_ints(m, d)
        return super().block_key(f, key)

    def tf_codes(self, f):
        return hash_ints(f["y"], f["m"], f["d"])


class SexComparator(Comparator):
    """Sex per GB/T 2261.1 (1 male, 2 female; 0 unknown and 9 unspecified count as missing);
    also accepts M/F and 男/女."""

    kind = "sex"
    levels = ("agree", "disagree")
    _MAP: ClassVar[dict[str, int]] = {"1": 1, "2": 2, "m": 1, "f": 2, "male": 1, "female": 2,
                                      "男": 1, "女": 2}

    def prepare(self, values):
        uniq, codes = _factorize(values)
        return {"s": np.array([self._MAP.get(v.lower(), 0) for v in uniq],
                              dtype=np.int8)[codes]}

    def compare(self, fa, ia, fb, ib, workers=1):
        a, b = fa["s"][ia], fb["s"][ib]
        out = np.where(a == b, 0, 1).astype(np.int8)
        out[(a == 0) | (b == 0)] = MISSING
        return out

    def block_key(self, f, key):
        if key in ("value", "exact"):
            return f["s"].astype(np.uint64)
        return super().block_key(f, key)


class PhoneComparator(Comparator):
    """Phone numbers: exact / one digit wrong, two adjacent swapped, or same last 8 digits
    (landline with and without area code) / different."""

    kind = "phone"
    levels = ("exact", "one_edit", "different")

    def prepare(self, values):
        uniq, codes = _factorize(values)
        f = self._prepare_unique([normalize_phone(v) for v in uniq])
        return {k: v[codes] for k, v in f.items()}

    def _prepare_unique(self, ph: list[str]) -> Features:
        last = [p[-11:].rjust(11, "0") if p else "" for p in ph]
        d = np.full((len(ph), 11), 255, dtype=np.uint8)
        if ph:
            raw = np.frombuffer("".join(x or "?" * 11 for x in last).encode(), dtype=np.uint8)
            raw = raw.reshape(len(ph), 11)
            ok = raw[:, 0] != ord("?")
            d[ok] = raw[ok] - ord("0")
        return {"code": hash_strings(ph), "last8": hash_strings([p[-8:] for p in ph]),
                "digits": d}

    def compare(self, fa, ia, fb, ib, workers=1):
        ca, cb = fa["code"][ia], fb["code"][ib]
        present = (ca != 0) & (cb != 0)
        da, db = fa["digits"][ia], fb["digits"][ib]
        neq = da != db
        nd = neq.sum(axis=1)
        out = np.full(len(ia), 2, dtype=np.int8)
        near = (nd == 1) | (fa["last8"][ia] == fb["last8"][ib])
        two = np.flatnonzero(nd == 2)
        if two.size:
            first = np.minimum(neq[two].argmax(axis=1), 9)
            swap = (neq[two, first + 1] & (da[two, first] == db[two, first + 1])
                    & (da[two, first + 1] == db[two, first]))
            near[two[swap]] = True
        out[near] = 1
        out[ca == cb] = 0
        out[~present] = MISSING
        return out

    def block_key(self, f, key):
        if key in ("full", "exact"):
            return f["code"]
        if key == "last8":
            return f["last8"]
        return super().block_key(f, key)

    def tf_codes(self, f):
        return f["code"]


class ChineseAddressComparator(Comparator):
    """Chinese address: exact / very similar (Jaro-Winkler ≥ t) in the same township /
    same township (街道, 镇, 乡) / same county / different."""

    kind = "cn_address"
    levels = ("exact", "similar", "same_township", "same_county", "different")
    tf_levels = (0,)

    def prepare(self, values):
        uniq, codes = _factorize(values)
        parsed = [parse_address(v) for v in uniq]
        full = [p[2] for p in parsed]
        return {"code": hash_strings(full)[codes],
                "town": hash_strings([p[1] for p in parsed])[codes],
                "county": hash_strings([p[0] for p in parsed])[codes],
                "s": np.array(full, dtype=object)[codes]}

    def compare(self, fa, ia, fb, ib, workers=1):
        t = self.params.get("threshold", 0.9)
        ca, cb = fa["code"][ia], fb["code"][ib]
        present = (ca != 0) & (cb != 0)
        ta, tb = fa["town"][ia], fb["town"][ib]
        same_town = present & (ta != 0) & (ta == tb)
        same_county = present & (fa["county"][ia] != 0) & (fa["county"][ia] == fb["county"][ib])
        out = np.full(len(ia), 4, dtype=np.int8)
        out[same_county] = 3
        out[same_town] = 2
        check = np.flatnonzero(present & (ca != cb) & (same_town | (ta == 0) | (tb == 0)))
        if check.size:
            sim = _jw(fa["s"][ia[check]], fb["s"][ib[check]], workers)
            out[check[sim >= t]] = 1
        out[present & (ca == cb)] = 0
        out[~present] = MISSING
        return out

    def block_key(self, f, key):
        if key == "township":
            return f["town"]
        if key == "county":
            return f["county"]
        if key in ("full", "exact"):
            return f["code"]
        return super().block_key(f, key)

    def tf_codes(self, f):
        return f["code"]


def soundex(s: str) -> str:
    """American Soundex of a Latin-script string ('' for empty)."""
    s = "".join(ch for ch in s.upper() if "A" <= ch <= "Z")
    if not s:
        return ""
    codes = {**dict.fromkeys("BFPV", "1"), **dict.fromkeys("CGJKQSXZ", "2"),
             **dict.fromkeys("DT", "3"), "L": "4", **dict.fromkeys("MN", "5"), "R": "6"}
    out = s[0]
    prev = codes.get(s[0], "")
    for ch in s[1:]:
        c = codes.get(ch, "")
        if c and c != prev:
            out += c
        if ch not in "HW":
            prev = c
    return (out + "000")[:4]


class StringComparator(Comparator):
    """Generic string: exact / Jaro-Winkler ≥ each threshold / different (e.g. English names,
    street names). Blocking keys: exact, soundex, prefix3."""

    kind = "string"
    tf_levels = (0,)

    def __init__(self, field, *, tf=False, thresholds=(0.92, 0.8), **params):
        super().__init__(field, tf=tf, thresholds=tuple(thresholds), **params)

    @property
    def levels(self):  # type: ignore[override]
        return ("exact", *(f"jw>={t}" for t in self.params["thresholds"]), "different")

    def prepare(self, values):
        uniq, codes = _factorize(values)
        s = [v.lower() for v in uniq]
        return {"code": hash_strings(s)[codes], "s": np.array(s, dtype=object)[codes],
                "soundex": hash_strings([soundex(v) for v in s])[codes],
                "prefix3": hash_strings([v[:3] for v in s])[codes]}

    def compare(self, fa, ia, fb, ib, workers=1):
        ths = self.params["thresholds"]
        ca, cb = fa["code"][ia], fb["code"][ib]
        present = (ca != 0) & (cb != 0)
        out = np.full(len(ia), len(ths) + 1, dtype=np.int8)
        rest = np.flatnonzero(present & (ca != cb))
        if rest.size:
            sim = _jw(fa["s"][ia[rest]], fb["s"][ib[rest]], workers)
            lev = np.full(rest.size, len(ths) + 1, dtype=np.int8)
            for k in range(len(ths) - 1, -1, -1):
                lev[sim >= ths[k]] = k + 1
            out[rest] = lev
        out[present & (ca == cb)] = 0
        out[~present] = MISSING
        return out

    def block_key(self, f, key):
        if key in ("exact", "full"):
            return f["code"]
        if key in ("soundex", "prefix3"):
            return f[key]
        return super().block_key(f, key)

    def tf_codes(self, f):
        return f["code"]


class IdStringComparator(Comparator):
    """Generic identifier or number (social security number, street number, postcode):
    exact / one edit (substitution, insertion, deletion, adjacent swap) / two edits /
    different. Blocking keys: exact, half1, half2 (a single typo leaves one half intact)."""

    kind = "id_string"
    levels = ("exact", "one_edit", "two_edits", "different")

    def prepare(self, values):
        uniq, codes = _factorize(values)
        s = ["".join(v.split()).upper() for v in uniq]
        return {"code": hash_strings(s)[codes], "s": np.array(s, dtype=object)[codes],
                "half1": hash_strings([v[: len(v) // 2] for v in s])[codes],
                "half2": hash_strings([v[len(v) // 2:] for v in s])[codes]}

    def compare(self, fa, ia, fb, ib, workers=1):
        ca, cb = fa["code"][ia], fb["code"][ib]
        present = (ca != 0) & (cb != 0)
        out = np.full(len(ia), 3, dtype=np.int8)
        rest = np.flatnonzero(present & (ca != cb))
        if rest.size:
            dist = _osa(fa["s"][ia[rest]], fb["s"][ib[rest]], workers)
            out[rest] = np.where(dist <= 1, 1, np.where(dist <= 2, 2, 3))
        out[present & (ca == cb)] = 0
        out[~present] = MISSING
        return out

    def block_key(self, f, key):
        if key in ("exact", "full", "half1", "half2"):
            return f["code" if key in ("exact", "full") else key]
        return super().block_key(f, key)

    def tf_codes(self, f):
        return f["code"]


class ExactComparator(Comparator):
    """Categorical value: agree / disagree."""

    kind = "exact"
    levels = ("agree", "disagree")
    tf_levels = (0,)

    def prepare(self, values):
        uniq, codes = _factorize(values)
        return {"code": hash_strings([v.lower() for v in uniq])[codes]}

    def compare(self, fa, ia, fb, ib, workers=1):
        ca, cb = fa["code"][ia], fb["code"][ib]
        out = np.where(ca == cb, 0, 1).astype(np.int8)
        out[(ca == 0) | (cb == 0)] = MISSING
        return out

    def block_key(self, f, key):
        if key in ("exact", "full", "value"):
            return f["code"]
        return super().block_key(f, key)

    def tf_codes(self, f):
        return f["code"]


COMPARATORS: dict[str, type[Comparator]] = {
    c.kind: c for c in (ResidentIdComparator, ChineseNameComparator, DateComparator,
                        SexComparator, PhoneComparator, ChineseAddressComparator,
                        StringComparator, IdStringComparator, ExactComparator)
}


def comparator_from_spec(spec: dict) -> Comparator:
    spec = dict(spec)
    kind = spec.pop("kind")
    field = spec.pop("field")
    return COMPARATORS[kind](field, **spec)
