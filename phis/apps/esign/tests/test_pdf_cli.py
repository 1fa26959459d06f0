"""PAdES with pyHanko, and the `phis esign` command line."""

from __future__ import annotations

import io
import subprocess

import pytest
from django.core.management import CommandError, call_command

from phis.apps.esign import services
from phis.apps.esign.models import Signature

PIN = "135790"


def _pdf() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    c.drawString(72, 760, "Notifiable disease report card 2026-000123")
    c.showPage()
    c.save()
    return buf.getvalue()


def test_pades_sign_and_validate_with_pyhanko(ecdsa_signer):
    signed, sig = services.pdf_sign(user=ecdsa_signer, pin=PIN, pdf=_pdf(),
                                    subject="notifiable.reportcard:123", reason="审核")
    assert sig.kind == "pdf" and sig.timestamp_time
    [result] = services.pdf_verify(pdf=signed)
    assert result["intact"] and result["valid"] and result["trusted"], result
    assert result["timestamp"] and result["bottom_line"]
    assert "dr.li" in result["signer"]
    assert services.signature_verify(signature=sig).check("signature").ok is None


def test_pades_tampered_pdf_is_not_intact(ecdsa_signer):
    signed, _ = services.pdf_sign(user=ecdsa_signer, pin=PIN, pdf=_pdf())
    marker = b"Notifiable disease report card"
    assert signed.count(marker) == 1
    tampered = signed.replace(marker, b"Notifiable disease report CARD")
    [result] = services.pdf_verify(pdf=tampered)
    assert not result["intact"] and not result["bottom_line"]


def test_pades_refuses_sm2(signer):
    with pytest.raises(services.ApplicationError):
        services.pdf_sign(user=signer, pin=PIN, pdf=_pdf())


def test_cli_sign_verify_export(signer, tmp_path, monkeypatch):
    doc = tmp_path / "doc.txt"
    doc.write_text("死亡医学证明 draft", encoding="utf-8")
    monkeypatch.setenv("PHIS_SIGN_PIN", PIN)
    out = io.StringIO()
    call_command("esign", "sign", str(doc), "--signer", "dr.zhang", "--out",
                 str(tmp_path / "doc.sig"), "--tsr", str(tmp_path / "doc.tsr"), stdout=out)
    assert "SM2-with-SM3" in out.getvalue()
    assert Signature.objects.filter(kind="file", filename="doc.txt").count() == 1
    out = io.StringIO()
    call_command("esign", "verify", str(doc), str(tmp_path / "doc.sig"), stdout=out)
    assert out.getvalue().strip().endswith("VALID")
    call_command("esign", "export-cert", "dr.zhang", "--out", str(tmp_path / "cert.pem"),
                 stdout=io.StringIO())
    call_command("esign", "export-chain", "--out", str(tmp_path / "chain.pem"),
                 "--profile", "sm2", stdout=io.StringIO())
    assert (tmp_path / "chain.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 2
    subprocess.run(["openssl", "x509", "-in", "cert.pem", "-pubkey", "-noout", "-out",
                    "pub.pem"], cwd=tmp_path, check=True)
    ok = subprocess.run(["openssl", "dgst", "-sm3", "-verify", "pub.pem", "-signature",
                         "doc.sig", "-sigopt", "distid:1234567812345678", "doc.txt"],
                        cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    doc.write_text("死亡医学证明 changed", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("esign", "verify", str(doc), str(tmp_path / "doc.sig"), stdout=out)
    assert "FAIL digest" in out.getvalue()


def test_cli_wrong_pin(signer, tmp_path, monkeypatch):
    (tmp_path / "d").write_bytes(b"x")
    monkeypatch.setenv("PHIS_SIGN_PIN", "000000")
    with pytest.raises(CommandError, match="PIN"):
        call_command("esign", "sign", str(tmp_path / "d"), "--signer", "dr.zhang", "--out",
                     str(tmp_path / "d.sig"), stdout=io.StringIO())


def test_cli_issue_revoke_crl(make_user, pki, tmp_path, monkeypatch):
    make_user("dr.sun")
    monkeypatch.setenv("PHIS_SIGN_PIN", "975310")
    out = io.StringIO()
    call_command("esign", "issue", "dr.sun", "--profile", "ecdsa", stdout=out)
    serial = out.getvalue().split("certificate ")[1].split()[0]
    call_command("esign", "revoke", serial, "--reason", "affiliation_changed",
                 stdout=io.StringIO())
    call_command("esign", "crl", "--profile", "ecdsa", "--out", str(tmp_path / "c.crl"),
                 stdout=io.StringIO())
    text = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", "c.crl", "-noout",
                           "-text"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout
    assert serial.upper() in text.replace(":", "").upper()
