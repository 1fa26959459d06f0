from django.shortcuts import render

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
