"""Django-facing helpers: the configured provider and blind-index key."""

from __future__ import annotations

from django.conf import settings

from phis.core.crypto.blind_index import blind_index
from phis.core.crypto.providers import CryptoProvider, build_provider


def field_provider() -> CryptoProvider:
    return build_provider(settings.PHIS_CRYPTO_PROVIDER, settings.PHIS_FIELD_KEY)


def encrypt_text(value: str, *, purpose: str) -> bytes:
    return field_provider().encrypt(value.encode(), associated_data=purpose.encode())


def decrypt_text(blob: bytes | memoryview | None, *, purpose: str) -> str:
    if blob is None:
        return ""
    return field_provider().decrypt(bytes(blob), associated_data=purpose.encode()).decode()


def index_value(domain: str, value: str) -> str:
    return blind_index(bytes.fromhex(settings.PHIS_BLIND_INDEX_KEY), domain, value)
