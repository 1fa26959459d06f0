"""Canonical form and MAC of an audit row; verification of the whole chain."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, hmac
from django.conf import settings

GENESIS = "0" * 64
_FIELDS = ("id", "occurred_at", "event_type", "category", "actor_id", "actor_username",
           "actor_org_code", "ip_address", "request_id", "channel", "object_type", "object_id",
           "person_id", "purpose", "outcome", "detail")


def canonical(row: dict) -> bytes:
    values = {}
    for name in _FIELDS:
        value = row[name]
        if name == "occurred_at":
            value = value.isoformat(timespec="microseconds")
        values[name] = value
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode()


def row_mac(prev_hash: str, row: dict) -> str:
    mac = hmac.HMAC(bytes.fromhex(settings.PHIS_AUDIT_KEY), hashes.SM3())
    mac.update(prev_hash.encode() + b"|" + canonical(row))
    return mac.finalize().hex()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows_checked: int
    first_bad_id: int | None = None
    problem: str = ""


def verify_rows(rows: Iterable[dict], *, start_prev_hash: str, expect_first_id: int,
                head_last_id: int, head_last_hash: str) -> ChainReport:
    prev = start_prev_hash
    expected_id = expect_first_id
    count = 0
    for row in rows:
        count += 1
        if row["id"] != expected_id:
            # Ids come from one sequence under the chain lock, so a gap is a deleted row
            # (rolled-back appends never reach the chain: the head is updated in the same
            # transaction).
            return ChainReport(False, count, row["id"],
                               f"row(s) {expected_id}..{row['id'] - 1} missing (deleted)")
        if row["prev_hash"] != prev:
            return ChainReport(False, count, row["id"], "link to previous row broken")
        if row_mac(prev, row) != row["row_hash"]:
            return ChainReport(False, count, row["id"], "row content changed or row forged")
        prev = row["row_hash"]
        expected_id += 1
    if expected_id - 1 != head_last_id or prev != head_last_hash:
        return ChainReport(False, count, expected_id,
                           "newest row(s) missing: chain head does not match")
    return ChainReport(True, count)
