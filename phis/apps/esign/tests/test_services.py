"""Signing, verification, tamper cases, revoked/expired certificates, PIN lockout, renewal,
import, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from phis.apps.esign import keystore, services
from phis.apps.esign.models import Certificate, PinState, Signature, SigningKey
from phis.apps.esign.selectors import certificate_active_for_user, signatures_for
from phis.core.audit.models import AuditLog
from phis.core.audit.types import AuditEventType

PIN = "135790"
REPORT = {"card": "2026-000123", "disease": "A01.0", "onset": "2026-03-01",
          "reviewer_note": "核实无误", "age": 34, "weight": 61.5}


def _sign(user, payload=REPORT, **kw):
    return services.sign_step(user=user, pin=PIN, subject=("notifiable.reportcard", "123"),
                              payload=payload, step="county_review", **kw)


def test_sign_step_stores_a_verifiable_detached_signature(signer):
    sig = _sign(signer)
    assert sig.algorithm == "SM2-with-SM3" and sig.distid == "1234567812345678"
    assert sig.digest_algorithm == "sm3" and len(sig.digest) == 64
    assert sig.timestamp_time is not None and sig.timestamp_response
    assert sig.payload.startswith('{"age":34,"card":')
    result = services.signature_verify(signature=sig)
    assert result.status == "valid", result.as_dict()
    assert [c.name for c in result.checks] == ["digest", "signature", "timestamp", "chain",
                                               "validity", "revocation"]
    assert list(signatures_for(("notifiable.reportcard", "123"))) == [sig]


def test_ecdsa_profile_adds_cms(ecdsa_signer):
    sig = _sign(ecdsa_signer)
    assert sig.algorithm == "ECDSA-with-SHA256" and sig.cms
    assert services.signature_verify(signature=sig).valid


def test_changed_record_fails_the_digest_check(signer):
    sig = _sign(signer)
    changed = {**REPORT, "disease": "A00.9"}
    result = services.signature_verify(signature=sig, payload=changed)
    assert result.status == "invalid"
    assert result.failed[0] == "digest"


def test_registered_payload_builder_compares_with_the_record_as_it_is_now(signer):
    current = dict(REPORT)
    # The notifiable app registers its own builder for this subject type: put it back.
    previous = services._PAYLOAD_BUILDERS.get("notifiable.reportcard")
    services.register_payload_builder("notifiable.reportcard", lambda _id: current)
    try:
        sig = _sign(signer)
        assert services.signature_verify(signature=sig).valid
        current["age"] = 35
        assert services.signature_verify(signature=sig).failed[0] == "digest"
    finally:
        services._PAYLOAD_BUILDERS.pop("notifiable.reportcard")
        if previous is not None:
            services.register_payload_builder("notifiable.reportcard", previous)


def test_tampered_stored_payload_and_signature_value_are_detected(signer):
    sig = _sign(signer)
    Signature.objects.filter(pk=sig.pk).update(payload=sig.payload.replace("34", "35"))
    sig.refresh_from_db()
    assert services.signature_verify(signature=sig).failed == ["digest", "signature"]
    sig2 = _sign(signer)
    value = bytearray(bytes(sig2.signature_value))
    value[-3] ^= 0x01
    Signature.objects.filter(pk=sig2.pk).update(signature_value=bytes(value))
    sig2.refresh_from_db()
    result = services.signature_verify(signature=sig2)
    assert "signature" in result.failed
    assert "timestamp" in result.failed  # the time-stamp covers the original value


def test_tampered_timestamp_is_detected(signer):
    sig = _sign(signer)
    other = _sign(signer, payload={"x": 1})
    Signature.objects.filter(pk=sig.pk).update(timestamp_response=other.timestamp_response)
    sig.refresh_from_db()
    assert services.signature_verify(signature=sig).failed == ["timestamp"]


def test_file_signature_and_detached_verification(signer):
    content = "化验报告 PDF bytes".encode()
    sig = services.sign_file(user=signer, pin=PIN, content=content, filename="r.pdf")
    ok = services.verify_detached(content=content, signature_value=bytes(sig.signature_value))
    assert ok.valid and ok.signature_id == str(sig.public_id)
    bad = services.verify_detached(content=content + b"!",
                                   signature_value=bytes(sig.signature_value))
    assert bad.failed == ["digest", "signature"]


def test_revoked_certificate_signatures_before_stay_valid_after_fail(signer):
    sig_before = _sign(signer)
    cert = certificate_active_for_user(user=signer)
    services.certificate_revoke(by=None, certificate=cert, reason="key_compromise")
    assert not SigningKey.objects.filter(certificate=cert).exists()  # key destroyed
    result = services.signature_verify(signature=sig_before)
    assert result.valid and "吊销" in result.check("revocation").message
    with pytest.raises(services.NoCertificate):
        _sign(signer)
    # A signature whose trusted time is after the revocation fails the revocation check.
    Certificate.objects.filter(pk=cert.pk).update(
        revoked_at=sig_before.timestamp_time - dt.timedelta(seconds=1))
    sig_before.refresh_from_db()
    assert services.signature_verify(signature=sig_before).failed == ["revocation"]


def test_expired_certificate_cannot_sign_and_fails_validity(signer):
    sig = _sign(signer)
    cert = certificate_active_for_user(user=signer)
    # Certificate expired before the signing time (a back-dated/forged case).
    Certificate.objects.filter(pk=cert.pk).update(
        not_after=sig.timestamp_time - dt.timedelta(days=1))
    sig.refresh_from_db()
    result = services.signature_verify(signature=sig)
    assert result.failed == ["validity"]
    assert "已过期" in result.check("validity").message
    with pytest.raises(services.NoCertificate):
        _sign(signer)


def test_certificate_that_expired_after_signing_keeps_the_signature_valid(signer):
    now = timezone.now()
    sig = _sign(signer)
    cert = certificate_active_for_user(user=signer)
    later = now + dt.timedelta(days=800)
    Certificate.objects.filter(pk=cert.pk).update(not_after=now + dt.timedelta(hours=1))
    sig.refresh_from_db()
    assert later > sig.certificate.not_after
    assert services.signature_verify(signature=sig).valid


def test_wrong_pin_lockout_five_then_thirty_minutes(signer, settings):
    for remaining in (4, 3, 2, 1):
        with pytest.raises(services.PinWrong) as exc:
            services.sign_step(user=signer, pin="000000", subject="x:1", payload={})
        assert exc.value.status == 403 and str(remaining) in exc.value.message
    with pytest.raises(services.PinLocked) as exc:
        services.sign_step(user=signer, pin="000000", subject="x:1", payload={})
    assert exc.value.status == 429
    # Locked: even the right PIN is refused.
    with pytest.raises(services.PinLocked):
        services.sign_step(user=signer, pin=PIN, subject="x:1", payload={})
    state = PinState.objects.get(owner=f"user:{signer.pk}")
    assert state.locked_until - timezone.now() > dt.timedelta(minutes=29)
    # 31 minutes later the right PIN works and resets the counter.
    PinState.objects.filter(pk=state.pk).update(
        locked_until=timezone.now() - dt.timedelta(minutes=1),
        first_failure_at=timezone.now() - dt.timedelta(minutes=31))
    assert services.sign_step(user=signer, pin=PIN, subject="x:1", payload={}).pk
    state.refresh_from_db()
    assert state.failures == 0
    outcomes = list(AuditLog.objects.filter(object_type="esign.pin").values_list(
        "outcome", flat=True))
    assert outcomes.count("wrong_pin") == 4 and outcomes.count("pin_locked") == 2


def test_pin_check_cannot_be_rolled_back_by_the_caller(signer):
    """A wrong PIN is committed at once; inside a caller's transaction (which could roll the
    counter back) the PIN check refuses to run at all."""
    with pytest.raises(services.PinWrong):
        services.signer_unlock(user=signer, pin="999999")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.signer_unlock(user=signer, pin="999998")
    assert PinState.objects.get(owner=f"user:{signer.pk}").failures == 1


def test_sign_step_inside_a_transaction_needs_unlock_first(signer):
    with pytest.raises(RuntimeError, match="signer_unlock"), transaction.atomic():
        services.sign_step(user=signer, pin=PIN, subject="x:1", payload={})
    key = services.signer_unlock(user=signer, pin=PIN)
    with transaction.atomic():
        sig = services.sign_step(user=signer, unlocked=key, subject="x:1", payload={"a": 1})
    assert services.signature_verify(signature=sig).valid


def test_unlocked_key_is_bound_to_its_user(signer, make_user):
    other = make_user("dr.wang")
    services.certificate_issue(by=None, profile="sm2", pin=PIN, user=other)
    key = services.signer_unlock(user=signer, pin=PIN)
    with pytest.raises(services.PermissionDenied):
        services.sign_step(user=other, unlocked=key, subject="x:1", payload={})


def test_private_key_is_encrypted_at_rest(signer):
    cert = certificate_active_for_user(user=signer)
    blob = bytes(SigningKey.objects.get(certificate=cert).encrypted_key)
    key = services.signer_unlock(user=signer, pin=PIN).key
    assert key.pkcs8_der() not in blob and key.pkcs8_der()[-32:] not in blob
    state = PinState.objects.get(owner=f"user:{signer.pk}")
    material = keystore.pin_material("000000", bytes(state.salt), state.iterations)
    with pytest.raises(Exception):  # noqa: B017 - any decryption failure
        keystore.unwrap_private_key(blob, fingerprint=cert.fingerprint, material=material)


def test_pin_change_rewraps_keys(signer):
    services.signer_pin_change(user=signer, old_pin=PIN, new_pin="864200")
    with pytest.raises(services.PinWrong):
        services.signer_unlock(user=signer, pin=PIN)
    assert services.signer_unlock(user=signer, pin="864200").key


def test_renew_supersedes_the_old_certificate(signer):
    old = certificate_active_for_user(user=signer)
    sig = _sign(signer)
    new = services.certificate_renew(by=None, certificate=old, pin=PIN)
    old.refresh_from_db()
    assert old.revocation_reason == "superseded" and old.superseded_by == new
    assert certificate_active_for_user(user=signer) == new
    assert services.signature_verify(signature=sig).valid
    assert _sign(signer).certificate == new


def test_issue_rights(signer, make_user):
    other = make_user("clerk", role="hospital_clerk")
    with pytest.raises(services.PermissionDenied):
        services.certificate_issue(by=other, profile="sm2", pin=PIN, user=signer)
    cert = services.certificate_issue(by=other, profile="ecdsa", pin="246813", user=other)
    assert cert.user == other and cert.profile == "ecdsa"


def test_institution_seal(make_user, tree, pki):
    seal = services.certificate_issue(by=None, profile="sm2", pin="778899", org_unit=tree["a"])
    clerk = make_user("clerk", role="hospital_clerk")
    key = services.signer_unlock(user=clerk, pin="778899", seal_org=tree["a"])
    sig = services.sign_step(user=clerk, unlocked=key, subject="waste.manifest:9",
                             payload={"kg": 12.5})
    assert sig.certificate == seal and services.signature_verify(signature=sig).valid
    outsider = make_user("clerk.b", role="hospital_clerk", unit="b")
    with pytest.raises(services.PermissionDenied):
        services.signer_unlock(user=outsider, pin="778899", seal_org=tree["a"])


def test_import_external_ca_and_verify_its_signature(signer, pki):
    """An outside CA (made here with the same builder) becomes a trust anchor; a signature
    from its UKey-held key verifies with the certificate given."""
    from phis.apps.esign.crypto import x509 as x
    from phis.apps.esign.crypto.keys import PrivateKey

    now = timezone.now()
    root_key, leaf_key = PrivateKey.generate("sm2"), PrivateKey.generate("sm2")
    root = x.build_certificate(subject=x.build_name({"country_name": "CN",
                                                     "common_name": "山东CA根"}),
                               subject_public_key_der=root_key.public_der(),
                               issuer_cert_der=None, issuer_key=root_key, kind="root",
                               not_before=now - dt.timedelta(days=1),
                               not_after=now + dt.timedelta(days=3650), path_length=1)
    leaf = x.build_certificate(subject=x.build_name({"country_name": "CN",
                                                     "common_name": "外院医生"}),
                               subject_public_key_der=leaf_key.public_der(),
                               issuer_cert_der=root, issuer_key=root_key, kind="person",
                               not_before=now - dt.timedelta(days=1),
                               not_after=now + dt.timedelta(days=365))
    content = b"referral letter"
    value = leaf_key.sign(content)
    unknown = services.verify_detached(content=content, signature_value=value,
                                       certificate_data=x.to_pem(leaf))
    assert unknown.check("chain").ok is None and unknown.status == "indeterminate"
    with pytest.raises(services.ValidationFailed):
        services.certificate_import(by=None, data=leaf, trust_anchor=True)
    services.certificate_import(by=None, data=x.to_pem(root), trust_anchor=True)
    imported = services.certificate_import(by=None, data=leaf)
    assert imported.issuer_cert.is_trust_anchor and imported.kind == "external"
    result = services.verify_detached(content=content, signature_value=value,
                                      certificate_data=leaf)
    assert result.check("chain").ok is True and result.check("signature").ok is True
    assert result.check("revocation").ok is None  # no CRL of the outside CA
    assert services.verify_detached(content=b"x", signature_value=value,
                                    certificate_data=leaf).check("signature").ok is False


def test_signing_and_verification_are_audited(signer):
    before = AuditLog.objects.count()
    sig = _sign(signer)
    services.signature_verify(signature=sig)
    rows = list(AuditLog.objects.order_by("id")[before:])
    events = [r.event_type for r in rows]
    assert AuditEventType.RECORD_SIGNED in events and AuditEventType.SIGNATURE_VERIFIED in events
    signed = next(r for r in rows if r.event_type == AuditEventType.RECORD_SIGNED)
    assert signed.object_type == "notifiable.reportcard" and signed.object_id == "123"


def test_external_tsa_is_used_when_configured(signer, settings, monkeypatch):
    calls = []

    def fake_post(url, body, timeout):
        calls.append(url)
        return services.tsa_reply(body)

    settings.PHIS_ESIGN_TSA_URL = "https://tsa.example.invalid/tsp"
    monkeypatch.setattr(services, "_http_post", fake_post)
    sig = _sign(signer)
    assert calls == ["https://tsa.example.invalid/tsp"] and sig.timestamp_time


def test_tsa_failure_blocks_signing_unless_optional(signer, settings, monkeypatch):
    def down(url, body, timeout):
        raise OSError("connection refused")

    settings.PHIS_ESIGN_TSA_URL = "https://tsa.example.invalid/tsp"
    monkeypatch.setattr(services, "_http_post", down)
    with pytest.raises(services.ApplicationError) as exc:
        _sign(signer)
    assert exc.value.code == "tsa_unavailable"
    settings.PHIS_ESIGN_REQUIRE_TIMESTAMP = False
    sig = _sign(signer)
    assert sig.timestamp_response is None
    assert services.signature_verify(signature=sig).status == "indeterminate"


def test_demo_setup(tree, make_user):
    make_user("demo.city", role="city_cdc", unit="city")
    counts = services.esign_demo_setup()
    assert counts == {"created_users": 2, "issued": 3}
    from phis.core.accounts.models import User

    sm2_user = User.objects.get(username="demo.signer")
    ecdsa_user = User.objects.get(username="demo.signer.ecdsa")
    assert sm2_user.org_unit == tree["a"] and sm2_user.role == "county_cdc_reviewer"
    assert services.sign_step(user=sm2_user, pin="246810", subject="x:1",
                              payload={}).profile == "sm2"
    assert services.sign_step(user=ecdsa_user, pin="246810", subject="x:1",
                              payload={}).profile == "ecdsa"
    assert services.esign_demo_setup() == {"created_users": 0, "issued": 0}


def test_crl_lists_revoked_serials(signer):
    from phis.apps.esign.crypto.x509 import parse_crl

    cert = certificate_active_for_user(user=signer)
    services.certificate_revoke(by=None, certificate=cert, reason="key_compromise")
    crl = parse_crl(bytes(services.crl_current(profile="sm2").der))
    serials = [e["user_certificate"].native for e in crl["tbs_cert_list"]["revoked_certificates"]]
    assert cert.serial in serials
