from django.apps import AppConfig


class UiConfig(AppConfig):
    name = "phis.core.ui"
    label = "ui"
    verbose_name = "C1 界面 UI shell"

    def ready(self) -> None:
        from phis.core.accounts.permissions import CorePerm
        from phis.core.ui.portal import PortalModule, register_module

        for module in (
            PortalModule("persons", "人员登记", "Person registry", "people:search",
                         CorePerm.VIEW_PERSONS, "C1", order=10),
            PortalModule("orgunits", "机构与区划", "Org units", "orgunits:browse",
                         CorePerm.VIEW_ORGUNITS, "C1", order=80),
            PortalModule("audit", "审计日志", "Audit log", "audit:search",
                         CorePerm.VIEW_AUDIT, "C1", order=90),
        ):
            register_module(module)
