"""B4 electronic signature API (mounted at ``/api/esign/``). Private keys are never
returned; signing needs the caller's own session (or bearer token) plus the PIN."""


from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from phis.apps.esign import selectors, services
from phis.apps.esign.crypto import x509 as x509_mod
from phis.apps.esign.permissions import EsignPerm
from phis.apps.esign.schemas import (
    CertificateOut,
    EnrolIn,
    ImportIn,
    IssueIn,
    PinChangeIn,
    RenewIn,
    RevokeIn,
    SignatureOut,
    SignRecordIn,
    VerificationOut,
    VerifyRecordIn,
)
from phis.core.api import requires
from phis.core.exceptions import ApplicationError, FieldError, ValidationFailed

_ROUTES: list[tuple[str, str, object, dict]] = []


def _route(method: str, path: str, **kwargs):
    def decorator(func):
        _ROUTES.append((method, path, func, kwargs))
        return func

    return decorator

MAX_UPLOAD = 50 * 1024 * 1024


def _read(upload: UploadedFile, field: str) -> bytes:
    if upload.size is not None and upload.size > MAX_UPLOAD:
        raise ValidationFailed([FieldError(field, "too_large", "文件过大(上限50MB)",
                                           "File too large (50 MB maximum)")])
    return upload.read()


# --- certificates -------------------------------------------------------------------------

@_route("get", "/certificates", response=list[CertificateOut], summary="List certificates")
@requires(EsignPerm.VIEW_CERTIFICATES)
def certificate_list_api(request, username: str = "", kind: str = "", profile: str = "",
                         status: str = "", limit: int = 100):
    user_id = None
    if username:
        user = services.user_by_username(username)
        user_id = user.pk if user else -1
    certs = selectors.certificate_list(user_id=user_id, kind=kind, profile=profile,
                                       status=status)[:max(1, min(limit, 500))]
    return [CertificateOut.of(c) for c in certs]


@_route("get", "/certificates/mine", response=list[CertificateOut], summary="My certificates")
@requires(EsignPerm.VIEW_CERTIFICATES)
def certificate_mine_api(request):
    return [CertificateOut.of(c) for c in selectors.certificate_list(user_id=request.user.pk)]


@_route("get", "/certificates/{cert_id}", response=CertificateOut, summary="One certificate")
@requires(EsignPerm.VIEW_CERTIFICATES)
def certificate_detail_api(request, cert_id: UUID):
    return CertificateOut.of(selectors.certificate_get(public_id=cert_id))


@_route("get", "/certificates/{cert_id}/pem", summary="Certificate as PEM")
@requires(EsignPerm.VIEW_CERTIFICATES)
def certificate_pem_api(request, cert_id: UUID):
    cert = selectors.certificate_get(public_id=cert_id)
    return HttpResponse(x509_mod.to_pem(bytes(cert.der)), content_type="application/x-pem-file")


@_route("post", "/certificates/enrol", response={201: CertificateOut},
             summary="Get a certificate for myself (I choose the PIN)")
@requires(EsignPerm.ENROL)
def certificate_enrol_api(request, payload: EnrolIn):
    cert = services.certificate_issue(by=request.user, user=request.user,
                                      profile=payload.profile, pin=payload.pin)
    return Status(201, CertificateOut.of(cert))


@_route("post", "/certificates", response={201: CertificateOut},
             summary="Issue a certificate to a person or an institution (CA admin)")
@requires(EsignPerm.MANAGE_CA)
def certificate_issue_api(request, payload: IssueIn):
    user, org_unit = services.holder_lookup(username=payload.username,
                                            org_unit_code=payload.org_unit_code)
    cert = services.certificate_issue(by=request.user, user=user, org_unit=org_unit,
                                      profile=payload.profile, pin=payload.pin,
                                      days=payload.days, replace_pin=payload.replace_pin)
    return Status(201, CertificateOut.of(cert))


@_route("post", "/certificates/{cert_id}/revoke", response=CertificateOut,
             summary="Revoke (CA admin, or the holder for their own)")
