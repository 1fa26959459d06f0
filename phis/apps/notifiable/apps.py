from django.apps import AppConfig


class NotifiableConfig(AppConfig):
    name = "phis.apps.notifiable"
    label = "notifiable"
    verbose_name = "A3/A9 传染病报告 Notifiable-disease reporting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phis.apps.notifiable import permissions
        from phis.apps.notifiable.models import LabResult, ReportCard
        from phis.core.audit.services import register_audited

        permissions.grant_defaults()
        # Identifiers and address text are stored encrypted; the audit log keeps only that
        # they changed (SECURITY.md §8 item 12).
        register_audited(ReportCard, mask=("id_number_encrypted", "phone_encrypted",
                                           "address_text_encrypted"))
        register_audited(LabResult)
        # The review workflow, the signature payload builder and the event handlers
        # register on import of the services module.
        from phis.apps.notifiable import services  # noqa: F401

        try:
            from phis.apps.notifiable import timeline
        except ImportError:  # the patient-360 registry is not part of this deployment
            pass
        else:
            timeline.register()
        from phis.core.ui.portal import PortalModule, register_module

        register_module(PortalModule(
            key="notifiable", title="传染病报告", title_en="Notifiable diseases",
            url_name="notifiable:home", permission=permissions.NotifiablePerm.VIEW_CARDS,
            module_id="A3", icon="bi-clipboard2-pulse", order=10))
