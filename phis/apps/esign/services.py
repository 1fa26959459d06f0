"""B4 electronic signature services: the platform CA, PIN-protected signing, trusted
time-stamps and verification. Every signing and verification writes an audit row.

Public services other modules call (docs/modules/esign.md, "For other modules"):

* :func:`sign_step` ``(*, user, pin=None, subject, payload, step="", reason="",
  unlocked=None) -> Signature`` — sign one workflow step over the canonical JSON of
  ``payload``.
* :func:`signer_unlock` ``(*, user, pin, ...) -> UnlockedKey`` — check the PIN *before* a
  caller opens its own transaction (the wrong-PIN counter must commit), then pass
  ``unlocked=`` to :func:`sign_step` inside it.
* :func:`signatures_for` ``(subject)`` and :func:`signatures_with_status`
  ``(subject, *, payload=None, user=None)`` — what a record's page shows.
* :func:`register_payload_builder` ``(subject_type, fn)`` — lets verification recompute a
  record's current canonical JSON, so a changed record fails the digest check.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import logging
import os
import secrets
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from phis.apps.esign import keystore
from phis.apps.esign.crypto import cms as cms_mod
from phis.apps.esign.crypto import x509 as x509_mod
from phis.apps.esign.crypto.canonical import VERSION as CANONICAL_VERSION
from phis.apps.esign.crypto.canonical import CanonicalJSONError, canonical_json
from phis.apps.esign.crypto.keys import ECDSA, PROFILE_INFO, SM2, PrivateKey
from phis.apps.esign.crypto.keys import verify as key_verify
from phis.apps.esign.crypto.sm2 import DEFAULT_DISTID
from phis.apps.esign.models import (
    Certificate,
    CertKind,
    CrlIssue,
    PinState,
    Profile,
    RevocationReason,
    Signature,
    SignatureKind,
    SigningKey,
)
from phis.apps.esign.permissions import EsignPerm
from phis.apps.esign.selectors import (
    ca_certificate,
    certificate_active_for_org,
    certificate_active_for_user,
    certificate_by_fingerprint,
    certificates_by_subject_hash,
    chain_of,
    crl_latest,
    revoked_by_issuer,
    signature_by_value_hash,
    signatures_for,
    subject_key,
)
from phis.core.audit.services import audit_record
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import (
    ApplicationError,
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from phis.core.orgunits.scoping import unit_in_scope

__all__ = [
    "UnlockedKey", "VerificationResult", "ca_ensure", "certificate_import",
    "certificate_issue", "certificate_renew", "certificate_revoke", "chain_pem", "crl_issue",
    "esign_demo_setup", "pdf_sign", "pdf_verify", "register_payload_builder", "sign_file",
    "sign_step", "signature_verify", "signatures_for", "signatures_with_status",
    "signer_pin_change", "signer_unlock", "timestamp_obtain", "tsa_reply", "verify_detached",
]

log = logging.getLogger(__name__)

DEMO_SIGN_PIN = "246810"


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- errors -------------------------------------------------------------------------------

class PinWrong(ApplicationError):
    def __init__(self, remaining: int) -> None:
        super().__init__(code="wrong_pin", message=f"签名PIN错误，还可尝试{remaining}次",
                         message_en=f"Wrong signing PIN; {remaining} attempts left",
                         status=403)


class PinLocked(ApplicationError):
    def __init__(self, until: dt.datetime) -> None:
        local = timezone.localtime(until).strftime("%H:%M")
        super().__init__(code="pin_locked",
                         message=f"PIN错误次数过多，签名已锁定至{local}",
                         message_en=f"Too many wrong PINs; signing is locked until {local}",
                         status=429)


class NoCertificate(ApplicationError):
    def __init__(self) -> None:
        super().__init__(code="no_certificate", message="没有可用的签名证书，请先申领证书",
                         message_en="No valid signing certificate; enrol for one first",
                         status=409)


def _pin_policy(pin: str, field_name: str = "pin") -> None:
    if not isinstance(pin, str) or not 6 <= len(pin) <= 32 or pin.strip() != pin:
        raise ValidationFailed([FieldError(field_name, "pin_policy", "PIN应为6-32位",
                                           "The PIN must have 6 to 32 characters")])


# --- CA -----------------------------------------------------------------------------------

_PLACE = {"country_name": "CN", "state_or_province_name": "山东省", "locality_name": "东营市"}
_CA_NAMES = {
    (SM2, CertKind.ROOT): "PHIS 东营公卫根CA (SM2)",
    (SM2, CertKind.ISSUING): "PHIS 东营公卫签发CA (SM2)",
    (ECDSA, CertKind.ROOT): "PHIS Dongying Root CA (ECDSA P-256)",
    (ECDSA, CertKind.ISSUING): "PHIS Dongying Issuing CA (ECDSA P-256)",
    (ECDSA, CertKind.TSA): "PHIS 东营公卫时间戳服务 TSA",
}
_CA_ORG = "东营市卫生健康委员会"
_CA_DAYS = {CertKind.ROOT: 20 * 365, CertKind.ISSUING: 10 * 365, CertKind.TSA: 5 * 365}

_CA_KEYS: dict[str, PrivateKey] = {}


def _crl_url(profile: str) -> str:
    base = _setting("PHIS_ESIGN_CRL_BASE_URL", "")
    return f"{base.rstrip('/')}/{profile}.crl" if base else ""


def _lock_ca() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [0x45_5349_474E])  # "ESIGN"


def _store_certificate(der: bytes, *, kind: str, profile: str, issuer_cert: Certificate | None,
                       user=None, org_unit=None, created_by=None, trust_anchor: bool = False,
                       external: bool = False) -> Certificate:
    info = x509_mod.parse_certificate(der)
    cert = asn1_x509.Certificate.load(info.der)
    return Certificate.objects.create(
        kind=kind, profile=profile, serial_hex=f"{info.serial:x}",
        subject_dn=info.subject[:500], issuer_dn=info.issuer[:500],
        subject_hash=hashlib.sha256(cert.subject.dump()).hexdigest(),
        issuer_hash=hashlib.sha256(cert.issuer.dump()).hexdigest(),
        fingerprint=info.fingerprint, der=info.der, not_before=info.not_before,
        not_after=info.not_after, issuer_cert=issuer_cert, user=user, org_unit=org_unit,
        is_trust_anchor=trust_anchor, is_external=external,
        created_by=created_by if getattr(created_by, "pk", None) else None)


def _new_ca_cert(profile: str, kind: str, issuer: Certificate | None,
                 now: dt.datetime) -> Certificate:
    key = PrivateKey.generate(profile)
    subject = x509_mod.build_name({**_PLACE, "organization_name": _CA_ORG,
                                   "common_name": _CA_NAMES[(profile, kind)]})
    issuer_key = key if issuer is None else _ca_key(issuer)
    der = x509_mod.build_certificate(
        subject=subject, subject_public_key_der=key.public_der(),
        issuer_cert_der=bytes(issuer.der) if issuer else None, issuer_key=issuer_key,
        kind=kind, not_before=now - dt.timedelta(minutes=5),
        not_after=now + dt.timedelta(days=_CA_DAYS[kind]),
        path_length=1 if kind == CertKind.ROOT else 0,
        crl_url=_crl_url(profile) if kind == CertKind.TSA else "")
    cert = _store_certificate(der, kind=kind, profile=profile, issuer_cert=issuer,
                              trust_anchor=kind == CertKind.ROOT)
    SigningKey.objects.create(certificate=cert, encrypted_key=keystore.wrap_private_key(
        key.pkcs8_der(), fingerprint=cert.fingerprint, material=None))
    _CA_KEYS[cert.fingerprint] = key
    return cert


def _ca_key(cert: Certificate) -> PrivateKey:
    key = _CA_KEYS.get(cert.fingerprint)
    if key is None:
        blob = SigningKey.objects.get(certificate=cert, pin_owner="").encrypted_key
        key = PrivateKey(cert.profile, keystore.unwrap_private_key(
            blob, fingerprint=cert.fingerprint, material=None))
        _CA_KEYS[cert.fingerprint] = key
    return key


@dataclass(frozen=True)
class CaSet:
    root: Certificate
    issuing: Certificate


@transaction.atomic
def ca_ensure(*, now: dt.datetime | None = None) -> dict[str, CaSet]:
    """Create what is missing of the platform PKI: per profile a root (20 years) and an
    issuing CA (10 years), and the ECDSA time-stamping authority. Idempotent."""
    _lock_ca()
    now = now or timezone.now()
    result = {}
    for profile in (SM2, ECDSA):
        root = ca_certificate(profile=profile, kind=CertKind.ROOT) or \
            _new_ca_cert(profile, CertKind.ROOT, None, now)
        issuing = ca_certificate(profile=profile, kind=CertKind.ISSUING)
        if issuing is None or issuing.issuer_cert_id != root.pk:
            issuing = _new_ca_cert(profile, CertKind.ISSUING, root, now)
        result[profile] = CaSet(root=root, issuing=issuing)
    if ca_certificate(profile=ECDSA, kind=CertKind.TSA) is None:
        _new_ca_cert(ECDSA, CertKind.TSA, result[ECDSA].issuing, now)
    return result


def chain_pem(profile: str = "") -> bytes:
    """PEM of the platform CA certificates (issuing CA, then root) of one profile or of
    both, plus the TSA certificate's issuer chain."""
    cas = ca_ensure()
    out = b""
    for name in ([profile] if profile else [SM2, ECDSA]):
        out += x509_mod.to_pem(bytes(cas[name].issuing.der))
        out += x509_mod.to_pem(bytes(cas[name].root.der))
    return out


