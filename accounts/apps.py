from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and audit"

    def ready(self) -> None:
        # Wiring only: the login signals and keeping the Admin role complete (signals.py).
        from . import signals  # noqa: F401  (connects receivers; needs the app registry)
