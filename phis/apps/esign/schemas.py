"""Request and response shapes of the B4 API. No private key material ever appears here."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field

ProfileName = Literal["sm2", "ecdsa"]


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


class CertificateOut(Schema):
    id: UUID
    kind: str
    profile: str
    serial: str
    subject: str
    issuer: str
    fingerprint: str
    not_before: dt.datetime
    not_after: dt.datetime
    status: str
    revoked_at: dt.datetime | None
    revocation_reason: str
    username: str | None
    org_unit_code: str | None

    @staticmethod
    def of(cert) -> CertificateOut:
        return CertificateOut(
            id=cert.public_id, kind=cert.kind, profile=cert.profile, serial=cert.serial_hex,
            subject=cert.subject_dn, issuer=cert.issuer_dn, fingerprint=cert.fingerprint,
            not_before=cert.not_before, not_after=cert.not_after, status=cert.status,
            revoked_at=cert.revoked_at, revocation_reason=cert.revocation_reason,
            username=cert.user.username if cert.user_id else None,
            org_unit_code=cert.org_unit.code if cert.org_unit_id else None)


class EnrolIn(StrictIn):
    profile: ProfileName = "sm2"
    pin: str = Field(min_length=6, max_length=32)


class IssueIn(StrictIn):
    profile: ProfileName = "sm2"
    pin: str = Field(min_length=6, max_length=32)
    username: str | None = None
    org_unit_code: str | None = None
    days: int | None = Field(default=None, ge=1, le=3650)
    replace_pin: bool = False


class RevokeIn(StrictIn):
    reason: Literal["unspecified", "key_compromise", "affiliation_changed", "superseded",
                    "cessation_of_operation", "certificate_hold"] = "unspecified"


class RenewIn(StrictIn):
    pin: str = Field(min_length=6, max_length=32)


class ImportIn(StrictIn):
    pem: str = Field(min_length=20, max_length=20000)
    trust_anchor: bool = False


class PinChangeIn(StrictIn):
    old_pin: str = Field(min_length=1, max_length=32)
    new_pin: str = Field(min_length=6, max_length=32)


class SignRecordIn(StrictIn):
    subject_type: str = Field(min_length=1, max_length=100)
    subject_id: str = Field(min_length=1, max_length=64)
    step: str = Field(default="", max_length=60)
    reason: str = Field(default="", max_length=200)
    payload: Any
    pin: str = Field(min_length=1, max_length=32)
    profile: ProfileName | None = None


class CheckOut(Schema):
    name: str
    label: str
    ok: bool | None
    message: str
    message_en: str


class VerificationOut(Schema):
    status: Literal["valid", "invalid", "indeterminate"]
    valid: bool
    failed: list[str]
    checks: list[CheckOut]
    signature_id: str
    signer: str
    certificate_serial: str
    certificate_subject: str
    algorithm: str
    signed_at: dt.datetime | None
    timestamp_time: dt.datetime | None


class SignatureOut(Schema):
    id: UUID
    kind: str
    subject_type: str
    subject_id: str
    step: str
    reason: str
    signer: str
    signer_username: str
    certificate: UUID
    certificate_serial: str
    profile: str
    algorithm: str
    distid: str
    digest_algorithm: str
    digest: str
    content_size: int
    filename: str
    signed_at: dt.datetime
    timestamp_time: dt.datetime | None
    tsa: str
    has_cms: bool

    @staticmethod
    def of(sig) -> SignatureOut:
        return SignatureOut(
            id=sig.public_id, kind=sig.kind, subject_type=sig.subject_type,
            subject_id=sig.subject_id, step=sig.step, reason=sig.reason,
            signer=sig.signer.display_name, signer_username=sig.signer.username,
            certificate=sig.certificate.public_id, certificate_serial=sig.certificate.serial_hex,
            profile=sig.profile, algorithm=sig.algorithm, distid=sig.distid,
            digest_algorithm=sig.digest_algorithm, digest=sig.digest,
            content_size=sig.content_size, filename=sig.filename, signed_at=sig.signed_at,
            timestamp_time=sig.timestamp_time, tsa=sig.tsa_name, has_cms=sig.cms is not None)


class VerifyRecordIn(StrictIn):
    payload: Any = None