# --- PIN state ------------------------------------------------------------------------------

def _owner_of(*, user=None, org_unit=None) -> str:
    return f"user:{user.pk}" if user is not None else f"org:{org_unit.code}"


def _pin_state_set(owner: str, pin: str) -> tuple[PinState, bytes]:
    _, kek_id = keystore.keyring()
    salt = os.urandom(16)
    iterations = keystore.pin_iterations()
    material = keystore.pin_material(pin, salt, iterations)
    state, _ = PinState.objects.update_or_create(owner=owner, defaults={
        "salt": salt, "iterations": iterations, "kek_id": kek_id,
        "verifier": keystore.pin_verifier(material, kek_id), "failures": 0,
        "first_failure_at": None, "locked_until": None, "changed_at": timezone.now()})
    return state, material


def _pin_check(owner: str, pin: str) -> bytes:
    """PIN material for ``owner`` or PinWrong/PinLocked, under the lockout policy. Runs in
    its own durable transaction so a wrong PIN is counted even when the caller's work is
    rolled back; callers inside ``transaction.atomic`` must call :func:`signer_unlock`
    first."""
    if any(not getattr(b, "_from_testcase", False)
           for b in transaction.get_connection().atomic_blocks):
        raise RuntimeError("esign: check the PIN (signer_unlock) before opening a "
                           "transaction, then pass unlocked= to sign_step")
    max_failures = int(_setting("PHIS_ESIGN_PIN_MAX_FAILURES", 5))
    window = dt.timedelta(minutes=int(_setting("PHIS_ESIGN_PIN_LOCK_MINUTES", 30)))
    error: ApplicationError | None = None
    material = b""
    with transaction.atomic(durable=True):
        state = PinState.objects.select_for_update().filter(owner=owner).first()
        if state is None:
            raise NoCertificate()
        now = timezone.now()
        if state.locked_until and state.locked_until > now:
            error = PinLocked(state.locked_until)
            outcome = "pin_locked"
        else:
            material = keystore.pin_material(pin or "", bytes(state.salt), state.iterations)
            if keystore.pin_matches(material, state.kek_id, bytes(state.verifier)):
                if state.failures:
                    state.failures, state.first_failure_at, state.locked_until = 0, None, None
                    state.save(update_fields=["failures", "first_failure_at", "locked_until"])
                return material
            if not state.first_failure_at or now - state.first_failure_at > window:
                state.failures, state.first_failure_at = 0, now
            state.failures += 1
            if state.failures >= max_failures:
                state.locked_until = now + window
                error = PinLocked(state.locked_until)
                outcome = "pin_locked"
            else:
                error = PinWrong(max_failures - state.failures)
                outcome = "wrong_pin"
            state.save(update_fields=["failures", "first_failure_at", "locked_until"])
        audit_record(event=AuditEventType.RECORD_SIGNED, object_type="esign.pin",
                     object_id=owner, outcome=outcome,
                     detail={"failures": state.failures, "locked_until": state.locked_until})
    raise error


def pin_unlock_owner(*, by, owner: str) -> None:
    """A CA administrator lifts a PIN lockout early (audited)."""
    if by is not None and not by.has_phis_perm(EsignPerm.MANAGE_CA):
        raise PermissionDenied()
    with transaction.atomic():
        PinState.objects.filter(owner=owner).update(failures=0, first_failure_at=None,
                                                    locked_until=None)
        audit_record(event=AuditEventType.ACCOUNT_UNLOCKED, object_type="esign.pin",
                     object_id=owner)


# --- certificates -----------------------------------------------------------------------------

