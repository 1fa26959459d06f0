from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "phis.core.codes"
    label = "codes"
    verbose_name = "C1 代码体系 Code systems"
