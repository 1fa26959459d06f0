"""A URLconf for the epi tests: the pages they pass through (login, portal, language) and
the epi pages and API mounted as config/urls.py mounts them, on an API of their own, so
the tests do not depend on every other module's URLs being importable."""

import os

os.environ.setdefault("NINJA_SKIP_REGISTRY", "yes")

from django.urls import include, path
from ninja import NinjaAPI

from phis.apps.epi.api import build_router
from phis.core.api import build_api


def _api() -> NinjaAPI:
    api = build_api()
    api.urls_namespace = "epi_test_api"
    api.add_router("/epi", build_router())
    return api


api = _api()

urlpatterns = [
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("phis.core.accounts.urls")),
    path("epi/", include("phis.apps.epi.urls")),
    path("", include("phis.core.ui.urls")),
]
