from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from phis.algorithms.identity import (
    ResidentIdError,
    check_character,
    parse_resident_id,
    upgrade_15_to_18,
)


def test_gb11643_worked_example():
    # GB 11643-1999 annex example: 11010519491231002X
    rid = parse_resident_id("11010519491231002x")
    assert rid.number == "11010519491231002X"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sex == 2
    assert check_character("11010519491231002") == "X"


def test_legacy_15_digit_upgrade():
    # 370502 80 01 01 123 -> 370502 1980 01 01 123 + check
    upgraded = upgrade_15_to_18("370502800101123")
    assert upgraded.startswith("37050219800101123")
    assert ric.calc_check_digit(upgraded) == upgraded[-1]
    rid = parse_resident_id("370502800101123")
    assert rid.upgraded_from_15 and rid.sex == 1


@pytest.mark.parametrize(("raw", "code"), [
    ("3705021980010112", "invalid_length"),
    ("37050219800101123A", "invalid_characters"),
    ("37050219800230123" + check_character("37050219800230123"), "invalid_birth_date"),
])
def test_rejections(raw, code):
    with pytest.raises(ResidentIdError) as info:
        parse_resident_id(raw, today=date(2026, 1, 1))
    assert info.value.code == code


def test_wrong_check_character():
    good = upgrade_15_to_18("370502800101123")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ResidentIdError) as info:
        parse_resident_id(bad)
    assert info.value.code == "invalid_check"


@given(st.from_regex(r"37050[2-5](19[5-9]\d|20[01]\d)(0[1-9]|1[0-2])(0[1-9]|1\d|2[0-8])\d{3}",
                     fullmatch=True))
def test_agrees_with_python_stdnum(first17):
    number = first17 + check_character(first17)
    # python-stdnum computes the check character independently (its is_valid also demands
    # that the area code existed at birth, which IDs issued later do not meet)
    assert ric.calc_check_digit(number) == number[-1]
    assert parse_resident_id(number).number == number


@given(st.from_regex(r"37050[2-5](19[5-9]\d)(0[1-9]|1[0-2])(0[1-9]|1\d|2[0-8])\d{3}",
                     fullmatch=True), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_typo_is_caught(first17, position, delta):
    number = first17 + check_character(first17)
    digit = (int(number[position]) + delta) % 10
    typo = number[:position] + str(digit) + number[position + 1:]
    with pytest.raises(ResidentIdError):
        parse_resident_id(typo)