@requires(EsignPerm.VIEW_CERTIFICATES)
def certificate_revoke_api(request, cert_id: UUID, payload: RevokeIn):
    cert = selectors.certificate_get(public_id=cert_id)
    return CertificateOut.of(services.certificate_revoke(by=request.user, certificate=cert,
                                                         reason=payload.reason))


@_route("post", "/certificates/{cert_id}/renew", response={201: CertificateOut},
             summary="Renew: new key pair, the old certificate is superseded")
@requires(EsignPerm.ENROL)
def certificate_renew_api(request, cert_id: UUID, payload: RenewIn):
    cert = selectors.certificate_get(public_id=cert_id)
    if cert.user_id != request.user.pk and not request.user.has_phis_perm(EsignPerm.MANAGE_CA):
        from phis.core.exceptions import PermissionDenied

        raise PermissionDenied()
    new = services.certificate_renew(by=request.user, certificate=cert, pin=payload.pin)
    return Status(201, CertificateOut.of(new))


@_route("post", "/certificates/import", response={201: CertificateOut},
             summary="Import a certificate of an external CA")
@requires(EsignPerm.MANAGE_CA)
def certificate_import_api(request, payload: ImportIn):
    cert = services.certificate_import(by=request.user, data=payload.pem.encode(),
                                       trust_anchor=payload.trust_anchor)
    return Status(201, CertificateOut.of(cert))


@_route("get", "/chain", summary="PEM of the platform CA chain (issuing CA then root)")
@requires(EsignPerm.VIEW_CERTIFICATES)
def chain_api(request, profile: str = ""):
    if profile not in ("", "sm2", "ecdsa"):
        raise ValidationFailed([FieldError("profile", "invalid_choice", "算法无效",
                                           "Unknown profile")])
    return HttpResponse(services.chain_pem(profile), content_type="application/x-pem-file")


@_route("get", "/crl/{profile}.crl", summary="Current CRL of the issuing CA (DER)")
@requires(EsignPerm.VIEW_CERTIFICATES)
def crl_api(request, profile: str):
    if profile not in ("sm2", "ecdsa"):
        raise ValidationFailed([FieldError("profile", "invalid_choice", "算法无效",
                                           "Unknown profile")])
    return HttpResponse(bytes(services.crl_current(profile=profile).der),
                        content_type="application/pkix-crl")


@_route("post", "/pin", response={204: None}, summary="Change my signing PIN")
@requires(EsignPerm.SIGN)
def pin_change_api(request, payload: PinChangeIn):
    services.signer_pin_change(user=request.user, old_pin=payload.old_pin,
                               new_pin=payload.new_pin)
    return Status(204, None)


# --- signing --------------------------------------------------------------------------------

@_route("post", "/sign/record", response={201: SignatureOut},
             summary="Sign a record's canonical JSON (phis-jcs/1) with my key + PIN")
@requires(EsignPerm.SIGN)
def sign_record_api(request, payload: SignRecordIn):
    sig = services.sign_step(user=request.user, pin=payload.pin,
                             subject=(payload.subject_type, payload.subject_id),
                             payload=payload.payload, step=payload.step, reason=payload.reason,
                             profile=payload.profile or "")
    return Status(201, SignatureOut.of(sig))


@_route("post", "/sign/file", response={201: SignatureOut},
             summary="Sign a file (detached signature over its bytes)")
@requires(EsignPerm.SIGN)
def sign_file_api(request, file: File[UploadedFile], pin: Form[str],
                  subject_type: Form[str] = "", subject_id: Form[str] = "",
                  reason: Form[str] = ""):
    subject = (subject_type, subject_id) if subject_type and subject_id else None
    sig = services.sign_file(user=request.user, pin=pin, content=_read(file, "file"),
                             filename=file.name or "", subject=subject, reason=reason)
    return Status(201, SignatureOut.of(sig))


# --- signatures and verification ---------------------------------------------------------------

@_route("get", "/signatures", response=list[SignatureOut], summary="Signatures (scoped)")
@requires(EsignPerm.VIEW_SIGNATURES)
def signature_list_api(request, subject_type: str = "", subject_id: str = "",
                       mine: bool = False, limit: int = 100):
    sigs = selectors.signature_list(user=request.user, subject_type=subject_type,
                                    subject_id=subject_id, mine=mine)[:max(1, min(limit, 500))]
    return [SignatureOut.of(s) for s in sigs]


