"""Outbreak tests reuse the card fixtures (code systems, two-county tree, users)."""

from phis.apps.notifiable.tests.conftest import (  # noqa: F401  (fixtures)
    _fast_pin_kdf,
    card_env,
)
