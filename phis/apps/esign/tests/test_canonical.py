"""phis-jcs/1 canonical JSON: RFC 8785 examples and stability properties."""

import datetime as dt
import json
import math
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phis.apps.esign.crypto.canonical import CanonicalJSONError, canonical_json, format_number

json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=5)
                           | st.dictionaries(st.text(max_size=8), children, max_size=5),
                           max_leaves=25)


@pytest.mark.parametrize(("value", "expected"), [
    (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.5, "-1.5"), (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"), (1e21, "1e+21"),
    (1e20, "100000000000000000000"), (1e-7, "1e-7"), (0.000001, "0.000001"),
    (123.456, "123.456"), (9007199254740992.0, "9007199254740992"),
    (295147905179352830000.0, "295147905179352830000"), (333333333.3333333, "333333333.3333333"),
])
def test_numbers_as_ecmascript(value, expected):
    assert format_number(value) == expected


def test_rfc8785_shape():
    # Keys sorted by UTF-16 code units: U+20AC < U+D83D (surrogate of 😀) < U+FB33.
    data = {"\ufb33": 3, "😀": 2, "€": 1, "b": [1, 2.5, None, True, False],
            "a": 'x"\\\n\x01中'}
    assert canonical_json(data) == (
        '{"a":"x\\"\\\\\\n\\u0001中","b":[1,2.5,null,true,false],"€":1,"😀":2,"\ufb33":3}'
    ).encode()


def test_python_types_are_mapped_one_way():
    tz = dt.timezone(dt.timedelta(hours=8))
    data = {"at": dt.datetime(2026, 3, 1, 8, 30, tzinfo=tz), "day": dt.date(2026, 3, 1),
            "n": Decimal("12.50"), "id": uuid.UUID(int=1), "raw": b"\x00\x01"}
    assert canonical_json(data) == (b'{"at":"2026-03-01T00:30:00Z","day":"2026-03-01",'
                                    b'"id":"00000000-0000-0000-0000-000000000001",'
                                    b'"n":"12.50","raw":"AAE="}')


@pytest.mark.parametrize("bad", [float("nan"), math.inf, 2**53 + 1, {1: "x"},
                                 dt.datetime(2026, 1, 1), object(), "\ud800"])
def test_refuses_what_has_no_single_form(bad):
    with pytest.raises(CanonicalJSONError):
        canonical_json(bad)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_roundtrip_is_a_fixed_point(value):
    once = canonical_json(value)
    # Parsed as I-JSON (as JavaScript does): integers beyond 2**53 are doubles.
    again = json.loads(once, parse_int=lambda s: int(s) if abs(int(s)) <= 2**53 - 1
                       else float(s))
    assert canonical_json(again) == once


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_scalars, max_size=8), st.randoms())
def test_member_order_does_not_matter(obj, rnd):
    items = list(obj.items())
    rnd.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(obj)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(alphabet=st.characters(max_codepoint=0xD7FF), max_size=6),
                       st.integers(-1000, 1000) | st.text() | st.booleans() | st.none(),
                       max_size=8))
def test_matches_sorted_compact_json_without_floats(obj):
    expected = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(obj) == expected.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_exactly(x):
    assert float(format_number(x)) == x
