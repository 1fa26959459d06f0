"""Idle log-out and the second-factor gate (SECURITY.md §8 items 5 and 7)."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect

LAST_SEEN = "phis_last_seen"
SECOND_FACTOR_OK = "phis_second_factor_ok"
SESSION_STARTED = "phis_session_started"
ABSOLUTE_MAX_SECONDS = 12 * 3600

# Paths reachable before the second factor (or without a log-in at all). Of the OIDC
# provider only the machine-to-machine endpoints are open: /o/authorize/ signs a user in to
# another system and so needs the second factor like any page.
_OPEN_PREFIXES = ("/accounts/", "/static/", "/health", "/ready", "/i18n/", "/o/token/",
                  "/o/revoke_token/", "/o/introspect/", "/o/userinfo/", "/o/.well-known/",
                  "/.well-known/")


def _unauthorised(request, code: str, zh: str, en: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": zh, "message_en": en, "errors": []},
                            status=401)
    return redirect(f"{settings.LOGIN_URL_PATH}?next={request.path}")


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_SEEN, now)
            started = request.session.setdefault(SESSION_STARTED, now)
            idle = settings.PHIS_IDLE_TIMEOUT_MINUTES * 60
            if now - last > idle or now - started > ABSOLUTE_MAX_SECONDS:
                from phis.core.audit.services import audit_security
                from phis.core.audit.types import AuditEventType

                audit_security(event=AuditEventType.SESSION_EXPIRED, username=user.username)
                logout(request)  # flushes the session row
                return _unauthorised(request, "session_expired", "长时间未操作，请重新登录",
                                     "Logged out after inactivity; please log in again")
            request.session[LAST_SEEN] = now
        return self.get_response(request)


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and user.requires_second_factor
                and not request.session.get(SECOND_FACTOR_OK)
                and not request.path.startswith(_OPEN_PREFIXES)):
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "second_factor_required",
                                     "message": "请先完成双因素认证",
                                     "message_en": "Complete the second factor first",
                                     "errors": []}, status=403)
            target = "/accounts/2fa/verify/" if user.totp_confirmed_at \
                else "/accounts/2fa/enrol/"
            request.session["phis_next"] = request.get_full_path()  # back here afterwards
            return redirect(target)
        return self.get_response(request)
