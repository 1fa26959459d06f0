"""Log-in, second factor, log-out and password pages."""

from __future__ import annotations

import segno
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from phis.core.accounts.middleware import SECOND_FACTOR_OK
from phis.core.accounts.services import (
    LoginOutcome,
    login_attempt,
    password_change,
    totp_begin_enrolment,
    totp_confirm_enrolment,
    totp_verify,
)
from phis.core.exceptions import ValidationFailed


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return "/"
    return target


@never_cache
def login_view(request):
    context = {"next": _next_url(request)}
    status = 200
    if request.method == "POST":
        result = login_attempt(request=request, username=request.POST.get("username", ""),
                               password=request.POST.get("password", ""))
        if result.outcome == LoginOutcome.OK:
            login(request, result.user)  # rotates the session key (no fixation)
            if result.user.requires_second_factor:
                request.session["phis_next"] = context["next"]
                return redirect("accounts:totp_verify" if result.user.totp_confirmed_at
                                else "accounts:totp_enrol")
            return redirect(context["next"])
        context["error"], context["error_en"] = result.message
        context["username"] = request.POST.get("username", "")
        status = 429 if result.outcome == LoginOutcome.LOCKED else 401
    return render(request, "accounts/login.html", context, status=status)


@require_POST
def logout_view(request):
    logout(request)
    return redirect("accounts:login")


@never_cache
@login_required
def totp_verify_view(request):
    error = None
    if request.method == "POST":
        if totp_verify(user=request.user, code=request.POST.get("code", "")):
            request.session[SECOND_FACTOR_OK] = True
            return redirect(request.session.pop("phis_next", "/"))
        error = True
    return render(request, "accounts/totp_verify.html", {"error": error},
                  status=401 if error else 200)


@never_cache
@login_required
def totp_enrol_view(request):
    user = request.user
    error = None
    if request.method == "POST" and request.POST.get("code"):
        try:
            totp_confirm_enrolment(user=user, code=request.POST["code"])
        except ValidationFailed as exc:
            error = exc
        else:
            request.session[SECOND_FACTOR_OK] = True
            return redirect(request.session.pop("phis_next", "/"))
    uri = request.session.get("phis_totp_uri")
    if request.method == "GET" or not uri:
        uri = totp_begin_enrolment(user=user)
        request.session["phis_totp_uri"] = uri
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4)
    secret = uri.split("secret=")[1].split("&")[0]
    return render(request, "accounts/totp_enrol.html",
                  {"qr_svg": qr_svg, "secret": secret, "error": error})


@never_cache
@login_required
def password_change_view(request):
    error = None
    if request.method == "POST":
        try:
            password_change(user=request.user, old_password=request.POST.get("old_password", ""),
                            new_password=request.POST.get("new_password", ""))
        except ValidationFailed as exc:
            error = exc
        else:
            from django.contrib.auth import update_session_auth_hash

            update_session_auth_hash(request, request.user)
            return redirect("ui:home")
    return render(request, "accounts/password_change.html", {"error": error},
                  status=422 if error else 200)
