"""Outbreak tests reuse the card fixtures (code systems, two-county tree, users)."""

from phis.apps.notifiable.tests.conftest import (  # noqa: F401  (fixtures)
    _codes_loaded_once,
    _fast_pin_kdf,
    card_env,
    codes,
)
