"""Masked display (SECURITY.md §8 item 26; GB/T 35273 7.2)."""

from __future__ import annotations


def mask_id_number(value: str) -> str:
    """370502********1234 for resident IDs: keep the 6-digit area, hide birth date and
    sequence. Other documents keep their first and last 2-4 characters."""
    if not value:
        return ""
    if len(value) == 18:
        return value[:6] + "*" * 8 + value[-4:]
    if len(value) == 15:
        return value[:6] + "*" * 5 + value[-4:]
    keep = 2 if len(value) <= 8 else 4
    return value[:keep] + "*" * max(len(value) - 2 * keep, 1) + value[-keep:]


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) >= 11:
        return value[:3] + "****" + value[-4:]
    return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:]


def mask_name(value: str) -> str:
    """张*明 / 王* / 欧**娜: first and last character kept, the rest starred."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
