"""Keyed blind index: exact look-up of encrypted identifiers without decrypting
(SECURITY.md §8 item 25). HMAC-SM3 over the normalised value, with a domain label so an ID
number and a phone number never share an index value."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, hmac


def blind_index(key: bytes, domain: str, value: str) -> str:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(domain.encode() + b"\x00" + value.encode())
    return mac.finalize().hex()[:40]
