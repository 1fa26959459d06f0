"""SECURITY.md §8 item 11: every URL refuses an anonymous request unless allow-listed."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

ALLOWED_PREFIXES = ("accounts/", "health", "ready", "i18n/", "o/", "static/", "api/docs",
                    "api/openapi.json", ".well-known/")


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def concrete(route: str) -> str:
    import re

    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str:|slug:|uuid:)?\w+>", "x", route)
    return "/" + route.lstrip("^").rstrip("$").replace("\\", "")


def test_anonymous_is_refused_everywhere(client):
    checked = 0
    for route in walk(get_resolver().url_patterns):
        if route.startswith(ALLOWED_PREFIXES) or "(?P" in route:
            continue
        r = client.get(concrete(route))
        assert r.status_code in (302, 401, 403, 404, 405), (route, r.status_code)
        if r.status_code == 302:
            assert "/accounts/login/" in r["Location"], route
        checked += 1
    assert checked > 5


def test_every_api_operation_declares_a_permission():
    from config.api import api

    public = {"/api/docs", "/api/openapi.json"}
    missing = []
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for op in view.operations:
                full = f"/api{prefix}{path}"
                if full in public:
                    continue
                if not getattr(op.view_func, "phis_permissions", None):
                    missing.append(full)
    assert not missing, missing
