"""``phis esign …``: the B4 operator and outside-checking commands.

    phis esign init-ca
    phis esign issue USERNAME [--profile sm2|ecdsa] [--org CODE] [--days N] [--replace-pin]
    phis esign revoke SERIAL|ID [--reason key_compromise]
    phis esign renew USERNAME [--profile sm2]
    phis esign import FILE [--trust-anchor]
    phis esign crl --profile sm2 --out sm2.crl [--pem]
    phis esign sign FILE --signer USERNAME --out FILE.sig [--tsr FILE.tsr] [--cms FILE.p7s]
    phis esign verify FILE FILE.sig [--cert cert.pem] [--json]
    phis esign export-cert USERNAME --out cert.pem [--profile sm2]
    phis esign export-chain --out chain.pem [--profile sm2]
    phis esign timestamp FILE --out FILE.tsr
    phis esign unlock-pin USERNAME
    phis esign demo-setup

The PIN is read from ``PHIS_SIGN_PIN`` or asked for (never echoed, never an argument).
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from phis.apps.esign import selectors, services
from phis.apps.esign.crypto import cms as cms_mod
from phis.apps.esign.crypto import x509 as x509_mod
from phis.core.audit.context import AuditActor, actor_for_user, audit_context
from phis.core.exceptions import ApplicationError


def _pin(prompt: str = "签名PIN / signing PIN: ", confirm: bool = False) -> str:
    pin = os.environ.get("PHIS_SIGN_PIN")
    if pin:
        return pin
    pin = getpass.getpass(prompt)
    if confirm and getpass.getpass("再次输入 / again: ") != pin:
        raise CommandError("PINs differ")
    return pin


class Command(BaseCommand):
    help = "B4 electronic signatures: CA, signing, verification, exports"
    requires_system_checks: list = []

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("init-ca", help="create the platform CA and TSA (idempotent)")
        p = sub.add_parser("issue", help="issue a certificate to a user or an org unit")
        p.add_argument("username", nargs="?")
        p.add_argument("--org", default="")
        p.add_argument("--profile", choices=["sm2", "ecdsa"], default="sm2")
        p.add_argument("--days", type=int)
        p.add_argument("--replace-pin", action="store_true")
        p = sub.add_parser("revoke")
        p.add_argument("certificate", help="serial (hex) or certificate id")
        p.add_argument("--reason", default="unspecified")
        p = sub.add_parser("renew")
        p.add_argument("username")
        p.add_argument("--profile", choices=["sm2", "ecdsa"], default="")
        p = sub.add_parser("import")
        p.add_argument("file")
        p.add_argument("--trust-anchor", action="store_true")
        p = sub.add_parser("crl")
        p.add_argument("--profile", choices=["sm2", "ecdsa"], default="sm2")
        p.add_argument("--out", required=True)
        p.add_argument("--pem", action="store_true")
        p = sub.add_parser("sign", help="detached DER signature over a file")
        p.add_argument("file")
        p.add_argument("--signer", required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--profile", choices=["sm2", "ecdsa"], default="")
        p.add_argument("--tsr", default="", help="also write the RFC 3161 time-stamp reply")
        p.add_argument("--cms", default="", help="also write the CMS (ECDSA profile)")
        p.add_argument("--subject", default="", help="type:id of the record signed")
        p = sub.add_parser("verify")
        p.add_argument("file")
        p.add_argument("signature")
        p.add_argument("--cert", default="")
        p.add_argument("--json", action="store_true")
        p = sub.add_parser("export-cert")
        p.add_argument("username")
        p.add_argument("--out", required=True)
        p.add_argument("--profile", choices=["sm2", "ecdsa"], default="")
        p = sub.add_parser("export-chain")
        p.add_argument("--out", required=True)
        p.add_argument("--profile", choices=["sm2", "ecdsa"], default="")
        p = sub.add_parser("timestamp")
        p.add_argument("file")
        p.add_argument("--out", required=True)
        p = sub.add_parser("unlock-pin")
        p.add_argument("username")
        sub.add_parser("demo-setup")

    def handle(self, *args, **opts):
        action = opts["action"].replace("-", "_")
        try:
            with audit_context(AuditActor(username="cli", channel="cli")):
                return getattr(self, f"do_{action}")(**opts) or None
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} / {exc.message_en}") from None

    # --- helpers -------------------------------------------------------------------------------
    def _user(self, username: str):
        user = services.user_by_username(username)
        if user is None:
            raise CommandError(f"no user {username!r}")
        return user

    def _write(self, path: str, data: bytes) -> None:
        Path(path).write_bytes(data)
        self.stdout.write(f"wrote {path} ({len(data)} bytes)")

    # --- actions -------------------------------------------------------------------------------
    def do_init_ca(self, **_):
        for profile, cas in services.ca_ensure().items():
            self.stdout.write(f"{profile}: root {cas.root.serial_hex} issuing "
                              f"{cas.issuing.serial_hex}")

    def do_issue(self, username, org, profile, days, replace_pin, **_):
        user, org_unit = services.holder_lookup(username=username, org_unit_code=org or None)
        cert = services.certificate_issue(by=None, user=user, org_unit=org_unit,
                                          profile=profile, pin=_pin(confirm=True), days=days,
                                          replace_pin=replace_pin)
        self.stdout.write(f"issued {cert.profile} certificate {cert.serial_hex} to "
                          f"{cert.subject_dn}, valid until {cert.not_after:%Y-%m-%d}")

    def _cert(self, ident: str):
        cert = selectors.certificate_list().filter(
            serial_hex=ident.lower().removeprefix("0x").lstrip("0")).first()
        if cert is None:
            try:
                cert = selectors.certificate_get(public_id=ident)
            except Exception:
                raise CommandError(f"no certificate {ident!r}") from None
        return cert

    def do_revoke(self, certificate, reason, **_):
        cert = services.certificate_revoke(by=None, certificate=self._cert(certificate),
                                           reason=reason)
        self.stdout.write(f"revoked {cert.serial_hex} ({cert.revocation_reason})")

    def do_renew(self, username, profile, **_):
        user = self._user(username)
        cert = selectors.certificate_active_for_user(user=user, profile=profile)
        if cert is None:
            raise CommandError("no active certificate to renew")
        new = services.certificate_renew(by=None, certificate=cert, pin=_pin())
        self.stdout.write(f"renewed: {cert.serial_hex} -> {new.serial_hex}")

    def do_import(self, file, trust_anchor, **_):
        cert = services.certificate_import(by=None, data=Path(file).read_bytes(),
                                           trust_anchor=trust_anchor)
        self.stdout.write(f"imported {cert.kind} {cert.subject_dn} ({cert.fingerprint[:16]})")

    def do_crl(self, profile, out, pem, **_):
        der = bytes(services.crl_current(profile=profile).der)
        self._write(out, x509_mod.to_pem(der, "X509 CRL") if pem else der)

    def do_sign(self, file, signer, out, profile, tsr, cms, subject, **_):
        user = self._user(signer)
        content = Path(file).read_bytes()
        with audit_context(actor_for_user(user, channel="cli")):
            sig = services.sign_file(user=user, pin=_pin(), content=content,
                                     filename=Path(file).name, profile=profile,
                                     subject=subject or None)
        self._write(out, bytes(sig.signature_value))
        if tsr and sig.timestamp_response:
            self._write(tsr, bytes(sig.timestamp_response))
        if cms:
            if sig.cms is None:
                raise CommandError("CMS is made for the ECDSA profile only (OpenSSL 3.0 "
                                   "cannot handle SM2 CMS)")
            self._write(cms, bytes(sig.cms))
        self.stdout.write(f"signature {sig.public_id} {sig.algorithm} "
                          f"{sig.digest_algorithm}:{sig.digest} "
                          f"time-stamp {sig.timestamp_time or '-'}")

    def do_verify(self, file, signature, cert, json: bool = False, **_):
        result = services.verify_detached(
            content=Path(file).read_bytes(), signature_value=Path(signature).read_bytes(),
            certificate_data=Path(cert).read_bytes() if cert else None)
        if json:
            self.stdout.write(_json(result.as_dict()))
        else:
            for c in result.checks:
                mark = {True: "OK  ", False: "FAIL", None: "??  "}[c.ok]
                self.stdout.write(f"{mark} {c.name:<10} {c.message} / {c.message_en}")
            self.stdout.write(f"{result.status.upper()}"
                              + (f" (failed: {', '.join(result.failed)})" if result.failed
                                 else ""))
        if not result.valid:
            raise CommandError(f"signature {result.status}")

    def do_export_cert(self, username, out, profile, **_):
        user = self._user(username)
        cert = selectors.certificate_active_for_user(user=user, profile=profile) or \
            selectors.certificate_list(user_id=user.pk, profile=profile).first()
        if cert is None:
            raise CommandError(f"{username} has no certificate")
        self._write(out, x509_mod.to_pem(bytes(cert.der)))

    def do_export_chain(self, out, profile, **_):
        self._write(out, services.chain_pem(profile))

    def do_timestamp(self, file, out, **_):
        resp = services.timestamp_obtain(Path(file).read_bytes())
        info = cms_mod.timestamp_check(cms_mod.timestamp_token_of(resp))
        self._write(out, resp)
        self.stdout.write(f"genTime {info.gen_time.isoformat()}")

    def do_unlock_pin(self, username, **_):
        services.pin_unlock_owner(by=None, owner=f"user:{self._user(username).pk}")
        self.stdout.write("unlocked")

    def do_demo_setup(self, **_):
        self.stdout.write(str(services.esign_demo_setup()))


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
