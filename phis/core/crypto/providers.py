"""Field encryption behind one provider interface (SECURITY.md §8 item 25; ADR 0002).

Ciphertext layout: ``version(1) | key_id(1) | nonce(12) | ciphertext | tag(16)``. The key id
lets keys rotate: old rows decrypt with their key while new rows use the current one.
SM4-GCM is the national profile (GB/T 32907 block cipher in GCM mode); AES-256-GCM the
international one. A KMS/HSM provider implements the same three methods.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = 1
_NONCE = 12
_TAG = 16


class DecryptionError(Exception):
    pass


class CryptoProvider(ABC):
    name: str

    def __init__(self, keys: dict[int, bytes], current_key_id: int) -> None:
        self.keys = keys
        self.current_key_id = current_key_id

    def encrypt(self, plaintext: bytes, *, associated_data: bytes = b"") -> bytes:
        nonce = os.urandom(_NONCE)
        key_id = self.current_key_id
        body = self._seal(self.keys[key_id], nonce, plaintext, associated_data)
        return bytes([_VERSION, key_id]) + nonce + body

    def decrypt(self, blob: bytes, *, associated_data: bytes = b"") -> bytes:
        blob = bytes(blob)
        if len(blob) < 2 + _NONCE + _TAG or blob[0] != _VERSION:
            raise DecryptionError("not a PHIS ciphertext")
        key = self.keys.get(blob[1])
        if key is None:
            raise DecryptionError(f"unknown key id {blob[1]}")
        try:
            return self._open(key, blob[2:2 + _NONCE], blob[2 + _NONCE:], associated_data)
        except Exception as exc:  # InvalidTag and friends
            raise DecryptionError("ciphertext or key does not match") from exc

    @abstractmethod
    def _seal(self, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes: ...

    @abstractmethod
    def _open(self, key: bytes, nonce: bytes, body: bytes, aad: bytes) -> bytes: ...


class Sm4GcmProvider(CryptoProvider):
    name = "sm4-gcm"

    def _seal(self, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        enc = Cipher(algorithms.SM4(key[:16]), modes.GCM(nonce)).encryptor()
        if aad:
            enc.authenticate_additional_data(aad)
        return enc.update(data) + enc.finalize() + enc.tag

    def _open(self, key: bytes, nonce: bytes, body: bytes, aad: bytes) -> bytes:
        dec = Cipher(algorithms.SM4(key[:16]), modes.GCM(nonce, body[-_TAG:])).decryptor()
        if aad:
            dec.authenticate_additional_data(aad)
        return dec.update(body[:-_TAG]) + dec.finalize()


class AesGcmProvider(CryptoProvider):
    name = "aes-gcm"

    def _seal(self, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        return AESGCM(key[:32]).encrypt(nonce, data, aad or None)

    def _open(self, key: bytes, nonce: bytes, body: bytes, aad: bytes) -> bytes:
        return AESGCM(key[:32]).decrypt(nonce, body, aad or None)


PROVIDERS = {"sm4": Sm4GcmProvider, "aes-gcm": AesGcmProvider}


def parse_keyring(spec: str) -> tuple[dict[int, bytes], int]:
    """``"hex"`` (one key, id 1) or ``"2:hex,1:hex"`` (first = current; older ones decrypt
    what they wrote)."""
    keys: dict[int, bytes] = {}
    current = None
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        key_id, _, hexkey = part.rpartition(":")
        kid = int(key_id) if key_id else 1
        if not 0 < kid < 256:
            raise ValueError("key ids are 1-255")
        key = bytes.fromhex(hexkey)
        if len(key) < 32:
            raise ValueError("field keys are at least 32 bytes (64 hex digits)")
        keys[kid] = key
        current = kid if current is None else current
    if current is None:
        raise ValueError("no field key configured")
    return keys, current


@lru_cache(maxsize=4)
def build_provider(name: str, keyring_spec: str) -> CryptoProvider:
    if name not in PROVIDERS:
        raise ValueError(f"unknown crypto provider {name!r}; choose one of {sorted(PROVIDERS)}")
    keys, current = parse_keyring(keyring_spec)
    return PROVIDERS[name](keys, current)
