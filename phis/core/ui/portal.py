"""The registry of modules shown on the home portal and in the navigation.

Each module (core page or app) registers one entry from its ``AppConfig.ready`` with the
permission that opens it; the portal shows the user only what their role may use.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class PortalModule:
    key: str
    title: str          # Chinese, translated through gettext in templates
    title_en: str
    url_name: str
    permission: str
    module_id: str = ""  # plan ID, e.g. "A3"
    icon: str = "bi-grid"
    order: int = 100


_MODULES: dict[str, PortalModule] = {}


def register_module(module: PortalModule) -> None:
    _MODULES[module.key] = module


def modules_for(user) -> list[dict]:
    items = []
    for module in sorted(_MODULES.values(), key=lambda m: (m.order, m.key)):
        if not user.has_phis_perm(module.permission):
            continue
        try:
            url = reverse(module.url_name)
        except NoReverseMatch:
            continue
        items.append({"key": module.key, "title": module.title, "title_en": module.title_en,
                      "url": url, "module_id": module.module_id, "icon": module.icon})
    return items
