"""Dashboard pages of messaging, one module per subject."""

from .tracking import urls as tracking_urls
from .views import api_keys, apps, audience, dispatches, exports, ops, sms_webhooks

app_name = "messaging"

urlpatterns = [
    *audience.urlpatterns,
    *api_keys.urlpatterns,
    *dispatches.urlpatterns,
    *apps.urlpatterns,
    *sms_webhooks.urlpatterns,
    *exports.urlpatterns,
    *ops.urlpatterns,
    *tracking_urls.urlpatterns,
]
