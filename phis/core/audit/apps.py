from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "phis.core.audit"
    label = "audit"
    verbose_name = "C1 审计 Audit"
