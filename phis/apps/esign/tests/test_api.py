"""The B4 API: permissions, error shape, response shape, scoping, no key material."""

from __future__ import annotations

import pytest
from django.test import Client

from phis.apps.esign.models import Signature
from phis.core.accounts.middleware import SECOND_FACTOR_OK

pytestmark = pytest.mark.urls("phis.apps.esign.tests.urls")
PIN = "135790"
SIG_FIELDS = {"id", "kind", "subject_type", "subject_id", "step", "reason", "signer",
              "signer_username", "certificate", "certificate_serial", "profile", "algorithm",
              "distid", "digest_algorithm", "digest", "content_size", "filename", "signed_at",
              "timestamp_time", "tsa", "has_cms"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[SECOND_FACTOR_OK] = True
    session.save()
    return client


def _sign(client, **extra):
    body = {"subject_type": "notifiable.reportcard", "subject_id": "7", "step": "review",
            "payload": {"card": "7", "ok": True}, "pin": PIN, **extra}
    return client.post("/api/esign/sign/record", body, content_type="application/json")


def test_anonymous_gets_401(db):
    response = Client().get("/api/esign/certificates")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_sign_record_shape_and_verify(signer):
    client = client_for(signer)
    response = _sign(client)
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == SIG_FIELDS
    assert data["algorithm"] == "SM2-with-SM3" and data["signer_username"] == "dr.zhang"
    verified = client.post(f"/api/esign/signatures/{data['id']}/verify", {},
                           content_type="application/json").json()
    assert verified["status"] == "valid" and verified["failed"] == []
    changed = client.post(f"/api/esign/signatures/{data['id']}/verify",
                          {"payload": {"card": "7", "ok": False}},
                          content_type="application/json").json()
    assert changed["status"] == "invalid" and changed["failed"][0] == "digest"
    sig = client.get(f"/api/esign/signatures/{data['id']}/sig")
    assert sig.status_code == 200 and sig.content[:1] == b"\x30"
    tsr = client.get(f"/api/esign/signatures/{data['id']}/tsr")
    assert tsr["Content-Type"] == "application/timestamp-reply"


def test_wrong_pin_error_shape_and_lockout(signer):
    client = client_for(signer)
    for _ in range(4):
        response = _sign(client, pin="000000")
        assert response.status_code == 403
        assert set(response.json()) == {"code", "message", "message_en", "errors"}
        assert response.json()["code"] == "wrong_pin"
    assert _sign(client, pin="000000").status_code == 429
    assert _sign(client).json()["code"] == "pin_locked"


def test_unknown_fields_are_rejected(signer):
    response = _sign(client_for(signer), private_key="x")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "private_key"


def test_no_api_ever_returns_key_material(signer):
    client = client_for(signer)
    sig_id = _sign(client).json()["id"]
    bodies = [client.get(url).content for url in (
        "/api/esign/certificates/mine", "/api/esign/certificates", "/api/esign/signatures",
        f"/api/esign/signatures/{sig_id}")]
    for body in bodies:
        assert b"PRIVATE" not in body and b"encrypted_key" not in body and b"pkcs8" not in body


def test_only_ca_admins_issue_for_others(signer, make_user):
    clerk = make_user("clerk", role="hospital_clerk")
    body = {"username": "dr.zhang", "profile": "sm2", "pin": "111111"}
    assert client_for(clerk).post("/api/esign/certificates", body,
                                  content_type="application/json").status_code == 403
    admin = make_user("ca.admin", role="system_admin", unit="city")
    response = client_for(admin).post("/api/esign/certificates",
                                      {**body, "username": "clerk"},
                                      content_type="application/json")
    assert response.status_code == 201 and response.json()["username"] == "clerk"
    # The admin cannot sign: separation of duties.
    assert _sign(client_for(admin)).status_code == 403


def test_enrol_revoke_renew_and_crl(make_user, pki):
    user = make_user("nurse.zhao", role="clinician")
    client = client_for(user)
    enrolled = client.post("/api/esign/certificates/enrol", {"profile": "ecdsa",
                                                             "pin": "864201"},
                           content_type="application/json")
    assert enrolled.status_code == 201 and enrolled.json()["status"] == "active"
    cert_id = enrolled.json()["id"]
    renewed = client.post(f"/api/esign/certificates/{cert_id}/renew", {"pin": "864201"},
                          content_type="application/json")
    assert renewed.status_code == 201
    old = client.get(f"/api/esign/certificates/{cert_id}").json()
    assert old["status"] == "revoked" and old["revocation_reason"] == "superseded"
    crl = client.get("/api/esign/crl/ecdsa.crl")
    assert crl.status_code == 200 and crl["Content-Type"] == "application/pkix-crl"
    pem = client.get(f"/api/esign/certificates/{renewed.json()['id']}/pem")
    assert pem.content.startswith(b"-----BEGIN CERTIFICATE-----")
    chain = client.get("/api/esign/chain?profile=sm2")
    assert chain.content.count(b"BEGIN CERTIFICATE") == 2


def test_signatures_are_scoped_by_org_unit(signer, make_user):
    sig_id = _sign(client_for(signer)).json()["id"]
    other_county = make_user("reviewer.b", unit="b")
    response = client_for(other_county).get(f"/api/esign/signatures/{sig_id}")
    assert response.status_code == 404
    assert client_for(other_county).get("/api/esign/signatures").json() == []
    city = make_user("city.cdc", role="city_cdc", unit="city")
    assert client_for(city).get(f"/api/esign/signatures/{sig_id}").status_code == 200


def test_file_sign_and_upload_verify(signer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(signer)
    response = client.post("/api/esign/sign/file", {
        "file": SimpleUploadedFile("a.txt", b"hello"), "pin": PIN})
    assert response.status_code == 201, response.content
    value = bytes(Signature.objects.get(public_id=response.json()["id"]).signature_value)
    result = client.post("/api/esign/verify", {
        "file": SimpleUploadedFile("a.txt", b"hello"),
        "signature": SimpleUploadedFile("a.sig", value)}).json()
    assert result["status"] == "valid"
    result = client.post("/api/esign/verify", {
        "file": SimpleUploadedFile("a.txt", b"hellO"),
        "signature": SimpleUploadedFile("a.sig", value)}).json()
    assert result["failed"] == ["digest", "signature"]


def test_tsa_endpoint(signer):
    from phis.apps.esign.crypto.cms import timestamp_check, timestamp_request, timestamp_token_of

    client = client_for(signer)
    response = client.post("/api/esign/tsa", timestamp_request(b"x"),
                           content_type="application/timestamp-query")
    assert response.status_code == 200
    assert timestamp_check(timestamp_token_of(response.content), data=b"x").gen_time
    assert client.post("/api/esign/tsa", b"x", content_type="text/plain").status_code == 415


def test_every_endpoint_declares_a_permission():
    from phis.apps.esign.api import _ROUTES

    for _method, path, func, _kw in _ROUTES:
        assert getattr(func, "phis_permissions", ()), path


@pytest.mark.urls("config.urls")  # the pages extend ui/base.html, which needs every URL
def test_pages(signer):
    client = client_for(signer)
    sig_id = _sign(client).json()["id"]
    home = client.get("/esign/")
    assert home.status_code == 200 and "我的证书" in home.content.decode()
    assert 'data-status="active"' in home.content.decode()
    page = client.get(f"/esign/signatures/{sig_id}/")
    body = page.content.decode()
    assert page.status_code == 200 and 'data-status="valid"' in body
    assert "证书链" in body and "Certificate chain" not in body  # one language, Chinese
    assert client.get("/esign/verify/").status_code == 200


@pytest.mark.urls("config.urls")
def test_verify_page_reports_the_failed_check_in_the_page_language(signer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(signer)
    response = client.post("/api/esign/sign/file", {
        "file": SimpleUploadedFile("a.txt", b"hello"), "pin": PIN})
    value = bytes(Signature.objects.get(public_id=response.json()["id"]).signature_value)

    def verify_page(content: bytes, **headers) -> str:
        return client.post("/esign/verify/", {
            "file": SimpleUploadedFile("a.txt", content),
            "signature": SimpleUploadedFile("a.sig", value)}, **headers).content.decode()

    assert 'data-status="valid"' in verify_page(b"hello")
    tampered = verify_page(b"hellO")
    assert 'data-status="invalid"' in tampered
    assert "内容已被修改" in tampered and "digest mismatch" not in tampered
    client.cookies["django_language"] = "en"
    english = verify_page(b"hellO", HTTP_ACCEPT_LANGUAGE="en")
    assert 'data-status="invalid"' in english
    assert "digest mismatch" in english and "内容已被修改" not in english
    missing = client.post("/esign/verify/", {"file": SimpleUploadedFile("a.txt", b"x")})
    assert missing.status_code == 200 and 'data-testid="error-summary"' in missing.content.decode()
