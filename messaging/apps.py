from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Imported once the models are loaded (AppConfig.ready), never at module import.
        from campaigns.send_example import AppIds, SubscriptionGroupIds

        # Connects the worker heartbeat to Celery's worker signals (models loaded first).
        from . import ops  # noqa: F401

        # Needs the models, loaded only once ready() runs.
        from .selectors import app_ids_for_channels, sms_subscription_group_id

        # The campaign page's ready curl names a real app_id (campaigns cannot look it up).
        AppIds.lookup = staticmethod(app_ids_for_channels)
        SubscriptionGroupIds.sms = staticmethod(sms_subscription_group_id)
