"""B4 pages: my certificates, verify a file, one signature with its checks (mounted at
``/esign/``)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from phis.apps.esign import selectors, services
from phis.apps.esign.permissions import EsignPerm
from phis.core.exceptions import ApplicationError
from phis.core.ui.decorators import page_requires

MAX_UPLOAD_MB = 50
MAX_UPLOAD = MAX_UPLOAD_MB * 1024 * 1024


@login_required
@page_requires(EsignPerm.VIEW_CERTIFICATES)
@require_http_methods(["GET", "POST"])
def home(request):
    error = None
    if request.method == "POST" and request.user.has_phis_perm(EsignPerm.ENROL):
        try:
            services.certificate_issue(by=request.user, user=request.user,
                                       profile=request.POST.get("profile", "sm2"),
                                       pin=request.POST.get("pin", ""))
            return redirect("esign:home")
        except ApplicationError as exc:
            error = exc
    return render(request, "esign/home.html", {
        "certificates": selectors.certificate_list(user_id=request.user.pk),
        "signatures": selectors.signature_list(user=request.user, mine=True)[:50],
        "error": error,
    })


@login_required
@page_requires(EsignPerm.VERIFY)
@require_http_methods(["GET", "POST"])
def verify(request):
    result, error = None, None
    if request.method == "POST":
        upload, sig = request.FILES.get("file"), request.FILES.get("signature")
        cert = request.FILES.get("certificate")
        if not upload or not sig:
            error = _("请上传文件和签名")
        elif upload.size > MAX_UPLOAD:
            error = _("文件过大（上限 %(mb)d MB）") % {"mb": MAX_UPLOAD_MB}
        else:
            result = services.verify_detached(content=upload.read(),
                                              signature_value=sig.read(),
                                              certificate_data=cert.read() if cert else None,
                                              by=request.user)
    return render(request, "esign/verify.html", {"result": result, "error": error})


@login_required
@page_requires(EsignPerm.VIEW_SIGNATURES)
def signature_detail(request, public_id: UUID):
    try:
        sig = selectors.signature_get(user=request.user, public_id=public_id)
    except ApplicationError:
        return render(request, "esign/not_found.html", {}, status=404)
    result = services.signature_verify(signature=sig, by=request.user)
    return render(request, "esign/signature.html", {"sig": sig, "result": result})