def _person_subject(user) -> asn1_x509.Name:
    org = user.org_unit.name if getattr(user, "org_unit_id", None) else "东营市"
    attrs = {**_PLACE, "organization_name": org[:64]}
    if user.role:
        attrs["organizational_unit_name"] = str(user.get_role_display())[:64]
    attrs["common_name"] = (user.full_name or user.username)[:64]
    attrs["user_id"] = user.username[:64]
    return x509_mod.build_name(attrs)


def _institution_subject(org_unit) -> asn1_x509.Name:
    return x509_mod.build_name({**_PLACE, "organization_name": org_unit.name[:64],
                                "common_name": org_unit.name[:64],
                                "serial_number": org_unit.code})


def _check_issue_rights(by, user, org_unit) -> None:
    if by is None:  # the CLI operator / system (demo set-up)
        return
    if by.has_phis_perm(EsignPerm.MANAGE_CA):
        return
    if user is not None and user.pk == by.pk and by.has_phis_perm(EsignPerm.ENROL):
        return
    raise PermissionDenied()


def certificate_issue(*, by, profile: str, pin: str, user=None, org_unit=None,
                      days: int | None = None, replace_pin: bool = False,
                      now: dt.datetime | None = None) -> Certificate:
    """A new key pair and certificate for a person (``user``) or an institution seal
    (``org_unit``), signed by the profile's issuing CA. The private key is stored encrypted
    under the KEK and the holder's PIN. A holder who already has a PIN must give it (all
    their keys share one PIN), unless ``replace_pin`` (CA administrators only), which
    revokes the holder's other certificates as superseded."""
    if (user is None) == (org_unit is None):
        raise ValueError("give user or org_unit")
    if profile not in Profile.values:
        raise ValidationFailed([FieldError("profile", "invalid_choice", "算法无效",
                                           "Unknown profile")])
    _pin_policy(pin)
    _check_issue_rights(by, user, org_unit)
    if replace_pin and by is not None and not by.has_phis_perm(EsignPerm.MANAGE_CA):
        raise PermissionDenied()
    owner = _owner_of(user=user, org_unit=org_unit)
    material = None
    if not replace_pin and PinState.objects.filter(owner=owner).exists():
        material = _pin_check(owner, pin)
    now = now or timezone.now()
    cas = ca_ensure(now=now)
    issuing = cas[profile].issuing
    key = PrivateKey.generate(profile)
    kind = CertKind.PERSON if user is not None else CertKind.INSTITUTION
    days = days or int(_setting("PHIS_ESIGN_CERT_DAYS", 730))
    with transaction.atomic():
        if material is None:
            if replace_pin:
                for old in Certificate.objects.filter(
                        signing_key__pin_owner=owner, revoked_at__isnull=True):
                    _revoke(old, RevocationReason.SUPERSEDED, now)
            _state, material = _pin_state_set(owner, pin)
        der = x509_mod.build_certificate(
            subject=_person_subject(user) if user is not None else _institution_subject(
                org_unit),
            subject_public_key_der=key.public_der(), issuer_cert_der=bytes(issuing.der),
            issuer_key=_ca_key(issuing), kind=kind, not_before=now - dt.timedelta(minutes=5),
            not_after=min(now + dt.timedelta(days=days), issuing.not_after),
            crl_url=_crl_url(profile))
        cert = _store_certificate(der, kind=kind, profile=profile, issuer_cert=issuing,
                                  user=user, org_unit=org_unit, created_by=by)
        SigningKey.objects.create(
            certificate=cert, pin_owner=owner,
            encrypted_key=keystore.wrap_private_key(key.pkcs8_der(),
                                                    fingerprint=cert.fingerprint,
                                                    material=material))
    return cert


def _revoke(cert: Certificate, reason: str, when: dt.datetime) -> None:
    cert.revoked_at = when
    cert.revocation_reason = reason
    cert.save(update_fields=["revoked_at", "revocation_reason"])
    # The signature-creation data of a revoked certificate is destroyed (Art. 13).
    SigningKey.objects.filter(certificate=cert).exclude(pin_owner="").delete()


def certificate_revoke(*, by, certificate: Certificate, reason: str = "unspecified",
                       now: dt.datetime | None = None) -> Certificate:
    if reason not in RevocationReason.values:
        raise ValidationFailed([FieldError("reason", "invalid_choice", "吊销原因无效",
                                           "Unknown revocation reason")])
    if by is not None and not by.has_phis_perm(EsignPerm.MANAGE_CA) and \
            certificate.user_id != by.pk:
        raise PermissionDenied()
    if certificate.revoked_at:
        raise Conflict("证书已吊销", "The certificate is already revoked", code="revoked")
    with transaction.atomic():
        _revoke(certificate, reason, now or timezone.now())
    return certificate


def certificate_renew(*, by, certificate: Certificate, pin: str,
                      now: dt.datetime | None = None) -> Certificate:
    """A new key pair and certificate with the same holder and profile; the old one is
    revoked as *superseded* (signatures made before stay valid)."""
    if certificate.kind not in (CertKind.PERSON, CertKind.INSTITUTION):
        raise Conflict("只能更新个人或机构证书", "Only person and institution certificates "
                       "can be renewed", code="not_renewable")
    new = certificate_issue(by=by, profile=certificate.profile, pin=pin,
                            user=certificate.user, org_unit=certificate.org_unit, now=now)
    with transaction.atomic():
        if not certificate.revoked_at:
            _revoke(certificate, RevocationReason.SUPERSEDED, timezone.now())
        certificate.superseded_by = new
        certificate.save(update_fields=["superseded_by"])
    return new


def certificate_import(*, by, data: bytes, trust_anchor: bool = False,
                       user=None) -> Certificate:
    """Import a certificate from an external CA (PEM or DER): a CA certificate (``trust_anchor``
    for its self-signed root) or a person's certificate whose key lives in a UKey."""
    if by is not None and not by.has_phis_perm(EsignPerm.MANAGE_CA):
        raise PermissionDenied()
    try:
        info = x509_mod.parse_certificate(data)
        from phis.apps.esign.crypto.keys import profile_of_public_key

        profile = profile_of_public_key(info.public_key_der)
    except Exception as exc:
        raise ValidationFailed([FieldError("certificate", "invalid", "证书无法解析或算法不支持",
                                           f"Unreadable or unsupported certificate: {exc}")]
                               ) from None
    existing = certificate_by_fingerprint(info.fingerprint)
    if existing is not None:
        return existing
    self_signed = info.subject_der == info.issuer_der
    if trust_anchor and not (self_signed and info.is_ca and x509_mod.certificate_signed_by(
            info.der, info.public_key_der)):
        raise ValidationFailed([FieldError("trust_anchor", "not_root", "信任锚必须是自签名CA证书",
                                           "A trust anchor must be a self-signed CA")])
    issuer = None
    for candidate in certificates_by_subject_hash(hashlib.sha256(info.issuer_der).hexdigest()):
        if x509_mod.certificate_signed_by(info.der, x509_mod.parse_certificate(
                bytes(candidate.der)).public_key_der):
            issuer = candidate
            break
    with transaction.atomic():
        return _store_certificate(
            info.der, kind=CertKind.EXTERNAL_CA if info.is_ca else CertKind.EXTERNAL,
            profile=profile, issuer_cert=None if self_signed else issuer, user=user,
            created_by=by, trust_anchor=trust_anchor, external=True)


