import uuid

from phis.core.ops.logging import request_id_var


class RequestIdMiddleware:
    """A request id for logs, audit rows and the error page (``X-Request-ID``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if 8 <= len(incoming) <= 36 and incoming.replace("-", "").isalnum() \
            else str(uuid.uuid4())
        request.request_id = rid
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response
