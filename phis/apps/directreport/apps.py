from django.apps import AppConfig


class DirectReportConfig(AppConfig):
    name = "phis.apps.directreport"
    label = "directreport"
    verbose_name = "A3 网络直报交换 Direct-report exchange"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phis.apps.directreport import handlers, permissions  # noqa: F401 (registers)
        from phis.apps.directreport.models import ExternalCard, InboundBatch, OutboundBatch
        from phis.core.audit.services import register_audited

        permissions.grant_defaults()
        register_audited(OutboundBatch, mask=("content_encrypted", "ack_content"))
        register_audited(InboundBatch, mask=("content_encrypted", "ack_content"))
        register_audited(ExternalCard)
        from phis.core.ui.portal import PortalModule, register_module

        register_module(PortalModule(
            key="directreport", title="网络直报与三级网格", title_en="Direct report & grid",
            url_name="directreport:grid", permission=permissions.DirectReportPerm.VIEW_GRID,
            module_id="A3", icon="bi-grid-3x3", order=11))
