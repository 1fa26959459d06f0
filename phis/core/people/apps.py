from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "phis.core.people"
    label = "people"
    verbose_name = "C1 人员登记 Person registry"

    def ready(self) -> None:
        from phis.core.audit.services import register_audited
        from phis.core.people.models import Person, PersonIdentifier

        register_audited(Person, mask=("phone_encrypted", "address_text_encrypted",
                                       "phone_index"))
        register_audited(PersonIdentifier, mask=("number_encrypted", "number_index"))
        # The MPI's permissions and the core timeline sources of the patient 360 view.
        from phis.core.people import mpi_rules, timeline_core  # noqa: F401
