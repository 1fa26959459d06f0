"""A URLconf for the esign tests: the app's API and pages mounted as the lead will mount them
(``/api/esign/`` and ``/esign/``), on an API of their own."""

import os

os.environ.setdefault("NINJA_SKIP_REGISTRY", "yes")

from django.urls import include, path
from ninja import NinjaAPI

from phis.apps.esign.api import build_router
from phis.core.api import build_api


def _api() -> NinjaAPI:
    api = build_api()
    api.urls_namespace = "esign_test_api"
    api.add_router("/esign/", build_router())
    return api


api = _api()

urlpatterns = [
    path("api/", api.urls),
    path("esign/", include("phis.apps.esign.urls")),
]
