from django.apps import AppConfig


class UiConfig(AppConfig):
    name = "phis.core.ui"
    label = "ui"
    verbose_name = "C1 界面 UI shell"
