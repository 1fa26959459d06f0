"""PHIS canonical JSON, version 1 ("phis-jcs/1"): the exact bytes a record signature covers.

It is RFC 8785 (JSON Canonicalization Scheme) for the JSON data model:

* UTF-8, no BOM, no whitespace outside strings;
* object members sorted by their names compared as UTF-16 code units (RFC 8785 §3.2.3),
  duplicate names impossible (Python dicts);
* strings: only ``"`` ``\\`` and U+0000..U+001F are escaped — ``\\b \\t \\n \\f \\r`` by their
  short form, the rest as ``\\u00xx`` (lower-case hex); everything else, including
  non-ASCII (Chinese), is written as UTF-8;
* numbers as ECMAScript ``Number.prototype.toString`` writes IEEE-754 doubles (shortest
  round-trip digits; ``1.0`` → ``1``, ``1e21`` → ``1e+21``, ``1e-7`` → ``1e-7``); integers
  beyond ±(2**53 − 1) are written as the double they equal, and refused when they are not
  exactly a double (as NaN/Infinity are: I-JSON) — send such values as strings;
* ``true``, ``false``, ``null``.

Before canonicalisation :func:`to_json_value` maps Python values that JSON lacks, one way
only: ``datetime`` → ISO 8601 in UTC with ``Z`` (naive datetimes are refused), ``date`` →
``YYYY-MM-DD``, ``time`` → ``HH:MM:SS[.ffffff]``, ``Decimal`` and ``UUID`` → their string,
tuples/sets → lists (sets sorted), ``bytes`` → standard base64. The same record always gives
the same bytes, on any machine and Python version.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any

VERSION = "phis-jcs/1"
MAX_SAFE_INTEGER = 2**53 - 1

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


class CanonicalJSONError(ValueError):
    pass


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of ``value`` (after :func:`to_json_value`)."""
    out: list[str] = []
    _write(to_json_value(value), out)
    return "".join(out).encode("utf-8")


def to_json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(f"object keys must be strings, not {type(key).__name__}")
            result[key] = to_json_value(item)
        return result
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [to_json_value(v) for v in value]
        return sorted(items, key=lambda v: canonical_json(v))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise CanonicalJSONError("naive datetime: give it a time zone")
        utc = value.astimezone(dt.UTC)
        text = utc.strftime("%Y-%m-%dT%H:%M:%S")
        if utc.microsecond:
            text += f".{utc.microsecond:06d}"
        return text + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalJSONError("non-finite Decimal")
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise CanonicalJSONError(f"cannot canonicalise {type(value).__name__}")


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be")


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        _write_string(value, out)
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            # Only integers that are exactly an IEEE double survive every JSON parser.
            try:
                exact = float(value) == value
            except OverflowError:
                exact = False
            if not exact:
                raise CanonicalJSONError("integer not exactly a double; send it as a string")
            out.append(format_number(float(value)))
            return
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_number(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            _write_string(key, out)
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:  # pragma: no cover - to_json_value already refused it
        raise CanonicalJSONError(f"cannot canonicalise {type(value).__name__}")


def _write_string(text: str, out: list[str]) -> None:
    parts = ['"']
    for ch in text:
        if ch in _ESCAPES:
            parts.append(_ESCAPES[ch])
        elif ch < " ":
            parts.append(f"\\u{ord(ch):04x}")
        else:
            parts.append(ch)
    parts.append('"')
    # Lone surrogates cannot be encoded as UTF-8: refuse them rather than guess.
    try:
        "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError("lone surrogate in string") from exc
    out.append("".join(parts))


def format_number(value: float) -> str:
    """ECMAScript Number.prototype.toString for a finite double (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(value):
        raise CanonicalJSONError("NaN and Infinity are not JSON")
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # n: position of the decimal point relative to the digit string (ECMA-262 7.1.12.1)
    exponent = int(exp_text) if exp_text else 0
    lead_zeros = len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    n = len(int_part) + exponent - lead_zeros
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = f"e{'+' if e >= 0 else '-'}{abs(e)}"
    if k == 1:
        return sign + digits + exp
    return sign + digits[0] + "." + digits[1:] + exp
