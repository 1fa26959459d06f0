from django.apps import AppConfig


class EsignConfig(AppConfig):
    name = "phis.apps.esign"
    label = "esign"
    verbose_name = "B4 电子签名 Electronic signature"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phis.apps.esign import permissions
        from phis.apps.esign.models import Certificate
        from phis.core.audit.services import register_audited

        permissions.grant_defaults()
        register_audited(Certificate, mask=("der",))
        from phis.core.ui.portal import PortalModule, register_module

        register_module(PortalModule(
            key="esign", title="电子签名", title_en="Electronic signatures",
            url_name="esign:home", permission=permissions.EsignPerm.VIEW_CERTIFICATES,
            module_id="B4", icon="bi-pen", order=80))