def crl_issue(*, profile: str, now: dt.datetime | None = None) -> CrlIssue:
    """A fresh CRL of the profile's issuing CA (valid 7 days)."""
    now = now or timezone.now()
    issuing = ca_ensure(now=now)[profile].issuing
    with transaction.atomic():
        _lock_ca()
        last = crl_latest(issuing)
        number = (last.number + 1) if last else 1
        revoked = [(c.serial, c.revoked_at, c.revocation_reason)
                   for c in revoked_by_issuer(issuing)]
        der = x509_mod.build_crl(issuer_cert_der=bytes(issuing.der),
                                 issuer_key=_ca_key(issuing), revoked=revoked,
                                 this_update=now, next_update=now + dt.timedelta(days=7),
                                 number=number)
        return CrlIssue.objects.create(issuer=issuing, number=number, this_update=now,
                                       next_update=now + dt.timedelta(days=7), der=der)


# --- time-stamps (RFC 3161) --------------------------------------------------

def tsa_reply(request_der: bytes, *, now: dt.datetime | None = None) -> bytes:
    """The platform TSA: a TimeStampResp for a TimeStampReq (ECDSA P-256 TSA key; OpenSSL
    3.0 cannot verify SM2-signed tokens)."""
    ca_ensure()
    tsa = ca_certificate(profile=ECDSA, kind=CertKind.TSA)
    return cms_mod.tsa_respond(request_der, tsa_cert_der=bytes(tsa.der), tsa_key=_ca_key(tsa),
                               chain_der=[bytes(tsa.issuer_cert.der)],
                               now=now or timezone.now())


