from django.apps import AppConfig


class EpiConfig(AppConfig):
    name = "phis.apps.epi"
    label = "epi"
    verbose_name = "A3/C4 疫情分析 Epidemic analysis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phis.apps.epi import permissions
        from phis.apps.epi.models import SituationReport
        from phis.core.audit.services import register_audited
        from phis.core.ui.portal import PortalModule, register_module

        permissions.grant_defaults()
        register_audited(SituationReport)
        register_module(PortalModule(
            key="epi", title="疫情分析", title_en="Epidemic analysis",
            url_name="epi:dashboard", permission=permissions.EpiPerm.VIEW,
            module_id="C4", icon="bi-graph-up", order=15))
