from django.apps import AppConfig


class OrgUnitsConfig(AppConfig):
    name = "phis.core.orgunits"
    label = "orgunits"
    verbose_name = "C1 机构与行政区划 Org units"
