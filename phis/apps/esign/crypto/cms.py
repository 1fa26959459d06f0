"""CMS (RFC 5652) SignedData for the ECDSA profile and RFC 3161 time-stamp tokens.

OpenSSL 3.0 can neither make nor check SM2 CMS or SM2-signed time-stamp tokens (domain doc
§4.3), so both are built here with ECDSA P-256/SHA-256 only: the platform TSA has an ECDSA
key whatever the signer's profile, and CMS detached signatures exist for the ECDSA profile.
They verify with ``openssl cms -verify`` and ``openssl ts -verify``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509

from phis.apps.esign.crypto.keys import ECDSA, PrivateKey
from phis.apps.esign.crypto.keys import verify as key_verify

# A UUID-based OID (ITU-T X.667, no registration needed): the PHIS TSA policy.
TSA_POLICY_OID = "2.25.208326841853012419563419390287931582301"
_DIGESTS = {"sha256": "sha256", "sm3": "1.2.156.10197.1.401", "sha384": "sha384",
            "sha512": "sha512"}
_DIGEST_BY_OID = {"2.16.840.1.101.3.4.2.1": "sha256", "1.2.156.10197.1.401": "sm3",
                  "2.16.840.1.101.3.4.2.2": "sha384", "2.16.840.1.101.3.4.2.3": "sha512"}


class TimestampError(ValueError):
    pass


def _digest_alg(name: str) -> algos.DigestAlgorithm:
    return algos.DigestAlgorithm({"algorithm": _DIGESTS[name]})


def digest_name_of(alg: algos.DigestAlgorithm) -> str:
    oid = alg["algorithm"].dotted
    if oid not in _DIGEST_BY_OID:
        raise TimestampError(f"unsupported digest {oid}")
    return _DIGEST_BY_OID[oid]


def _sorted_attrs(attrs: list[dict]) -> cms.CMSAttributes:
    """DER SET OF: members in ascending order of their encodings (X.690 11.6)."""
    built = [cms.CMSAttribute(a) for a in attrs]
    built.sort(key=lambda a: a.dump())
    return cms.CMSAttributes(built)


def _signer_info(*, cert: asn1_x509.Certificate, key: PrivateKey, attrs: list[dict],
                 unsigned: list[dict] | None = None) -> cms.SignerInfo:
    if key.profile != ECDSA:
        raise ValueError("CMS signatures are made with the ECDSA profile only (OpenSSL 3.0)")
    signed_attrs = _sorted_attrs(attrs)
    signature = key.sign(signed_attrs.dump())
    info = {
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
            {"issuer": cert.issuer, "serial_number": cert.serial_number})}),
        "digest_algorithm": _digest_alg("sha256"),
        "signed_attrs": signed_attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        "signature": signature,
    }
    if unsigned:
        info["unsigned_attrs"] = cms.CMSAttributes([cms.CMSAttribute(a) for a in unsigned])
    return cms.SignerInfo(info)


def _ess_cert_v2(cert: asn1_x509.Certificate) -> dict:
    return {"type": "signing_certificate_v2", "values": [tsp.SigningCertificateV2({
        "certs": [tsp.ESSCertIDv2({"hash_algorithm": {"algorithm": "sha256"},
                                   "cert_hash": hashlib.sha256(cert.dump()).digest(),
                                   "issuer_serial": {
                                       "issuer": [asn1_x509.GeneralName(
                                           {"directory_name": cert.issuer})],
                                       "serial_number": cert.serial_number}})]})]}


# --- CMS detached signatures (ECDSA profile) -------------------------------------------------

def cms_sign_detached(*, content: bytes, cert_der: bytes, chain_der: list[bytes],
                      key: PrivateKey, signing_time: dt.datetime,
                      timestamp_token: bytes | None = None) -> bytes:
    """DER ContentInfo(SignedData) without the content; optionally with a signature
    time-stamp (CAdES-T unsigned attribute ``id-aa-signatureTimeStampToken``)."""
    cert = asn1_x509.Certificate.load(bytes(cert_der))
    attrs = [
        {"type": "content_type", "values": ["data"]},
        {"type": "signing_time", "values": [cms.Time({"utc_time": signing_time.astimezone(
            dt.UTC).replace(microsecond=0)})]},
        {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
        _ess_cert_v2(cert),
    ]
    unsigned = None
    if timestamp_token:
        unsigned = [{"type": "signature_time_stamp_token",
                     "values": [cms.ContentInfo.load(bytes(timestamp_token))]}]
    signer = _signer_info(cert=cert, key=key, attrs=attrs, unsigned=unsigned)
    signed = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [_digest_alg("sha256")],
        "encap_content_info": {"content_type": "data"},
        "certificates": [cert] + [asn1_x509.Certificate.load(bytes(c)) for c in chain_der],
        "signer_infos": [signer],
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def cms_signature_value(cms_der: bytes) -> bytes:
    signed = cms.ContentInfo.load(bytes(cms_der))["content"]
    return signed["signer_infos"][0]["signature"].native


# --- RFC 3161 time-stamping authority --------------------------------------------------------

def timestamp_request(data: bytes, *, digest: str = "sha256", nonce: int | None = None,
                      cert_req: bool = True) -> bytes:
    return tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": _digest_alg(digest),
                            "hashed_message": hashlib.new(digest, data).digest()},
        "nonce": nonce if nonce is not None else secrets.randbits(63),
        "cert_req": cert_req,
    }).dump()


def _failure(status: str, text: str, info: str) -> bytes:
    return tsp.TimeStampResp({"status": {"status": status, "status_string": [text],
                                         "fail_info": tsp.PKIFailureInfo({info})}}).dump()


def tsa_respond(request_der: bytes, *, tsa_cert_der: bytes, tsa_key: PrivateKey,
                chain_der: list[bytes], now: dt.datetime, serial: int | None = None,
                policy: str = TSA_POLICY_OID) -> bytes:
    """A ``TimeStampResp`` (DER) for a ``TimeStampReq``; a rejection response for bad input,
    as RFC 3161 §2.4.2 asks, never an exception."""
    try:
        req = tsp.TimeStampReq.load(bytes(request_der))
        imprint = req["message_imprint"]
        digest_name = digest_name_of(imprint["hash_algorithm"])
        hashed = imprint["hashed_message"].native
        if len(hashed) != hashlib.new(digest_name).digest_size:
            raise TimestampError("imprint length")
    except Exception:
        return _failure("rejection", "bad request", "bad_data_format")
    if req["req_policy"].native not in (None, policy):
        return _failure("rejection", "unaccepted policy", "unaccepted_policy")
    cert = asn1_x509.Certificate.load(bytes(tsa_cert_der))
    tst = {
        "version": "v1",
        "policy": policy,
        "message_imprint": imprint,
        "serial_number": serial if serial is not None else secrets.randbits(63),
        "gen_time": now.astimezone(dt.UTC),
        "accuracy": {"seconds": 1},
        "ordering": False,
        "tsa": asn1_x509.GeneralName({"directory_name": cert.subject}),
    }
    if req["nonce"].native is not None:
        tst["nonce"] = req["nonce"].native
    tst_der = tsp.TSTInfo(tst).dump()
    attrs = [
        {"type": "content_type", "values": ["tst_info"]},
        {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
        _ess_cert_v2(cert),
    ]
    signer = _signer_info(cert=cert, key=tsa_key, attrs=attrs)
    certs = [cert] + [asn1_x509.Certificate.load(bytes(c)) for c in chain_der] \
        if req["cert_req"].native else None
    signed = {
        "version": "v3",
        "digest_algorithms": [_digest_alg("sha256")],
        "encap_content_info": {"content_type": "tst_info",
                               "content": core.ParsableOctetString(tst_der)},
        "signer_infos": [signer],
    }
    if certs:
        signed["certificates"] = certs
    token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)})
    return tsp.TimeStampResp({"status": {"status": "granted"},
                              "time_stamp_token": token}).dump()


@dataclass(frozen=True)
class TimestampInfo:
    gen_time: dt.datetime
    serial: int
    policy: str
    digest: str
    hashed_message: bytes
    nonce: int | None
    tsa_cert_der: bytes
    token_der: bytes


def timestamp_token_of(response_der: bytes) -> bytes:
    resp = tsp.TimeStampResp.load(bytes(response_der))
    if resp["status"]["status"].native not in ("granted", "granted_with_mods"):
        raise TimestampError(f"TSA refused: {resp['status']['status'].native}")
    return resp["time_stamp_token"].dump()


def timestamp_check(token_der: bytes, *, data: bytes | None = None,
                    extra_certs: list[bytes] = ()) -> TimestampInfo:
    """Check a token's own integrity: the TSA's signature over the signed attributes, the
    message digest of the TSTInfo, the imprint against ``data`` (when given), and that the
    signing certificate is a TSA certificate. The caller checks the TSA's chain."""
    info = cms.ContentInfo.load(bytes(token_der))
    if info["content_type"].native != "signed_data":
        raise TimestampError("not a SignedData token")
    signed = info["content"]
    econtent = signed["encap_content_info"]
    if econtent["content_type"].native != "tst_info":
        raise TimestampError("not a TSTInfo")
    tst_der = econtent["content"].contents
    tst = tsp.TSTInfo.load(tst_der)
    signer = signed["signer_infos"][0]
    sid = signer["sid"].chosen
    candidates = [c.chosen for c in signed["certificates"] or []] + \
        [asn1_x509.Certificate.load(bytes(c)) for c in extra_certs]
    cert = next((c for c in candidates if c.serial_number == sid["serial_number"].native
                 and c.issuer == sid["issuer"]), None)
    if cert is None:
        raise TimestampError("TSA certificate not found")
    eku = cert.extended_key_usage_value
    if not eku or eku.native != ["time_stamping"]:
        raise TimestampError("signing certificate is not a TSA certificate")
    attrs = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}
    sig_digest = digest_name_of(signer["digest_algorithm"])
    if attrs.get("message_digest") is None or attrs["message_digest"].native != \
            hashlib.new(sig_digest, tst_der).digest():
        raise TimestampError("TSTInfo digest does not match")
    if attrs.get("content_type") is None or attrs["content_type"].native != "tst_info":
        raise TimestampError("content type attribute")
    signed_attrs = cms.CMSAttributes(list(signer["signed_attrs"]))
    if not key_verify(cert.public_key.dump(), signer["signature"].native,
                      signed_attrs.dump(force=True)):
        raise TimestampError("TSA signature does not verify")
    imprint = tst["message_imprint"]
    digest = digest_name_of(imprint["hash_algorithm"])
    hashed = imprint["hashed_message"].native
    if data is not None and hashlib.new(digest, data).digest() != hashed:
        raise TimestampError("time-stamp imprint does not match the signature")
    return TimestampInfo(gen_time=tst["gen_time"].native, serial=tst["serial_number"].native,
                         policy=tst["policy"].dotted, digest=digest, hashed_message=hashed,
                         nonce=tst["nonce"].native, tsa_cert_der=cert.dump(),
                         token_der=bytes(token_der))
