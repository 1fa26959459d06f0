from django.shortcuts import render
from django.utils.cache import patch_cache_control

from phis.core.exceptions import ApplicationError


class ApplicationErrorPageMiddleware:
    """Pages: an ApplicationError from a service becomes a friendly page with its status
    (404 outside the user's scope, 403 without permission...). The API has its own handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ApplicationError) and not request.path.startswith("/api/"):
            return render(request, "ui/error.html", {"error": exception},
                          status=exception.status)
        return None


# SECURITY.md §8 item 30: no inline or eval'd script anywhere (Alpine runs its CSP build;
# charts read their options from JSON blocks). Inline styles stay allowed: htmx and ECharts
# set them.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:", "font-src 'self' data:", "connect-src 'self'",
    "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'",
])
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(self), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """CSP and Permissions-Policy on every response; ``no-store`` on every authenticated
    response, since pages and API answers carry personal data (item 28)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and \
                not request.path.startswith("/static/"):
            patch_cache_control(response, no_store=True, private=True)
        return response
