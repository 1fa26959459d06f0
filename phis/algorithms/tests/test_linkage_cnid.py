"""Resident ID (GB 11643) helpers: check character, 15→18, typo reasoning."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from phis.algorithms.linkage import cnid

digits17 = st.text(alphabet="0123456789", min_size=17, max_size=17)


def test_known_answer_gb11643_example():
    # worked example of GB 11643-1999
    assert cnid.check_character("11010519491231002") == "X"
    assert cnid.is_valid("11010519491231002X")
    assert not cnid.is_valid("110105194912310021")


def test_convert_15_to_18():
    assert cnid.convert_15_to_18("110105491231002") == "11010519491231002X"
    assert cnid.normalize_id("110105491231002") == "11010519491231002X"
    assert cnid.normalize_id(" 11010519491231002x ") == "11010519491231002X"
    assert cnid.normalize_id("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"
    assert cnid.normalize_id("12345") == ""
    assert cnid.normalize_id(None) == ""


@given(digits17)
def test_check_character_agrees_with_stdnum(first17):
    number = first17 + cnid.check_character(first17)
    assert ric.calc_check_digit(number) == number[17]
    d = cnid.digits_matrix([number])
    assert cnid.valid_mask(d)[0]


@given(digits17, st.integers(0, 16), st.integers(1, 9))
def test_single_substitution_is_a_typo(first17, pos, delta):
    good = first17 + cnid.check_character(first17)
    bad = good[:pos] + str((int(good[pos]) + delta) % 10) + good[pos + 1:]
    assert not cnid.is_valid(bad)          # MOD 11-2 detects every substitution
    assert cnid.id_relation(good, bad) == cnid.TYPO
    assert cnid.id_relation(bad, good) == cnid.TYPO


@given(digits17, st.integers(0, 15))
def test_adjacent_transposition_is_a_typo(first17, pos):
    good = first17 + cnid.check_character(first17)
    if good[pos] == good[pos + 1]:
        return
    swapped = good[:pos] + good[pos + 1] + good[pos] + good[pos + 2:]
    assert cnid.id_relation(good, swapped) == cnid.TYPO


def test_two_valid_numbers_one_digit_apart_are_different_people():
    a = "37050219900101001"
    b = "37050219900101003"
    ida, idb = a + cnid.check_character(a), b + cnid.check_character(b)
    rel = cnid.id_relation(ida, idb)
    assert rel in (cnid.NEAR_VALID, cnid.DIFFERENT)
    assert rel != cnid.TYPO


@settings(max_examples=60)
@given(st.lists(st.tuples(digits17, digits17, st.integers(0, 16), st.booleans()),
                min_size=1, max_size=20))
def test_vectorised_relation_matches_scalar(rows):
    a_ids, b_ids = [], []
    for x, y, pos, near in rows:
        a = x + cnid.check_character(x)
        if near:
            b = a[:pos] + str((int(a[pos]) + 1) % 10) + a[pos + 1:]
        else:
            b = y + cnid.check_character(y)
        a_ids.append(a)
        b_ids.append(b)
    da, db = cnid.digits_matrix(a_ids), cnid.digits_matrix(b_ids)
    rel = cnid.relation_matrix(da, db, cnid.valid_mask(da), cnid.valid_mask(db))
    assert rel.tolist() == [cnid.id_relation(a, b) for a, b in zip(a_ids, b_ids, strict=True)]


def test_missing_ids_give_missing_level():
    d = cnid.digits_matrix(["", "11010519491231002X"])
    v = cnid.valid_mask(d)
    assert cnid.relation_matrix(d[[0]], d[[1]], v[[0]], v[[1]]).tolist() == [-1]
    assert np.array_equal(v, [False, True])
