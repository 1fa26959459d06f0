from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "phis.core.notify"
    label = "notify"
    verbose_name = "C1 通知 Notifications"
