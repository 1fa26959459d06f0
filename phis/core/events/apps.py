from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "phis.core.events"
    label = "events"
    verbose_name = "C1 事件与任务 Events"
