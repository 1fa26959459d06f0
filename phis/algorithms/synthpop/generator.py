"""Deterministic, vectorised generator of synthetic persons of a Chinese city.

    persons = generate_persons(1_000_000, seed=1)          # Dongying townships by default
    persons.to_columns()  # dict of lists: person_id, name, sex, birth_date, id_number, ...
    persons[0]            # PersonRecord

Same ``n``, ``seed``, ``townships`` and ``reference_date`` → the same persons. Everything is
drawn with numpy in bulk (a million persons in a few seconds).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date

import numpy as np

from phis.algorithms.identity.resident_id import CHECK_CHARS as ID_CHECK_CHARS
from phis.algorithms.identity.resident_id import WEIGHTS as ID_CHECK_WEIGHTS
from phis.algorithms.synthpop.data import (
    AGE_PYRAMID,
    COUNTIES,
    DONGYING_TOWNSHIPS,
    FEMALE_CHARS,
    MALE_CHARS,
    MOBILE_PREFIXES,
    SURNAMES,
    VILLAGE_STEMS,
)

Township = tuple[str, str, str, float]   # (code, name, county code, population weight)

# GB 11643 MOD 11-2 as defined once in phis.algorithms.identity, applied to whole arrays here
_ID_WEIGHTS = np.array(ID_CHECK_WEIGHTS, dtype=np.int64)
_CHECK = np.array(list(ID_CHECK_CHARS))


@dataclass(frozen=True, slots=True)
class PersonRecord:
    person_id: int
    name: str
    surname: str
    given_name: str
    sex: int                 # GB/T 2261.1: 1 male, 2 female
    birth_date: date
    id_number: str           # valid 18-character resident ID
    phone: str               # '' when the person has no mobile phone
    county_code: str
    township_code: str
    address: str


@dataclass
class Persons:
    """Columnar persons (numpy arrays of equal length)."""

    person_id: np.ndarray
    name: np.ndarray
    surname: np.ndarray
    given_name: np.ndarray
    sex: np.ndarray
    birth_date: np.ndarray   # datetime64[D]
    id_number: np.ndarray
    phone: np.ndarray
    county_code: np.ndarray
    township_code: np.ndarray
    address: np.ndarray

    def __len__(self) -> int:
        return len(self.person_id)

    def __getitem__(self, i: int) -> PersonRecord:
        return PersonRecord(
            int(self.person_id[i]), str(self.name[i]), str(self.surname[i]),
            str(self.given_name[i]), int(self.sex[i]), self.birth_date[i].item(),
            str(self.id_number[i]), str(self.phone[i]), str(self.county_code[i]),
            str(self.township_code[i]), str(self.address[i]))

    def __iter__(self) -> Iterator[PersonRecord]:
        for i in range(len(self)):
            yield self[i]

    def slice(self, start: int, stop: int) -> Persons:
        return Persons(**{f.name: getattr(self, f.name)[start:stop] for f in fields(self)})

    def chunks(self, size: int = 50_000) -> Iterator[Persons]:
        """Consecutive slices (e.g. for bulk inserts)."""
        for start in range(0, len(self), size):
            yield self.slice(start, start + size)

    def to_columns(self) -> dict[str, list]:
        """Plain lists; birth dates as ISO strings."""
        out: dict[str, list] = {}
        for f in fields(self):
            arr = getattr(self, f.name)
            out[f.name] = (arr.astype(str).tolist() if f.name == "birth_date"
                           else arr.tolist())
        return out

    def to_csv(self, path: str | os.PathLike) -> None:
        cols = self.to_columns()
        names = list(cols)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(names)
            w.writerows(zip(*(cols[n] for n in names), strict=True))


def _weights(ws: Sequence[float]) -> np.ndarray:
    w = np.asarray(ws, dtype=float)
    return w / w.sum()


def _char_weights(chars: str) -> np.ndarray:
    # Zipf-like: the first characters of the pool are the most common
    return _weights([1.0 / (k + 8) for k in range(len(chars))])


def generate_persons(n: int, *, seed: int, townships: Sequence[Township] | None = None,
                     reference_date: date = date(2025, 1, 1), start_id: int = 1,
                     phone_share: float = 0.93, address_prefix: str = "山东省东营市",
                     county_names: dict[str, str] | None = None) -> Persons:
    """``n`` synthetic persons living in ``townships`` (default: Dongying's).

    Addresses read ``address_prefix`` + county name (``county_names``, default Dongying's
    five) + township name + community/building or village/house number."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = np.random.default_rng(seed)
    towns = list(townships or DONGYING_TOWNSHIPS)
    t_code = np.array([t[0] for t in towns])
    t_name = np.array([t[1] for t in towns])
    t_county = np.array([t[2] for t in towns])
    ti = rng.choice(len(towns), size=n, p=_weights([t[3] for t in towns]))

    # sex (ratio about 105:100) and age by the pyramid, then a uniform day inside the year
    sex = np.where(rng.random(n) < 105 / 205, 1, 2).astype(np.int8)
    groups = rng.choice(len(AGE_PYRAMID), size=n, p=_weights([g[2] for g in AGE_PYRAMID]))
    lo = np.array([g[0] for g in AGE_PYRAMID])[groups]
    hi = np.array([g[1] for g in AGE_PYRAMID])[groups]
    age_days = ((lo + rng.random(n) * (hi - lo + 1)) * 365.2425).astype(np.int64)
    ref = np.datetime64(reference_date, "D")
    birth = ref - age_days.astype("timedelta64[D]")

    # names
    s_chars = np.array([s for s, _ in SURNAMES])
    surname = s_chars[rng.choice(len(SURNAMES), size=n, p=_weights([w for _, w in SURNAMES]))]
    male = sex == 1
    mpool, fpool = np.array(list(MALE_CHARS)), np.array(list(FEMALE_CHARS))
    g1 = np.where(male, mpool[rng.choice(len(mpool), n, p=_char_weights(MALE_CHARS))],
                  fpool[rng.choice(len(fpool), n, p=_char_weights(FEMALE_CHARS))])
    g2 = np.where(male, mpool[rng.choice(len(mpool), n, p=_char_weights(MALE_CHARS))],
                  fpool[rng.choice(len(fpool), n, p=_char_weights(FEMALE_CHARS))])
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    one_char_p = np.where((year >= 1975) & (year < 2000), 0.35, 0.15)
    given = np.where(rng.random(n) < one_char_p, g1, np.strings.add(g1, g2))
    name = np.strings.add(surname, given)

    # resident IDs: area + birth date + sequence (odd for men) + check character;
    # sequences are unique within (area, birth date)
    county = t_county[ti]
    area = county.astype(np.int64)
    # Kenli district (370505) was Kenli county (370521) until 2016: older IDs keep that code
    area = np.where((area == 370505) & (year < 2016), 370521, area)
    ymd = (year * 10000 + (birth.astype("datetime64[M]").astype(np.int64) % 12 + 1) * 100
           + (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1)
    grp = area * 100_000_000 + ymd
    order = np.lexsort((rng.random(n), sex, grp))
    g_sorted = grp[order] * 4 + sex[order]
    brk = np.concatenate(([True], g_sorted[1:] != g_sorted[:-1]))
    starts = np.flatnonzero(brk)
    rank_sorted = np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
    sizes = np.diff(np.append(starts, n))
    group_offset = np.repeat(rng.integers(0, 500, size=len(starts)), sizes)
    step = np.repeat(np.maximum(1, np.minimum(7, 499 // np.maximum(sizes, 1))), sizes)
    k_sorted = (group_offset + rank_sorted * step) % 500  # unique inside a group
    k = np.empty(n, dtype=np.int64)
    k[order] = k_sorted
    seq = 2 * k + np.where(male, 1, 0)
    first17 = area * 100_000_000_000 + ymd * 1000 + seq
    digits = (first17[:, None] // (10 ** np.arange(16, -1, -1, dtype=np.int64))) % 10
    check = _CHECK[(digits @ _ID_WEIGHTS) % 11]
    id_number = np.strings.add(first17.astype("U17"), check)

    # phones: most adults have a mobile; young children none
    age_years = age_days / 365.2425
    has_phone = (age_years >= 12) & (rng.random(n) < np.where(age_years > 75, 0.6, phone_share))
    prefixes = np.array(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), n)]
    tail = rng.integers(0, 100_000_000, n).astype("U8")
    phone = np.strings.add(prefixes, np.strings.zfill(tail, 8))
    phone = np.where(has_phone, phone, "")

    # addresses: street (街道) units have communities with buildings, towns have villages
    stems = np.array(VILLAGE_STEMS)
    village = stems[(ti * 7 + rng.integers(0, 12, n)) % len(stems)]
    urban = np.strings.endswith(t_name[ti], "街道")
    bld = rng.integers(1, 40, n).astype("U2")
    unit = rng.integers(1, 6, n).astype("U1")
    room = (rng.integers(1, 7, n) * 100 + rng.integers(1, 5, n)).astype("U3")
    urban_tail = np.strings.add(np.strings.add(np.strings.add(np.strings.add(
        np.strings.add(np.strings.add(village, "社区"), bld), "号楼"), unit), "单元"), room)
    urban_tail = np.strings.add(urban_tail, "室")
    rural_tail = np.strings.add(np.strings.add(np.strings.add(village, "村"),
                                               rng.integers(1, 300, n).astype("U3")), "号")
    cn = COUNTIES if county_names is None else county_names
    county_label = np.array([cn.get(c, "") for c in t_county])[ti]
    prefix = np.strings.add(np.strings.add(address_prefix, county_label), t_name[ti])
    address = np.strings.add(prefix, np.where(urban, urban_tail, rural_tail))

    return Persons(
        person_id=np.arange(start_id, start_id + n, dtype=np.int64), name=name,
        surname=surname, given_name=given, sex=sex, birth_date=birth, id_number=id_number,
        phone=phone, county_code=county, township_code=t_code[ti], address=address)
