from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "phis.core.ops"
    label = "ops"
    verbose_name = "C1 运维 Operations"