def _http_post(url: str, body: bytes, timeout: float) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise ValueError("TSA URL must be http(s)")
    req = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - checked above
                                 headers={"Content-Type": "application/timestamp-query"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
        return resp.read()


def timestamp_obtain(data: bytes, *, digest: str = "sha256") -> bytes:
    """A checked TimeStampResp over ``data`` from the configured TSA: ``PHIS_ESIGN_TSA_URL``
    (an external RFC 3161 service; its root must be imported as a trust anchor) or the
    platform TSA in-process."""
    nonce = secrets.randbits(63)
    request = cms_mod.timestamp_request(data, digest=digest, nonce=nonce)
    url = _setting("PHIS_ESIGN_TSA_URL", "") or os.environ.get("PHIS_ESIGN_TSA_URL", "")
    if url:
        response = _http_post(url, request, float(_setting("PHIS_ESIGN_TSA_TIMEOUT", 10)))
    else:
        response = tsa_reply(request)
    token = cms_mod.timestamp_token_of(response)
    info = cms_mod.timestamp_check(token, data=data)
    if info.nonce != nonce:
        raise cms_mod.TimestampError("TSA nonce mismatch")
    return response


# --- signing ----------------------------------------------------------------------

@dataclass
class UnlockedKey:
    """A private key opened with the holder's PIN, for one short signing act. Lives only in
    memory; never serialised or returned by an API."""

    user_id: int
    certificate: Certificate
    key: PrivateKey = field(repr=False)
    expires: float = 0.0

    def usable(self) -> bool:
        return time.monotonic() < self.expires


def signer_unlock(*, user, pin: str, profile: str = "", certificate: Certificate | None = None,
                  seal_org=None) -> UnlockedKey:
    """Check the PIN (5 wrong → locked 30 min) and open the signer's private key: the user's
    own current certificate (of ``profile`` if given, else the default profile first), or
    the institution seal of ``seal_org`` (needs ``esign.use_seal`` and the unit in scope)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise PermissionDenied()
    if certificate is None:
        if seal_org is not None:
            if not user.has_phis_perm(EsignPerm.USE_SEAL) or not unit_in_scope(
                    user, seal_org.path):
                raise PermissionDenied()
            certificate = certificate_active_for_org(org_unit=seal_org, profile=profile)
        else:
            if not user.has_phis_perm(EsignPerm.SIGN):
                raise PermissionDenied()
            default = _setting("PHIS_ESIGN_DEFAULT_PROFILE", SM2)
            certificate = certificate_active_for_user(user=user, profile=profile or default) \
                or (None if profile else certificate_active_for_user(user=user))
    if certificate is None or certificate.status != "active":
        raise NoCertificate()
    if certificate.kind == CertKind.PERSON and certificate.user_id != user.pk:
        raise PermissionDenied()
    signing_key = SigningKey.objects.filter(certificate=certificate).first()
    if signing_key is None or not signing_key.pin_owner:
        raise NoCertificate()
    material = _pin_check(signing_key.pin_owner, pin)
    der = keystore.unwrap_private_key(bytes(signing_key.encrypted_key),
                                      fingerprint=certificate.fingerprint, material=material)
    ttl = float(_setting("PHIS_ESIGN_UNLOCK_SECONDS", 120))
    return UnlockedKey(user_id=user.pk, certificate=certificate,
                       key=PrivateKey(certificate.profile, der),
                       expires=time.monotonic() + ttl)


def signer_pin_change(*, user, old_pin: str, new_pin: str, seal_org=None) -> None:
    """Change the signing PIN: every key of the holder is re-wrapped."""
    _pin_policy(new_pin, "new_pin")
    owner = _owner_of(user=user) if seal_org is None else _owner_of(org_unit=seal_org)
    if seal_org is not None and not user.has_phis_perm(EsignPerm.USE_SEAL):
        raise PermissionDenied()
    old = _pin_check(owner, old_pin)
    with transaction.atomic():
        keys = list(SigningKey.objects.select_related("certificate")
                    .filter(pin_owner=owner).select_for_update())
        plain = [(k, keystore.unwrap_private_key(bytes(k.encrypted_key),
                                                 fingerprint=k.certificate.fingerprint,
                                                 material=old)) for k in keys]
        _state, new = _pin_state_set(owner, new_pin)
        for k, der in plain:
            k.encrypted_key = keystore.wrap_private_key(der, fingerprint=k.certificate.fingerprint,
                                                        material=new)
            k.save(update_fields=["encrypted_key"])
        audit_record(event=AuditEventType.PASSWORD_CHANGED, object_type="esign.pin",
                     object_id=owner)


def _require_timestamp() -> bool:
    return bool(_setting("PHIS_ESIGN_REQUIRE_TIMESTAMP", True))


def _sign_content(*, user, unlocked: UnlockedKey, content: bytes, kind: str,
                  subject_type: str = "", subject_id: str = "", step: str = "",
                  reason: str = "", payload_text: str = "", filename: str = "",
                  pdf_done: bool = False, signature_value: bytes | None = None) -> Signature:
    if unlocked.user_id != user.pk or not unlocked.usable():
        raise PermissionDenied("签名会话已失效，请重新输入PIN",
                               "The signing session expired; enter the PIN again")
    cert = Certificate.objects.get(pk=unlocked.certificate.pk)
    if cert.status != "active":
        raise NoCertificate()
    profile = cert.profile
    info = PROFILE_INFO[profile]
    now = timezone.now()
    value = signature_value if signature_value is not None else unlocked.key.sign(content)
    ts_response, ts_time, tsa_name = None, None, ""
    try:
        ts_response = timestamp_obtain(value, digest=info.digest)
        ts_info = cms_mod.timestamp_check(cms_mod.timestamp_token_of(ts_response), data=value)
        ts_time = ts_info.gen_time
        tsa_name = x509_mod.parse_certificate(ts_info.tsa_cert_der).subject[:300]
    except Exception as exc:
        if _require_timestamp():
            raise ApplicationError(code="tsa_unavailable", message="可信时间戳服务不可用",
                                   message_en=f"The time-stamping service failed: {exc}",
                                   status=503) from exc
        log.warning("esign: signing without a time-stamp: %s", exc)
    cms_der = None
    if profile == ECDSA and not pdf_done:
        chain = [bytes(c.der) for c in chain_of(cert)[1:] if not c.is_trust_anchor]
        token = cms_mod.timestamp_token_of(ts_response) if ts_response else None
        cms_der = cms_mod.cms_sign_detached(content=content, cert_der=bytes(cert.der),
                                            chain_der=chain, key=unlocked.key,
                                            signing_time=now, timestamp_token=token)
    with transaction.atomic():
        sig = Signature.objects.create(
            kind=kind, subject_type=subject_type[:100], subject_id=subject_id[:64],
            step=step[:60], reason=reason[:200], signer=user,
            org_unit_id=user.org_unit_id if cert.kind == CertKind.PERSON else cert.org_unit_id,
            certificate=cert, profile=profile, algorithm=info.signature_name,
            distid=DEFAULT_DISTID.decode() if profile == SM2 else "",
            digest_algorithm=info.digest, digest=hashlib.new(info.digest, content).hexdigest(),
            content_size=len(content), canonical_version=CANONICAL_VERSION if payload_text
            else "", payload=payload_text, filename=filename[:255], signature_value=value,
            signature_sha256=hashlib.sha256(value).hexdigest(), cms=cms_der,
            timestamp_response=ts_response, timestamp_time=ts_time, tsa_name=tsa_name,
            signed_at=now)
        audit_record(event=AuditEventType.RECORD_SIGNED,
                     object_type=subject_type or "esign.signature",
                     object_id=subject_id or sig.public_id,
                     detail={"signature": str(sig.public_id), "kind": kind, "step": step,
                             "algorithm": info.signature_name, "digest": sig.digest,
                             "certificate": cert.serial_hex,
                             "timestamp": ts_time.isoformat() if ts_time else None})
    return sig


def _unlocked_for(*, user, pin: str | None, unlocked: UnlockedKey | None,
                  profile: str = "") -> UnlockedKey:
    if unlocked is not None:
        return unlocked
    if pin is None:
        raise ValidationFailed([FieldError("pin", "missing", "请输入签名PIN",
                                           "Enter your signing PIN")])
    return signer_unlock(user=user, pin=pin, profile=profile)


def sign_step(*, user, subject: Any, payload: Any, pin: str | None = None, step: str = "",
              reason: str = "", unlocked: UnlockedKey | None = None,
              profile: str = "") -> Signature:
    """Sign one step of a workflow: the canonical JSON (``phis-jcs/1``) of ``payload``,
    attached to ``subject`` (model instance, ``(type, id)`` or ``"type:id"``), with the
    user's key opened by ``pin`` (or an ``unlocked`` key from :func:`signer_unlock`, which
    callers inside their own transaction must use). Returns the stored Signature."""
    subject_type, subject_id = subject_key(subject)
    try:
        content = canonical_json(payload)
    except CanonicalJSONError as exc:
        raise ValidationFailed([FieldError("payload", "not_canonical", "签名内容无法规范化",
                                           str(exc))]) from None
    key = _unlocked_for(user=user, pin=pin, unlocked=unlocked, profile=profile)
    return _sign_content(user=user, unlocked=key, content=content, kind=SignatureKind.RECORD,
                         subject_type=subject_type, subject_id=subject_id, step=step,
                         reason=reason, payload_text=content.decode("utf-8"))


sign_record = sign_step


def sign_file(*, user, content: bytes, filename: str = "", pin: str | None = None,
              subject: Any = None, step: str = "", reason: str = "",
              unlocked: UnlockedKey | None = None, profile: str = "") -> Signature:
    """A detached signature over the file's bytes (``openssl dgst`` verifies it)."""
    subject_type, subject_id = subject_key(subject) if subject is not None else ("", "")
    key = _unlocked_for(user=user, pin=pin, unlocked=unlocked, profile=profile)
    return _sign_content(user=user, unlocked=key, content=bytes(content),
                         kind=SignatureKind.FILE, subject_type=subject_type,
                         subject_id=subject_id, step=step, reason=reason, filename=filename)


# --- PDF (PAdES, ECDSA profile) --------------------------------------------------

class _PlatformTimeStamper:
    """pyHanko time-stamper that asks the configured TSA. pyHanko calls it from async code,
    so the platform TSA's certificate and key are loaded (from the database) beforehand."""

    @staticmethod
    def build():
        from asn1crypto import tsp
        from pyhanko.sign.timestamps.api import TimeStamper

        url = _setting("PHIS_ESIGN_TSA_URL", "") or os.environ.get("PHIS_ESIGN_TSA_URL", "")
        local = None
        if not url:
            ca_ensure()
            tsa = ca_certificate(profile=ECDSA, kind=CertKind.TSA)
            local = (bytes(tsa.der), _ca_key(tsa), [bytes(tsa.issuer_cert.der)])

        class PlatformTimeStamper(TimeStamper):
            async def async_request_tsa_response(self, req: tsp.TimeStampReq
                                                 ) -> tsp.TimeStampResp:
                if local is None:
                    raw = _http_post(url, req.dump(), 10)
                else:
                    raw = cms_mod.tsa_respond(req.dump(), tsa_cert_der=local[0],
                                              tsa_key=local[1], chain_der=local[2],
                                              now=timezone.now())
                return tsp.TimeStampResp.load(raw)

        return PlatformTimeStamper()


