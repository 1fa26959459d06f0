from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "phis.core.accounts"
    label = "accounts"
    verbose_name = "C1 账号与权限 Accounts"

    def ready(self) -> None:
        from phis.core.accounts import signals  # noqa: F401
