"""Synthetic persons: deterministic, valid resident IDs, Dongying divisions."""

from datetime import date

import numpy as np
from stdnum.cn import ric

from phis.algorithms.synthpop import DONGYING_TOWNSHIPS, generate_persons


def test_deterministic():
    a = generate_persons(2000, seed=5)
    b = generate_persons(2000, seed=5)
    c = generate_persons(2000, seed=6)
    assert a.to_columns() == b.to_columns()
    assert a.to_columns()["id_number"] != c.to_columns()["id_number"]


def test_ids_valid_unique_and_consistent():
    p = generate_persons(20000, seed=1)
    ids = p.id_number.tolist()
    assert len(set(ids)) == len(ids)
    assert all(ric.calc_check_digit(x) == x[17] for x in ids)
    areas = {x[:6] for x in ids}
    assert areas <= {"370502", "370503", "370505", "370521", "370522", "370523"}
    for i in range(0, 20000, 997):
        r = p[i]
        assert r.id_number[6:14] == r.birth_date.strftime("%Y%m%d")
        assert int(r.id_number[16]) % 2 == (1 if r.sex == 1 else 0)
        assert r.name == r.surname + r.given_name
        assert r.township_code.startswith(r.county_code)
        assert r.address.startswith("山东省东营市")


def test_age_structure_and_phones():
    p = generate_persons(20000, seed=2, reference_date=date(2025, 1, 1))
    ages = (np.datetime64("2025-01-01") - p.birth_date).astype(int) / 365.25
    assert ages.min() >= 0 and ages.max() < 100
    assert 35 < ages.mean() < 45
    ph = p.phone[p.phone != ""]
    assert all(len(x) == 11 and x.startswith("1") for x in ph[:1000])
    assert (p.phone[ages < 10] == "").all()
    assert 0.45 < (p.sex == 1).mean() < 0.56


def test_custom_townships():
    towns = [("110105001", "建外街道", "110105", 1.0)]
    p = generate_persons(100, seed=1, townships=towns)
    assert set(p.township_code.tolist()) == {"110105001"}
    assert all(x.startswith("110105") for x in p.id_number.tolist())
    assert len(DONGYING_TOWNSHIPS) >= 30


def test_chunks_cover_everything():
    p = generate_persons(1050, seed=9)
    parts = list(p.chunks(500))
    assert [len(x) for x in parts] == [500, 500, 50]
    assert [i for x in parts for i in x.id_number.tolist()] == p.id_number.tolist()