def pdf_sign(*, user, pdf: bytes, pin: str | None = None, subject: Any = None,
             reason: str = "", field_name: str = "", unlocked: UnlockedKey | None = None
             ) -> tuple[bytes, Signature]:
    """Sign a PDF as PAdES B-T with pyHanko (ECDSA profile only: PDF tools do not support
    SM2). Returns the signed PDF and its Signature row (digest = of the original PDF)."""
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = _unlocked_for(user=user, pin=pin, unlocked=unlocked, profile=ECDSA)
    cert = key.certificate
    if cert.profile != ECDSA:
        raise Conflict("PDF签章需要ECDSA证书", "PAdES needs an ECDSA certificate",
                       code="profile_unsupported")
    chain = chain_of(cert)
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(bytes(cert.der)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.key.pkcs8_der()),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(bytes(c.der)) for c in chain[1:]]))
    meta = signers.PdfSignatureMetadata(
        field_name=field_name or f"Sig-{secrets.token_hex(4)}", reason=reason or None,
        subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256")
    out = BytesIO()
    signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(bytes(pdf))), meta, signer=signer,
                     timestamper=_PlatformTimeStamper.build(), output=out)
    signed = out.getvalue()
    subject_type, subject_id = subject_key(subject) if subject is not None else ("", "")
    # The Signature row records who signed which PDF when; the PDF carries the CMS itself.
    from pyhanko.pdf_utils.reader import PdfFileReader

    embedded = PdfFileReader(BytesIO(signed)).embedded_signatures[-1]
    value = embedded.signer_info["signature"].native
    sig = _sign_content(user=user, unlocked=key, content=bytes(pdf), kind=SignatureKind.PDF,
                        subject_type=subject_type, subject_id=subject_id, reason=reason,
                        filename=meta.field_name, pdf_done=True, signature_value=value)
    return signed, sig


