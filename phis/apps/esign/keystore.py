"""Encryption of private keys at rest and the PIN verifier (no database access here).

* The key-encryption key (KEK) comes from ``PHIS_SIGNING_KEY_ENCRYPTION_KEY`` (setting or
  environment; keyring syntax ``"2:hex,1:hex"`` as for ``PHIS_FIELD_KEY``: the first key
  encrypts, older ones still decrypt). The embedded default generates one per checkout
  (``config.keys.embedded_secret``); production sets it (or ``PHIS_REQUIRE_ENV_KEYS``).
* A PIN becomes 64 bytes of PBKDF2-HMAC-SM3 material (per-holder salt, stored iteration
  count). The first half, MACed with the KEK, is the PIN verifier, so a stolen database
  alone does not allow guessing PINs offline; the second half joins the KEK in HKDF to make
  the key that wraps the holder's private keys, so the server cannot use a person's key
  without that person's PIN.
* Wrapping uses the platform's field-encryption cipher (SM4-GCM by default, AES-256-GCM
  with ``PHIS_CRYPTO_PROVIDER=aes-gcm``) with the certificate fingerprint as associated
  data, so an encrypted key cannot be moved to another certificate's row.
"""

from __future__ import annotations

import hmac as std_hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.conf import settings

from phis.core.crypto.providers import PROVIDERS, CryptoProvider, parse_keyring

DEFAULT_PIN_ITERATIONS = 60_000  # PBKDF2-HMAC-SM3: ~0.3 s on the reference machine


def kek_spec() -> str:
    spec = getattr(settings, "PHIS_SIGNING_KEY_ENCRYPTION_KEY", "") or \
        os.environ.get("PHIS_SIGNING_KEY_ENCRYPTION_KEY", "")
    if spec:
        return spec
    from config.keys import embedded_secret

    return embedded_secret("esign-key-encryption-key", kind="hex32")


@lru_cache(maxsize=4)
def _keyring(spec: str) -> tuple[dict[int, bytes], int]:
    return parse_keyring(spec)


def keyring() -> tuple[dict[int, bytes], int]:
    return _keyring(kek_spec())


def pin_iterations() -> int:
    return int(getattr(settings, "PHIS_ESIGN_PIN_ITERATIONS", DEFAULT_PIN_ITERATIONS))


def pin_material(pin: str, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(hashes.SM3(), 64, bytes(salt), iterations).derive(pin.encode("utf-8"))


def pin_verifier(material: bytes, kek_id: int) -> bytes:
    keys, _ = keyring()
    mac = hmac.HMAC(keys[kek_id], hashes.SM3())
    mac.update(b"phis-esign-pin-verifier\x00" + material[:32])
    return mac.finalize()


def pin_matches(material: bytes, kek_id: int, verifier: bytes) -> bool:
    return std_hmac.compare_digest(pin_verifier(material, kek_id), bytes(verifier))


def _provider(material: bytes | None) -> CryptoProvider:
    keys, current = keyring()
    derived = {}
    for kid, kek in keys.items():
        info = b"phis-esign-key-wrap/pin" if material else b"phis-esign-key-wrap/ca"
        derived[kid] = HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(
            kek + (material[32:] if material else b""))
    name = getattr(settings, "PHIS_CRYPTO_PROVIDER", "sm4")
    return PROVIDERS.get(name, PROVIDERS["sm4"])(derived, current)


def wrap_private_key(pkcs8_der: bytes, *, fingerprint: str, material: bytes | None) -> bytes:
    return _provider(material).encrypt(bytes(pkcs8_der),
                                       associated_data=b"esign:" + fingerprint.encode())


def unwrap_private_key(blob: bytes, *, fingerprint: str, material: bytes | None) -> bytes:
    return _provider(material).decrypt(bytes(blob),
                                       associated_data=b"esign:" + fingerprint.encode())
