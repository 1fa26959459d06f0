"""Interoperability: what the platform exports verifies with the OpenSSL 3 command line,
using the exact commands of docs/modules/esign.md (domain doc §4.3/§4.4)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from phis.apps.esign import services
from phis.apps.esign.crypto import x509 as x
from phis.apps.esign.crypto.keys import PrivateKey
from phis.apps.esign.selectors import ca_certificate, certificate_active_for_user

PIN = "135790"
DISTID = "distid:1234567812345678"


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)


def _export(user, tmp: Path, profile: str) -> None:
    cert = certificate_active_for_user(user=user, profile=profile)
    (tmp / "cert.pem").write_bytes(x.to_pem(bytes(cert.der)))
    (tmp / "root.pem").write_bytes(x.to_pem(bytes(ca_certificate(profile=profile,
                                                                 kind="root").der)))
    (tmp / "issuing.pem").write_bytes(x.to_pem(bytes(cert.issuer_cert.der)))
    (tmp / "ecdsa_root.pem").write_bytes(x.to_pem(bytes(ca_certificate(profile="ecdsa",
                                                                       kind="root").der)))
    (tmp / "ecdsa_chain.pem").write_bytes(services.chain_pem("ecdsa"))
    assert openssl("x509", "-in", "cert.pem", "-pubkey", "-noout", "-out", "pub.pem",
                   cwd=tmp).returncode == 0


def _sign_file(user, tmp: Path, content: bytes):
    (tmp / "doc.xml").write_bytes(content)
    sig = services.sign_file(user=user, pin=PIN, content=content, filename="doc.xml")
    (tmp / "doc.sig").write_bytes(bytes(sig.signature_value))
    (tmp / "doc.tsr").write_bytes(bytes(sig.timestamp_response))
    if sig.cms:
        (tmp / "doc.p7s").write_bytes(bytes(sig.cms))
    return sig


def test_openssl_is_3():
    out = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("OpenSSL 3.")


def test_sm2_signature_with_openssl_dgst_and_pkeyutl(signer, tmp_path):
    _export(signer, tmp_path, "sm2")
    _sign_file(signer, tmp_path, "<报告卡 id='1'/>".encode())
    ok = openssl("dgst", "-sm3", "-verify", "pub.pem", "-signature", "doc.sig",
                 "-sigopt", DISTID, "doc.xml", cwd=tmp_path)
    assert ok.returncode == 0 and "Verified OK" in ok.stdout, ok.stderr
    ok = openssl("pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-digest",
                 "sm3", "-in", "doc.xml", "-sigfile", "doc.sig", "-pkeyopt", DISTID,
                 cwd=tmp_path)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout, ok.stderr
    # Without the standard ID OpenSSL 3.0 uses an empty ID and must refuse.
    assert openssl("dgst", "-sm3", "-verify", "pub.pem", "-signature", "doc.sig", "doc.xml",
                   cwd=tmp_path).returncode != 0
    # Tampered document: refused.
    (tmp_path / "doc.xml").write_bytes("<报告卡 id='2'/>".encode())
    bad = openssl("dgst", "-sm3", "-verify", "pub.pem", "-signature", "doc.sig",
                  "-sigopt", DISTID, "doc.xml", cwd=tmp_path)
    assert bad.returncode != 0 and "Verification failure" in bad.stdout


def test_openssl_signature_verifies_in_phis(signer, tmp_path):
    """The other direction: a key and signature made by the openssl command line."""
    assert openssl("genpkey", "-algorithm", "SM2", "-out", "sm2.key", cwd=tmp_path).returncode == 0
    (tmp_path / "doc.xml").write_bytes(b"<doc/>")
    assert openssl("dgst", "-sm3", "-sign", "sm2.key", "-sigopt", DISTID, "-out", "doc.sig",
                   "doc.xml", cwd=tmp_path).returncode == 0
    assert openssl("pkey", "-in", "sm2.key", "-pubout", "-outform", "DER", "-out", "pub.der",
                   cwd=tmp_path).returncode == 0
    from phis.apps.esign.crypto.keys import verify

    spki = (tmp_path / "pub.der").read_bytes()
    assert verify(spki, (tmp_path / "doc.sig").read_bytes(), b"<doc/>")
    assert not verify(spki, (tmp_path / "doc.sig").read_bytes(), b"<doc2/>")
    der = openssl("pkey", "-in", "sm2.key", "-outform", "DER", "-out", "key.der", cwd=tmp_path)
    assert der.returncode == 0
    key = PrivateKey("sm2", (tmp_path / "key.der").read_bytes())
    assert verify(spki, key.sign(b"x"), b"x")


def test_ecdsa_signature_with_openssl_dgst(ecdsa_signer, tmp_path):
    _export(ecdsa_signer, tmp_path, "ecdsa")
    _sign_file(ecdsa_signer, tmp_path, b"lab report")
    ok = openssl("dgst", "-sha256", "-verify", "pub.pem", "-signature", "doc.sig", "doc.xml",
                 cwd=tmp_path)
    assert ok.returncode == 0 and "Verified OK" in ok.stdout, ok.stderr
    (tmp_path / "doc.xml").write_bytes(b"lab report!")
    assert openssl("dgst", "-sha256", "-verify", "pub.pem", "-signature", "doc.sig",
                   "doc.xml", cwd=tmp_path).returncode != 0


def test_sm2_certificate_chain_with_openssl_verify(signer, tmp_path):
    _export(signer, tmp_path, "sm2")
    # OpenSSL 3.0 applies -vfyopt distid only to the certificate being verified, so a
    # three-level SM2 chain is checked one link at a time (docs/modules/esign.md).
    issuing = openssl("verify", "-vfyopt", DISTID, "-CAfile", "root.pem", "issuing.pem",
                      cwd=tmp_path)
    assert issuing.returncode == 0 and "issuing.pem: OK" in issuing.stdout, issuing.stderr
    leaf = openssl("verify", "-vfyopt", DISTID, "-partial_chain", "-CAfile", "issuing.pem",
                   "cert.pem", cwd=tmp_path)
    assert leaf.returncode == 0 and "cert.pem: OK" in leaf.stdout, leaf.stderr
    # Without the standard ID the certificate signatures do not verify.
    assert openssl("verify", "-partial_chain", "-CAfile", "issuing.pem", "cert.pem",
                   cwd=tmp_path).returncode != 0
    # A certificate from another CA is refused.
    other = openssl("verify", "-vfyopt", DISTID, "-partial_chain", "-CAfile", "root.pem",
                    "cert.pem", cwd=tmp_path)
    assert other.returncode != 0


def test_ecdsa_chain_and_crl_with_openssl_verify(ecdsa_signer, tmp_path):
    _export(ecdsa_signer, tmp_path, "ecdsa")
    ok = openssl("verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "cert.pem",
                 cwd=tmp_path)
    assert ok.returncode == 0 and "cert.pem: OK" in ok.stdout, ok.stderr
    cert = certificate_active_for_user(user=ecdsa_signer, profile="ecdsa")
    services.certificate_revoke(by=None, certificate=cert, reason="key_compromise")
    (tmp_path / "crl.pem").write_bytes(x.to_pem(bytes(services.crl_current(
        profile="ecdsa").der), "X509 CRL"))
    crl = openssl("crl", "-in", "crl.pem", "-CAfile", "issuing.pem", "-noout", cwd=tmp_path)
    assert crl.returncode == 0 and "verify OK" in crl.stderr + crl.stdout
    revoked = openssl("verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem",
                      "-untrusted", "issuing.pem", "cert.pem", cwd=tmp_path)
    assert revoked.returncode != 0 and "certificate revoked" in revoked.stdout + revoked.stderr


def test_sm2_crl_content_with_openssl(signer, tmp_path):
    cert = certificate_active_for_user(user=signer)
    services.certificate_revoke(by=None, certificate=cert, reason="key_compromise")
    (tmp_path / "crl.pem").write_bytes(x.to_pem(bytes(services.crl_current(
        profile="sm2").der), "X509 CRL"))
    text = openssl("crl", "-in", "crl.pem", "-noout", "-text", cwd=tmp_path)
    assert text.returncode == 0 and "SM2-with-SM3" in text.stdout
    assert cert.serial_hex.upper() in text.stdout.replace(":", "").upper()
    assert "Key Compromise" in text.stdout


@pytest.mark.parametrize("fixture", ["signer", "ecdsa_signer"])
def test_timestamp_with_openssl_ts_verify(fixture, request, tmp_path):
    user = request.getfixturevalue(fixture)
    profile = "sm2" if fixture == "signer" else "ecdsa"
    _export(user, tmp_path, profile)
    _sign_file(user, tmp_path, b"document")
    # The token time-stamps the signature value (CAdES-style signature time-stamp).
    ok = openssl("ts", "-verify", "-data", "doc.sig", "-in", "doc.tsr", "-CAfile",
                 "ecdsa_root.pem", "-untrusted", "ecdsa_chain.pem", cwd=tmp_path)
    assert ok.returncode == 0 and "Verification: OK" in ok.stdout, ok.stdout + ok.stderr
    reply = openssl("ts", "-reply", "-in", "doc.tsr", "-text", cwd=tmp_path)
    assert "Status: Granted" in reply.stdout
    assert ("sm3" if profile == "sm2" else "sha256") in reply.stdout
    (tmp_path / "doc.sig").write_bytes(b"\x30\x00")
    assert openssl("ts", "-verify", "-data", "doc.sig", "-in", "doc.tsr", "-CAfile",
                   "ecdsa_root.pem", "-untrusted", "ecdsa_chain.pem",
                   cwd=tmp_path).returncode != 0


def test_platform_tsa_answers_an_openssl_query(pki, tmp_path):
    (tmp_path / "doc.xml").write_bytes(b"doc")
    assert openssl("ts", "-query", "-data", "doc.xml", "-sha256", "-cert", "-out", "req.tsq",
                   cwd=tmp_path).returncode == 0
    (tmp_path / "resp.tsr").write_bytes(services.tsa_reply((tmp_path / "req.tsq").read_bytes()))
    (tmp_path / "root.pem").write_bytes(x.to_pem(bytes(ca_certificate(profile="ecdsa",
                                                                      kind="root").der)))
    (tmp_path / "chain.pem").write_bytes(services.chain_pem("ecdsa"))
    ok = openssl("ts", "-verify", "-data", "doc.xml", "-in", "resp.tsr", "-CAfile",
                 "root.pem", "-untrusted", "chain.pem", cwd=tmp_path)
    assert ok.returncode == 0 and "Verification: OK" in ok.stdout, ok.stdout + ok.stderr
    ok = openssl("ts", "-verify", "-queryfile", "req.tsq", "-in", "resp.tsr", "-CAfile",
                 "root.pem", "-untrusted", "chain.pem", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_cms_detached_with_openssl_cms_verify(ecdsa_signer, tmp_path):
    _export(ecdsa_signer, tmp_path, "ecdsa")
    _sign_file(ecdsa_signer, tmp_path, "检验报告 v1".encode())
    ok = openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", "doc.p7s",
                 "-content", "doc.xml", "-CAfile", "root.pem", "-out", "/dev/null",
                 cwd=tmp_path)
    assert ok.returncode == 0 and "Verification successful" in ok.stderr, ok.stderr
    printed = openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", "doc.p7s",
                      cwd=tmp_path)
    assert "id-smime-aa-timeStampToken" in printed.stdout  # CAdES-T signature time-stamp
    (tmp_path / "doc.xml").write_bytes("检验报告 v2".encode())
    bad = openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", "doc.p7s",
                  "-content", "doc.xml", "-CAfile", "root.pem", "-out", "/dev/null",
                  cwd=tmp_path)
    assert bad.returncode != 0
