from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "phis.apps.signals"
    label = "signals"
    verbose_name = "C4 预警与响应 Alerts and response"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phis.apps.signals import handlers, permissions  # noqa: F401  registers handlers
        from phis.apps.signals.models import DetectionConfig, Signal
        from phis.apps.signals.rules import SIGNAL_WORKFLOW
        from phis.core.audit.services import register_audited
        from phis.core.ui.portal import PortalModule, register_module
        from phis.core.workflow.definitions import workflow_register

        permissions.grant_defaults()
        workflow_register(SIGNAL_WORKFLOW)
        register_audited(DetectionConfig)
        register_audited(Signal, exclude=("updated_at", "detection_days"))
        register_module(PortalModule(
            key="signals", title="预警信号", title_en="Signals",
            url_name="signals:queue", permission=permissions.SignalPerm.VIEW,
            module_id="C4", icon="bi-broadcast", order=20))