def pdf_verify(*, pdf: bytes, by=None) -> list[dict]:
    """Validate every signature in a PDF with pyHanko against the platform's trust anchors
    and CRLs; one dict per signature (``intact``, ``valid``, ``trusted``, ``timestamp``…)."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    anchors = [asn1_x509.Certificate.load(bytes(c.der))
               for c in Certificate.objects.filter(is_trust_anchor=True, profile=ECDSA)]
    crls = []
    issuing = ca_certificate(profile=ECDSA, kind=CertKind.ISSUING)
    if issuing is not None:
        from asn1crypto import crl as asn1_crl

        crls.append(asn1_crl.CertificateList.load(bytes(crl_current(profile=ECDSA).der)))
    context = ValidationContext(trust_roots=anchors, crls=crls, allow_fetching=False,
                                revocation_mode="soft-fail")
    results = []
    reader = PdfFileReader(BytesIO(bytes(pdf)))
    for embedded in reader.embedded_signatures:
        status = validate_pdf_signature(embedded, signer_validation_context=context,
                                        ts_validation_context=context)
        results.append({
            "field": embedded.field_name, "intact": bool(status.intact),
            "valid": bool(status.valid), "trusted": bool(status.trusted),
            "bottom_line": bool(status.bottom_line),
            "signer": status.signing_cert.subject.human_friendly,
            "timestamp": status.timestamp_validity.timestamp.isoformat()
            if status.timestamp_validity else None,
            "coverage": str(status.coverage.name) if status.coverage else "",
        })
    audit_record(event=AuditEventType.SIGNATURE_VERIFIED, object_type="esign.pdf",
                 object_id=hashlib.sha256(bytes(pdf)).hexdigest()[:64],
                 outcome="valid" if results and all(r["bottom_line"] for r in results)
                 else "invalid", detail={"signatures": len(results)})
    return results


# --- verification ------------------------------------------------------------

CHECK_ORDER = ("digest", "signature", "timestamp", "chain", "validity", "revocation")
# The API's "label" stays Chinese; pages translate it (``{{ name|check_label }}``).
CHECK_LABELS = {"digest": gettext_noop("摘要"), "signature": gettext_noop("签名值"),
                "timestamp": gettext_noop("可信时间戳"), "chain": gettext_noop("证书链"),
                "validity": gettext_noop("证书有效期"), "revocation": gettext_noop("吊销状态")}


@dataclass
class Check:
    name: str
    ok: bool | None  # None: could not be decided
    message: str
    message_en: str

    def as_dict(self) -> dict:
        return {"name": self.name, "label": CHECK_LABELS.get(self.name, self.name),
                "ok": self.ok, "message": self.message, "message_en": self.message_en}


@dataclass
class VerificationResult:
    status: str  # "valid" | "invalid" | "indeterminate"
    checks: list[Check]
    signature_id: str = ""
    signer: str = ""
    certificate_serial: str = ""
    certificate_subject: str = ""
    algorithm: str = ""
    signed_at: dt.datetime | None = None
    timestamp_time: dt.datetime | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.ok is False]

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def as_dict(self) -> dict:
        return {"status": self.status, "valid": self.valid, "failed": self.failed,
                "checks": [c.as_dict() for c in self.checks],
                "signature_id": self.signature_id, "signer": self.signer,
                "certificate_serial": self.certificate_serial,
                "certificate_subject": self.certificate_subject, "algorithm": self.algorithm,
                "signed_at": self.signed_at, "timestamp_time": self.timestamp_time}


def _status(checks: list[Check]) -> str:
    if any(c.ok is False for c in checks):
        return "invalid"
    if any(c.ok is None for c in checks):
        return "indeterminate"
    return "valid"


def _chain_check(cert: Certificate) -> tuple[bool | None, list[Certificate], str, str]:
    chain = chain_of(cert)
    for child, parent in itertools.pairwise(chain):
        if parent.kind not in (CertKind.ROOT, CertKind.ISSUING, CertKind.EXTERNAL_CA):
            return False, chain, f"{parent.subject_dn} 不是CA", f"{parent.subject_dn} is no CA"
        spki = x509_mod.parse_certificate(bytes(parent.der)).public_key_der
        if not x509_mod.certificate_signed_by(bytes(child.der), spki):
            return False, chain, f"证书 {child.subject_dn} 的签发签名无效", \
                f"The issuer's signature on {child.subject_dn} does not verify"
    top = chain[-1]
    if not top.is_trust_anchor:
        return None, chain, "证书链未到达受信任的根证书", \
            "The chain does not end at a trusted root"
    spki = x509_mod.parse_certificate(bytes(top.der)).public_key_der
    if not x509_mod.certificate_signed_by(bytes(top.der), spki):
        return False, chain, "根证书自签名无效", "The root's self-signature does not verify"
    return True, chain, f"证书链完整（{len(chain)}级）至 {top.subject_dn}", \
        f"Chain of {len(chain)} to trusted root {top.subject_dn}"


def _timestamp_check(ts_response: bytes | None, value: bytes
                     ) -> tuple[bool | None, dt.datetime | None, str, str]:
    if not ts_response:
        return None, None, "无可信时间戳", "No trusted time-stamp"
    try:
        token = cms_mod.timestamp_token_of(bytes(ts_response))
        info = cms_mod.timestamp_check(token, data=bytes(value))
    except Exception as exc:
        return False, None, "时间戳无效", f"Time-stamp invalid: {exc}"
    tsa = certificate_by_fingerprint(hashlib.sha256(info.tsa_cert_der).hexdigest())
    if tsa is None:
        return False, None, "时间戳服务证书未知", "Unknown TSA certificate"
    ok, chain, zh, en = _chain_check(tsa)
    if ok is not True:
        return ok, None, f"时间戳服务证书链: {zh}", f"TSA chain: {en}"
    at = info.gen_time
    for c in chain:
        if not c.not_before <= at <= c.not_after:
            return False, None, "时间戳服务证书在时间戳时间无效", \
                "TSA certificate not valid at genTime"
        if c.revoked_at and c.revoked_at <= at:
            return False, None, "时间戳服务证书已吊销", "TSA certificate revoked"
    local = timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")
    return True, at, f"可信时间 {local}", f"Trusted time {at.isoformat()}"


def _verify_core(*, cert: Certificate, content: bytes | None, stored_digest: str,
                 digest_alg: str, value: bytes, claimed_time: dt.datetime | None,
                 ts_response: bytes | None, distid: bytes = DEFAULT_DISTID,
                 changed_hint: str = "") -> tuple[list[Check], dt.datetime | None]:
    checks: list[Check] = []
    if content is None:
        checks.append(Check("digest", None, "未提供被签内容", "The signed content was not given"))
    elif stored_digest and hashlib.new(digest_alg, content).hexdigest() != stored_digest:
        checks.append(Check("digest", False, "内容已被修改：摘要不一致" + changed_hint,
                            "The content changed since signing: digest mismatch"))
    else:
        checks.append(Check("digest", True, f"{digest_alg.upper()} 摘要一致",
                            f"{digest_alg.upper()} digest matches"))
    spki = x509_mod.parse_certificate(bytes(cert.der)).public_key_der
    if content is None:
        checks.append(Check("signature", None, "未提供被签内容，无法验证签名值",
                            "Content not given; signature value not checked"))
    elif key_verify(spki, value, content, distid=distid):
        checks.append(Check("signature", True, "签名值有效", "Signature value verifies"))
    else:
        checks.append(Check("signature", False, "签名值无效", "Signature value does not verify"))
    ts_ok, ts_time, zh, en = _timestamp_check(ts_response, value)
    checks.append(Check("timestamp", ts_ok, zh, en))
    at = ts_time or claimed_time
    chain_ok, chain, zh, en = _chain_check(cert)
    checks.append(Check("chain", chain_ok, zh, en))
    if at is None:
        at = timezone.now()
        when_zh, when_en = "当前时间", "now"
    else:
        when_zh = "可信时间" if ts_time else "声明的签名时间"
        when_en = "trusted time" if ts_time else "claimed signing time"
    bad = [c for c in chain if not c.not_before <= at <= c.not_after]
    if bad:
        expired = bad[0].not_after < at
        checks.append(Check("validity", False,
                            f"{bad[0].subject_dn} 在{when_zh}{'已过期' if expired else '尚未生效'}",
                            f"{bad[0].subject_dn} was {'expired' if expired else 'not yet valid'}"
                            f" at the {when_en}"))
    else:
        checks.append(Check("validity", True, f"签名时所有证书均在有效期内（{when_zh}）",
                            f"All certificates valid at the {when_en}"))
    revoked = [c for c in chain if c.revoked_at and c.revoked_at <= at]
    later = [c for c in chain if c.revoked_at and c.revoked_at > at]
    if revoked:
        checks.append(Check("revocation", False,
                            f"{revoked[0].subject_dn} 已于签名前吊销",
                            f"{revoked[0].subject_dn} was revoked before signing"))
    elif any(c.is_external and not c.is_trust_anchor for c in chain):
        checks.append(Check("revocation", None, "外部证书的吊销状态未知",
                            "Revocation of an external certificate is unknown"))
    elif later:
        checks.append(Check("revocation", True, "签名时未吊销（此后已吊销）",
                            "Not revoked at signing time (revoked later)"))
    else:
        checks.append(Check("revocation", True, "未吊销", "Not revoked"))
    return checks, ts_time


_PAYLOAD_BUILDERS: dict[str, Callable[[str], Any]] = {}


def register_payload_builder(subject_type: str, builder: Callable[[str], Any]) -> None:
    """``builder(subject_id) -> payload`` (the same dict the workflow signed, built from the
    record as it is now). Verification then detects any change of the record."""
    _PAYLOAD_BUILDERS[subject_type] = builder


def _content_for(signature: Signature, payload: Any, content: bytes | None
                 ) -> tuple[bytes | None, str]:
    if signature.kind == SignatureKind.PDF:
        return None, ""  # the CMS lives in the signed PDF: pdf_verify() checks it
    if signature.kind != SignatureKind.RECORD:
        return (bytes(content) if content is not None else None), ""
    if payload is not None:
        return canonical_json(payload), ""
    builder = _PAYLOAD_BUILDERS.get(signature.subject_type)
    if builder is not None:
        try:
            return canonical_json(builder(signature.subject_id)), "（与当前记录比较）"
        except Exception:
            log.exception("esign payload builder failed for %s", signature.subject_type)
    return signature.payload.encode("utf-8"), ""


def signature_verify(*, signature: Signature, content: bytes | None = None,
                     payload: Any = None, by=None, audit: bool = True) -> VerificationResult:
    """Verify a stored signature: digest (of ``content`` / the record's ``payload`` / the
    current record through a registered builder / the signed copy), signature value,
    time-stamp, certificate chain, validity at signing time, revocation."""
    data, hint = _content_for(signature, payload, content)
    checks, ts_time = _verify_core(
        cert=signature.certificate, content=data, stored_digest=signature.digest,
        digest_alg=signature.digest_algorithm, value=bytes(signature.signature_value),
        claimed_time=signature.signed_at, ts_response=signature.timestamp_response,
        distid=signature.distid.encode() if signature.distid else DEFAULT_DISTID,
        changed_hint=hint)
    result = VerificationResult(
        status=_status(checks), checks=checks, signature_id=str(signature.public_id),
        signer=signature.signer.display_name if signature.signer_id else "",
        certificate_serial=signature.certificate.serial_hex,
        certificate_subject=signature.certificate.subject_dn, algorithm=signature.algorithm,
        signed_at=signature.signed_at, timestamp_time=ts_time)
    if audit:
        audit_record(event=AuditEventType.SIGNATURE_VERIFIED,
                     object_type=signature.subject_type or "esign.signature",
                     object_id=signature.subject_id or signature.public_id,
                     outcome=result.status,
                     detail={"signature": str(signature.public_id), "failed": result.failed})
    return result


def verify_detached(*, content: bytes, signature_value: bytes, certificate_data: bytes | None
                    = None, by=None) -> VerificationResult:
    """Verify a raw DER signature over a file (``phis esign verify FILE FILE.sig``): the
    platform finds its own signature by the value; for any other signature give the signer's
    certificate (PEM/DER), which must chain to an imported trust anchor."""
    value = to_der_signature(signature_value)
    stored = signature_by_value_hash(hashlib.sha256(value).hexdigest())
    if stored is not None:
        return signature_verify(signature=stored, content=content, by=by)
    cert = None
    if certificate_data:
        info = x509_mod.parse_certificate(certificate_data)
        cert = certificate_by_fingerprint(info.fingerprint)
        if cert is None:
            from phis.apps.esign.crypto.keys import profile_of_public_key

            cert = Certificate(kind=CertKind.EXTERNAL, der=info.der, subject_dn=info.subject,
                               issuer_dn=info.issuer, fingerprint=info.fingerprint,
                               profile=profile_of_public_key(info.public_key_der),
                               not_before=info.not_before, not_after=info.not_after,
                               serial_hex=f"{info.serial:x}", is_external=True)
            issuer = certificates_by_subject_hash(
                hashlib.sha256(info.issuer_der).hexdigest()).first()
            cert.issuer_cert = issuer
    if cert is None:
        checks = [Check("signature", None, "平台没有此签名的记录，请提供签名人证书",
                        "Unknown signature; give the signer's certificate")]
        result = VerificationResult(status="indeterminate", checks=checks)
    else:
        checks, _ = _verify_core(cert=cert, content=bytes(content), stored_digest="",
                                       digest_alg=PROFILE_INFO[cert.profile].digest,
                                       value=value, claimed_time=None, ts_response=None)
        result = VerificationResult(status=_status(checks), checks=checks,
                                    certificate_serial=cert.serial_hex,
                                    certificate_subject=cert.subject_dn,
                                    algorithm=PROFILE_INFO[cert.profile].signature_name)
    audit_record(event=AuditEventType.SIGNATURE_VERIFIED, object_type="esign.detached",
                 object_id=hashlib.sha256(value).hexdigest()[:64], outcome=result.status,
                 detail={"failed": result.failed})
    return result


def to_der_signature(data: bytes) -> bytes:
    """Accept DER, base64 of DER, or PEM-ish text."""
    data = bytes(data)
    if data[:1] == b"\x30":
        return data
    try:
        text = b"".join(line for line in data.splitlines() if not line.startswith(b"-----"))
        return base64.b64decode(text, validate=False)
    except Exception:
        return data


def signatures_with_status(subject: Any, *, payload: Any = None, by=None
                           ) -> list[tuple[Signature, VerificationResult]]:
    """Each signature of ``subject`` with its verification result (for record pages)."""
    return [(s, signature_verify(signature=s, payload=payload, by=by))
            for s in signatures_for(subject)]


# --- demo ----------------------------------------------------------------------

def _demo_pin() -> str:
    return str(_setting("PHIS_DEMO_SIGN_PIN", "") or os.environ.get("PHIS_DEMO_SIGN_PIN", "")
               or DEMO_SIGN_PIN)


def esign_demo_setup(*, profile_for_others: str = SM2) -> dict[str, int]:
    """Give the demo city its signatures: the platform CA, ``demo.signer`` (SM2) and
    ``demo.signer.ecdsa`` (ECDSA) with the demo-only PIN ``246810`` (created here when
    missing: county CDC reviewers of the first county), and a certificate for every other
    active user (PIN ``PHIS_DEMO_SIGN_PIN``, default 246810). Idempotent."""
    from django.contrib.auth import get_user_model

    from phis.core.accounts.services import user_create
    from phis.core.orgunits.models import Level, OrgUnit

    user_model = get_user_model()
    ca_ensure()
    county = OrgUnit.objects.filter(level=Level.COUNTY).order_by("code").first()
    counts = {"created_users": 0, "issued": 0}
    password = str(_setting("PHIS_DEMO_PASSWORD", "Demo@2026!"))
    for username, profile, name in (("demo.signer", SM2, "演示签名人(SM2)"),
                                    ("demo.signer.ecdsa", ECDSA, "演示签名人(ECDSA)")):
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_create(username=username, password=password,
                               role="county_cdc_reviewer", org_unit=county, full_name=name,
                               check_password=False)
            counts["created_users"] += 1
        if certificate_active_for_user(user=user, profile=profile) is None:
            certificate_issue(by=None, profile=profile, pin=DEMO_SIGN_PIN, user=user)
            counts["issued"] += 1
    pin = _demo_pin()
    for user in user_model.objects.filter(is_active=True).exclude(
            username__in=["demo.signer", "demo.signer.ecdsa"]).order_by("pk"):
        if certificate_active_for_user(user=user) is not None:
            continue
        certificate_issue(by=None, profile=profile_for_others, pin=pin, user=user)
        counts["issued"] += 1
    return counts


def user_by_username(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=username).select_related("org_unit").first()


def holder_lookup(*, username: str | None, org_unit_code: str | None):
    """(user, org_unit) for an issuance request; exactly one must be given."""
    from phis.core.orgunits.selectors import orgunit_get

    if bool(username) == bool(org_unit_code):
        raise ValidationFailed([FieldError("username", "one_of", "请指定用户或机构之一",
                                           "Give either a username or an org unit code")])
    if username:
        user = user_by_username(username)
        if user is None:
            raise NotFound("用户", "user")
        return user, None
    return None, orgunit_get(code=org_unit_code)


def crl_current(*, profile: str, now: dt.datetime | None = None) -> CrlIssue:
    """The newest CRL of the profile, re-issued when older than a day or when a revocation
    happened after it."""
    now = now or timezone.now()
    issuing = ca_ensure(now=now)[profile].issuing
    last = crl_latest(issuing)
    newest_revocation = revoked_by_issuer(issuing).order_by("-revoked_at").first()
    if last is None or now - last.this_update > dt.timedelta(days=1) or (
            newest_revocation and newest_revocation.revoked_at >= last.this_update):
        return crl_issue(profile=profile, now=now)
    return last
