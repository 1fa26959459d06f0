"""Sets the audit actor (user, org, proxy-aware IP, request id) for each request."""

from __future__ import annotations

from django.conf import settings

from phis.core.audit.context import actor_for_user, reset_actor, set_actor


def client_ip(request) -> str:
    # Behind the reverse proxy the client is the last hop the proxy appended
    # (docs/operations.md sets PHIS_TRUSTED_PROXY_COUNT).
    hops = getattr(settings, "PHIS_TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        parts = [p.strip() for p in forwarded.split(",") if p.strip()]
        if len(parts) >= hops:
            return parts[-hops]
    return request.META.get("REMOTE_ADDR", "")


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        channel = "api" if request.path.startswith("/api/") else "page"
        actor = actor_for_user(getattr(request, "user", None), ip_address=client_ip(request),
                               request_id=getattr(request, "request_id", ""), channel=channel)
        token = set_actor(actor)
        try:
            return self.get_response(request)
        finally:
            reset_actor(token)
