from django.apps import AppConfig


class OutbreaksConfig(AppConfig):
    name = "phis.apps.outbreaks"
    label = "outbreaks"
    verbose_name = "C4 暴发疫情处置 Outbreak events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phis.apps.outbreaks import permissions
        from phis.apps.outbreaks.models import Contact, FollowUp, Outbreak, OutbreakCase
        from phis.core.audit.services import register_audited

        permissions.grant_defaults()
        register_audited(Outbreak)
        register_audited(OutbreakCase)
        register_audited(Contact, mask=("phone_encrypted", "id_number_encrypted"))
        register_audited(FollowUp)
        from phis.core.ui.portal import PortalModule, register_module

        register_module(PortalModule(
            key="outbreaks", title="暴发疫情处置", title_en="Outbreak events",
            url_name="outbreaks:list", permission=permissions.OutbreakPerm.VIEW,
            module_id="C4", icon="bi-bullseye", order=30))
        from phis.apps.esign.services import register_payload_builder
        from phis.apps.outbreaks.services import closing_payload

        register_payload_builder(
            "outbreaks.outbreak",
            lambda subject_id: closing_payload(Outbreak.objects.get(pk=int(subject_id))))
