"""Dashboard pages of messaging, one module per subject."""

from .views import api_keys, apps, audience, dispatches, ops, sms_webhooks

app_name = "messaging"

urlpatterns = [
    *audience.urlpatterns,
    *api_keys.urlpatterns,
    *dispatches.urlpatterns,
    *apps.urlpatterns,
    *sms_webhooks.urlpatterns,
    *ops.urlpatterns,
]
