"""X.509 certificates and CRLs for both profiles, built with asn1crypto and signed by
:class:`~phis.apps.esign.crypto.keys.PrivateKey` (so SM2 certificates carry real
SM3withSM2 signatures made with the standard distinguishing ID; ``openssl verify -vfyopt
distid:1234567812345678`` accepts them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from asn1crypto import algos, pem
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from asn1crypto.crl import CertificateList, TbsCertList

from phis.apps.esign.crypto.keys import PROFILE_INFO, PrivateKey, profile_of_signature_oid
from phis.apps.esign.crypto.keys import verify as key_verify

KIND_ROOT = "root"
KIND_ISSUING = "issuing"
KIND_TSA = "tsa"
KIND_PERSON = "person"
KIND_INSTITUTION = "institution"


@dataclass(frozen=True)
class CertInfo:
    der: bytes
    serial: int
    subject: str
    issuer: str
    subject_der: bytes
    issuer_der: bytes
    not_before: dt.datetime
    not_after: dt.datetime
    public_key_der: bytes
    signature_oid: str
    is_ca: bool
    fingerprint: str  # SHA-256 hex of the DER
    key_id: bytes  # subject key identifier (or SHA-1 of the key when absent)
    authority_key_id: bytes | None
    tsa: bool


def _sig_alg(profile: str) -> algos.SignedDigestAlgorithm:
    # SM3withSM2 and ecdsa-with-SHA256 both omit the parameters field (GB/T 35276, RFC 5758).
    return algos.SignedDigestAlgorithm({"algorithm": PROFILE_INFO[profile].signature_oid})


def build_name(attrs: dict[str, str]) -> asn1_x509.Name:
    """``{"country_name": "CN", "organization_name": ..., "common_name": ...}``; UTF8String
    everywhere except country (PrintableString, as RFC 5280 requires)."""
    return asn1_x509.Name.build(attrs, use_printable=False)


def _key_identifier(spki_der: bytes) -> bytes:
    info = asn1_keys.PublicKeyInfo.load(spki_der)
    return hashlib.sha1(info["public_key"].contents[1:]).digest()  # noqa: S324 - RFC 5280 method 1


def new_serial() -> int:
    return secrets.randbits(126) | (1 << 125)  # positive, 16 bytes, unpredictable


def build_certificate(*, subject: asn1_x509.Name, subject_public_key_der: bytes,
                      issuer_cert_der: bytes | None, issuer_key: PrivateKey,
                      kind: str, not_before: dt.datetime, not_after: dt.datetime,
                      serial: int | None = None, path_length: int | None = None,
                      crl_url: str = "") -> bytes:
    """A DER certificate. ``issuer_cert_der=None`` makes a self-signed root (``subject``
    is then also the issuer)."""
    profile = issuer_key.profile
    if issuer_cert_der is None:
        issuer_name = subject
        authority_key_id = _key_identifier(subject_public_key_der)
    else:
        issuer = asn1_x509.Certificate.load(issuer_cert_der)
        issuer_name = issuer.subject
        authority_key_id = issuer.key_identifier or _key_identifier(
            issuer.public_key.dump())
    is_ca = kind in (KIND_ROOT, KIND_ISSUING)
    extensions = [
        {"extn_id": "basic_constraints", "critical": True,
         "extn_value": {"ca": is_ca, "path_len_constraint": path_length if is_ca else None}},
        {"extn_id": "key_usage", "critical": True,
         "extn_value": {"key_cert_sign", "crl_sign", "digital_signature"} if is_ca
         else {"digital_signature"} if kind == KIND_TSA
         else {"digital_signature", "non_repudiation"}},
        {"extn_id": "key_identifier", "critical": False,
         "extn_value": _key_identifier(subject_public_key_der)},
        {"extn_id": "authority_key_identifier", "critical": False,
         "extn_value": {"key_identifier": authority_key_id}},
    ]
    if kind == KIND_TSA:
        extensions.append({"extn_id": "extended_key_usage", "critical": True,
                           "extn_value": ["time_stamping"]})
    if crl_url and kind != KIND_ROOT:
        extensions.append({"extn_id": "crl_distribution_points", "critical": False,
                           "extn_value": [{"distribution_point": {
                               "full_name": [{"uniform_resource_identifier": crl_url}]}}]})
    tbs = asn1_x509.TbsCertificate({
        "version": "v3",
        "serial_number": serial if serial is not None else new_serial(),
        "signature": _sig_alg(profile),
        "issuer": issuer_name,
        "validity": {"not_before": asn1_x509.Time({"utc_time": _utc(not_before)})
                     if not_before.year < 2050 else
                     asn1_x509.Time({"general_time": _utc(not_before)}),
                     "not_after": asn1_x509.Time({"utc_time": _utc(not_after)})
                     if not_after.year < 2050 else
                     asn1_x509.Time({"general_time": _utc(not_after)})},
        "subject": subject,
        "subject_public_key_info": asn1_keys.PublicKeyInfo.load(subject_public_key_der),
        "extensions": extensions,
    })
    tbs_der = tbs.dump()
    signature = issuer_key.sign(tbs_der)
    cert = asn1_x509.Certificate({"tbs_certificate": tbs,
                                  "signature_algorithm": _sig_alg(profile),
                                  "signature_value": signature})
    return cert.dump()


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(microsecond=0)


def parse_certificate(data: bytes) -> CertInfo:
    """DER or PEM."""
    der = to_der(data)
    cert = asn1_x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    spki = tbs["subject_public_key_info"].dump()
    eku = cert.extended_key_usage_value
    aki = cert.authority_key_identifier
    return CertInfo(
        der=der, serial=cert.serial_number, subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly, subject_der=cert.subject.dump(),
        issuer_der=cert.issuer.dump(),
        not_before=tbs["validity"]["not_before"].native,
        not_after=tbs["validity"]["not_after"].native,
        public_key_der=spki, signature_oid=cert["signature_algorithm"]["algorithm"].dotted,
        is_ca=bool(cert.ca), fingerprint=hashlib.sha256(der).hexdigest(),
        key_id=cert.key_identifier or _key_identifier(spki),
        authority_key_id=aki, tsa=bool(eku and "time_stamping" in eku.native))


def certificate_signed_by(cert_der: bytes, issuer_spki_der: bytes) -> bool:
    """Does the issuer's key verify the certificate's signature (SM2 with the standard ID)?"""
    cert = asn1_x509.Certificate.load(bytes(cert_der))
    oid = cert["signature_algorithm"]["algorithm"].dotted
    try:
        profile_of_signature_oid(oid)
    except ValueError:
        return False
    return key_verify(issuer_spki_der, cert["signature_value"].native,
                      cert["tbs_certificate"].dump())


def build_crl(*, issuer_cert_der: bytes, issuer_key: PrivateKey,
              revoked: list[tuple[int, dt.datetime, str]], this_update: dt.datetime,
              next_update: dt.datetime, number: int) -> bytes:
    """A v2 CRL. ``revoked``: (serial, revocation time, RFC 5280 reason name)."""
    issuer = asn1_x509.Certificate.load(issuer_cert_der)
    entries = []
    for serial, when, reason in revoked:
        entry = {"user_certificate": serial, "revocation_date": asn1_x509.Time(
            {"utc_time": _utc(when)})}
        if reason and reason != "unspecified":
            entry["crl_entry_extensions"] = [{"extn_id": "crl_reason", "critical": False,
                                              "extn_value": reason}]
        entries.append(entry)
    tbs = TbsCertList({
        "version": "v2",
        "signature": _sig_alg(issuer_key.profile),
        "issuer": issuer.subject,
        "this_update": asn1_x509.Time({"utc_time": _utc(this_update)}),
        "next_update": asn1_x509.Time({"utc_time": _utc(next_update)}),
        "revoked_certificates": entries or None,
        "crl_extensions": [
            {"extn_id": "crl_number", "critical": False, "extn_value": number},
            {"extn_id": "authority_key_identifier", "critical": False,
             "extn_value": {"key_identifier": issuer.key_identifier}},
        ],
    })
    if not entries:
        del tbs["revoked_certificates"]
    signature = issuer_key.sign(tbs.dump())
    return CertificateList({"tbs_cert_list": tbs, "signature_algorithm":
                            _sig_alg(issuer_key.profile),
                            "signature": signature}).dump()


def parse_crl(data: bytes) -> CertificateList:
    return CertificateList.load(to_der(data, "X509 CRL"))


def to_der(data: bytes, _label: str = "") -> bytes:
    data = bytes(data)
    if pem.detect(data):
        _type, _headers, der = pem.unarmor(data)
        return der
    return data


def to_pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    return pem.armor(label, bytes(der))


def subject_common_name(der: bytes) -> str:
    cert = asn1_x509.Certificate.load(bytes(der))
    return cert.subject.native.get("common_name", "")
