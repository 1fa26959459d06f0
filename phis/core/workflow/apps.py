from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "phis.core.workflow"
    label = "workflow"
    verbose_name = "C1 工作流 Workflow"
