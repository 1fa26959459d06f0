from django.apps import AppConfig


class KeyDiseasesConfig(AppConfig):
    name = "phis.apps.keydiseases"
    label = "keydiseases"
    verbose_name = "A4 重点传染病管理 Key infectious diseases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phis.apps.keydiseases import handlers, permissions  # noqa: F401  (registers)
        from phis.apps.keydiseases.models import (
            Contact,
            FollowUp,
            IliCluster,
            IliSite,
            IliWeek,
            ManagedCase,
        )
        from phis.apps.keydiseases.workflow import register as register_workflow
        from phis.core.audit.services import register_audited

        permissions.grant_defaults()
        register_workflow()
        register_audited(ManagedCase)
        register_audited(FollowUp)
        register_audited(Contact, mask=("phone_encrypted",))
        register_audited(IliSite)
        register_audited(IliWeek)
        register_audited(IliCluster)
        try:
            from phis.core.people.timeline import register_timeline_source
        except ImportError:  # the patient-360 registry is not part of this deployment
            pass
        else:
            from phis.apps.keydiseases.selectors import timeline_entries

            register_timeline_source("keydiseases.cases", "重点传染病管理",
                                     "Key infectious disease management", timeline_entries)
        from phis.core.ui.portal import PortalModule, register_module

        register_module(PortalModule(
            key="keydiseases", title="重点传染病", title_en="Key diseases",
            url_name="keydiseases:home", permission=permissions.KeyDiseasePerm.VIEW_CASES,
            module_id="A4", icon="bi-shield-plus", order=15))
        register_module(PortalModule(
            key="keydiseases_ili", title="流感样病例监测", title_en="ILI surveillance",
            url_name="keydiseases:ili_chart", permission=permissions.KeyDiseasePerm.VIEW_ILI,
            module_id="A4", icon="bi-graph-up", order=16))
