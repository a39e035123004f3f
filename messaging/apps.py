from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Connects the worker heartbeat to Celery's worker signals.
        from . import ops  # noqa: F401
