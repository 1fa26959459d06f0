"""The two signature profiles behind one small interface.

* ``sm2``: SM2 with SM3 (GB/T 32918 / GB/T 32905), distinguishing ID ``1234567812345678``,
  through the system libcrypto (:mod:`.sm2`).
* ``ecdsa``: ECDSA on P-256 with SHA-256, through ``cryptography``.

Private keys are PKCS#8 DER, public keys SubjectPublicKeyInfo DER. Signatures are DER
``SEQUENCE {r, s}`` over the *message* (the hash is part of the algorithm), exactly what
``openssl dgst -sm3|-sha256 -sign`` makes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import keys as asn1_keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from phis.apps.esign.crypto import sm2

SM2 = "sm2"
ECDSA = "ecdsa"
PROFILES = (SM2, ECDSA)

OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2"
OID_P256 = "1.2.840.10045.3.1.7"


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    signature_oid: str
    signature_name: str
    digest: str  # hashlib name
    digest_oid: str
    curve_oid: str
    openssl_digest: str


PROFILE_INFO = {
    SM2: ProfileInfo(SM2, sm2.OID_SM2_WITH_SM3, "SM2-with-SM3", "sm3", sm2.OID_SM3,
                     sm2.OID_SM2_CURVE, "-sm3"),
    ECDSA: ProfileInfo(ECDSA, OID_ECDSA_SHA256, "ECDSA-with-SHA256", "sha256",
                       "2.16.840.1.101.3.4.2.1", OID_P256, "-sha256"),
}


class SignatureKeyError(ValueError):
    pass


def digest(profile: str, data: bytes) -> bytes:
    return hashlib.new(PROFILE_INFO[profile].digest, data).digest()


@lru_cache(maxsize=4096)
def profile_of_public_key(spki_der: bytes) -> str:
    info = asn1_keys.PublicKeyInfo.load(bytes(spki_der))
    params = info["algorithm"]["parameters"]
    curve = params.chosen.dotted if params.name == "named" else ""
    if curve == sm2.OID_SM2_CURVE:
        return SM2
    if curve == OID_P256:
        return ECDSA
    raise SignatureKeyError(f"unsupported public key (curve {curve or 'unknown'})")


def profile_of_signature_oid(oid: str) -> str:
    for name, info in PROFILE_INFO.items():
        if info.signature_oid == oid:
            return name
    raise SignatureKeyError(f"unsupported signature algorithm {oid}")


class PrivateKey:
    """A loaded private key of either profile."""

    def __init__(self, profile: str, pkcs8_der: bytes) -> None:
        self.profile = profile
        if profile == SM2:
            self._key = sm2.Sm2PrivateKey.from_pkcs8(pkcs8_der)
        elif profile == ECDSA:
            key = serialization.load_der_private_key(bytes(pkcs8_der), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise SignatureKeyError("the ECDSA profile needs a P-256 key")
            self._key = key
        else:
            raise SignatureKeyError(f"unknown profile {profile!r}")

    @classmethod
    def generate(cls, profile: str) -> PrivateKey:
        if profile == SM2:
            der = sm2.Sm2PrivateKey.generate().pkcs8_der()
        else:
            der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption())
        return cls(profile, der)

    def pkcs8_der(self) -> bytes:
        if self.profile == SM2:
            return self._key.pkcs8_der()
        return self._key.private_bytes(serialization.Encoding.DER,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())

    def public_der(self) -> bytes:
        if self.profile == SM2:
            return self._key.public_der()
        return self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, message: bytes, *, distid: bytes = sm2.DEFAULT_DISTID) -> bytes:
        if self.profile == SM2:
            return self._key.sign(bytes(message), distid=distid)
        return self._key.sign(bytes(message), ec.ECDSA(hashes.SHA256()))

    @property
    def crypto_key(self):
        """The ``cryptography`` key object (ECDSA only; for pyHanko and CMS)."""
        if self.profile != ECDSA:
            raise SignatureKeyError("no cryptography key for SM2")
        return self._key


@lru_cache(maxsize=4096)
def _public_key(spki_der: bytes):
    """Parsed public keys, cached: OpenSSL 3's DER decoders cost more than an SM2
    verification (certificates and signer keys repeat)."""
    if profile_of_public_key(spki_der) == SM2:
        return sm2.Sm2PublicKey.from_der(spki_der)
    return serialization.load_der_public_key(spki_der)


def verify(spki_der: bytes, signature: bytes, message: bytes, *,
           distid: bytes = sm2.DEFAULT_DISTID) -> bool:
    """True when ``signature`` is a valid signature of ``message`` under the public key;
    the profile follows from the key's curve."""
    spki_der = bytes(spki_der)
    profile = profile_of_public_key(spki_der)
    if profile == SM2:
        try:
            return _public_key(spki_der).verify(bytes(signature), bytes(message), distid=distid)
        except sm2.Sm2Error:
            return False
    key = _public_key(spki_der)
    try:
        key.verify(bytes(signature), bytes(message), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True
