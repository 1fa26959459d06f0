"""Keys for the embedded default.

Production supplies every key through the environment (docs/operations.md). On the embedded
default a key missing from the environment is generated once per checkout and kept in
``var/keys/`` (mode 0600) so restarts keep decrypting what was stored. With
``PHIS_REQUIRE_ENV_KEYS=true`` (set in production) a missing key is an error instead.
"""

import os
import secrets
from pathlib import Path

from config.env import BASE_DIR, env


def embedded_secret(name: str, kind: str = "token") -> str:
    if env.bool("PHIS_REQUIRE_ENV_KEYS", default=False):
        raise RuntimeError(
            f"PHIS_REQUIRE_ENV_KEYS is set but key {name!r} is not in the environment "
            "(see docs/operations.md, 'Keys')."
        )
    key_dir = Path(env("PHIS_VAR_DIR", default=str(BASE_DIR / "var"))) / "keys"
    path = key_dir / name
    if path.exists():
        return path.read_text()
    key_dir.mkdir(parents=True, exist_ok=True)
    value = _generate(kind)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    os.replace(tmp, path)  # atomic: two processes starting together agree on one key
    return path.read_text()


def _generate(kind: str) -> str:
    if kind == "hex32":
        return secrets.token_hex(32)
    if kind == "rsa":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    return secrets.token_urlsafe(50)