@_route("get", "/signatures/{sig_id}", response=SignatureOut, summary="One signature")
@requires(EsignPerm.VIEW_SIGNATURES)
def signature_detail_api(request, sig_id: UUID):
    return SignatureOut.of(selectors.signature_get(user=request.user, public_id=sig_id))


_EXPORTS = {"sig": ("signature_value", "application/octet-stream", "sig"),
            "tsr": ("timestamp_response", "application/timestamp-reply", "tsr"),
            "cms": ("cms", "application/pkcs7-signature", "p7s")}


@_route("get", "/signatures/{sig_id}/{part}", summary="Export: sig (DER), tsr (RFC 3161), cms")
@requires(EsignPerm.VIEW_SIGNATURES)
def signature_export_api(request, sig_id: UUID, part: str):
    sig = selectors.signature_get(user=request.user, public_id=sig_id)
    if part not in _EXPORTS or getattr(sig, _EXPORTS[part][0]) is None:
        from django.http import Http404

        raise Http404
    attr, mime, ext = _EXPORTS[part]
    response = HttpResponse(bytes(getattr(sig, attr)), content_type=mime)
    response["Content-Disposition"] = f'attachment; filename="{sig.public_id}.{ext}"'
    return response


@_route("post", "/signatures/{sig_id}/verify", response=VerificationOut,
             summary="Verify a stored signature (optionally against the record as it is now)")
@requires(EsignPerm.VERIFY)
def signature_verify_api(request, sig_id: UUID, payload: VerifyRecordIn):
    sig = selectors.signature_get(user=request.user, public_id=sig_id)
    result = services.signature_verify(signature=sig, by=request.user,
                                       payload=payload.payload)
    return result.as_dict()


@_route("post", "/signatures/{sig_id}/verify-file", response=VerificationOut,
             summary="Verify a stored file signature against an uploaded file")
@requires(EsignPerm.VERIFY)
def signature_verify_file_api(request, sig_id: UUID, file: File[UploadedFile]):
    sig = selectors.signature_get(user=request.user, public_id=sig_id)
    return services.signature_verify(signature=sig, content=_read(file, "file"),
                                     by=request.user).as_dict()


@_route("post", "/verify", response=VerificationOut,
             summary="Verify a file with its detached DER signature (and certificate)")
@requires(EsignPerm.VERIFY)
def verify_detached_api(request, file: File[UploadedFile], signature: File[UploadedFile],
                        certificate: File[UploadedFile] | None = None):
    result = services.verify_detached(
        content=_read(file, "file"), signature_value=_read(signature, "signature"),
        certificate_data=_read(certificate, "certificate") if certificate else None,
        by=request.user)
    return result.as_dict()


@_route("post", "/tsa", summary="RFC 3161 time-stamping (application/timestamp-query)")
@requires(EsignPerm.SIGN)
def tsa_api(request: HttpRequest):
    if request.content_type != "application/timestamp-query":
        raise ApplicationError(code="unsupported_media_type",
                               message="请求格式应为application/timestamp-query",
                               message_en="Content-Type must be application/timestamp-query",
                               status=415)
    body = request.body
    if len(body) > 10_000:
        raise ApplicationError(code="too_large", message="时间戳请求过大(上限10KB)",
                               message_en="Time-stamp query too large (10 KB maximum)",
                               status=413)
    return HttpResponse(services.tsa_reply(body), content_type="application/timestamp-reply")


def build_router() -> Router:
    """A fresh Router with every endpoint (a Ninja router can join one API only; tests build
    their own)."""
    router = Router(tags=["B4 electronic signature 电子签名"])
    # Fixed paths before parameterised ones ("/certificates/enrol" before "/{cert_id}").
    for method, path, func, kwargs in sorted(_ROUTES, key=lambda r: r[1].count("{")):
        getattr(router, method)(path, **kwargs)(func)
    return router


router = build_router()
