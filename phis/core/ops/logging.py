"""Structured JSON logs carry the request id; 18-digit resident IDs and mobile numbers are
masked before a line is written (SECURITY.md §8 item 28)."""

import contextvars
import logging
import re

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

_RESIDENT_ID = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def scrub(text: str) -> str:
    return _MOBILE.sub(r"\1****\2", _RESIDENT_ID.sub(r"\1********\2", text))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        # django.request logs 4xx after the middleware has returned: take the id from the
        # request, and replace the request object (its repr holds the raw path and query).
        record.request_id = request_id_var.get() or getattr(request, "request_id", "")
        if request is not None and not isinstance(request, str):
            record.request = scrub(f"{getattr(request, 'method', '')} "
                                   f"{getattr(request, 'path', '')}")
        if isinstance(record.msg, str):
            # Render first, so numbers passed as int or inside objects are masked too.
            record.msg, record.args = scrub(record.getMessage()), ()
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
