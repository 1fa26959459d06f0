"""gunicorn settings for PHIS in production (docs/operations.md, "Web processes").

    gunicorn -c deploy/gunicorn.conf.py config.wsgi:application

Every value can be overridden from the environment (GUNICORN_BIND, GUNICORN_WORKERS, ...).
Access and error log lines are masked like the application's logs (resident IDs, mobile
numbers; SECURITY.md §8 item 28) and the access line is JSON with the request id.
"""

import logging
import multiprocessing
import os

from gunicorn import glogging

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 9)))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # recycle workers now and then; jitter avoids all at once
max_requests_jitter = 200
# Only the local reverse proxy may set X-Forwarded-* (PHIS_TRUSTED_PROXY_COUNT=1).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# %(U)s is the path without the query string: search terms (IDs, names) never reach the log.
access_log_format = (
    '{"time": "%(t)s", "level": "INFO", "logger": "gunicorn.access", "method": "%(m)s", '
    '"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, '
    '"request_id": "%({x-request-id}o)s", "remote": "%({x-forwarded-for}i)s"}'
)


class _Scrub(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from phis.core.ops.logging import scrub

        record.msg, record.args = scrub(record.getMessage()), ()
        return True


class PhisLogger(glogging.Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            log.addFilter(_Scrub())


logger_class = PhisLogger
