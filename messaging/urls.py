"""Dashboard pages of messaging, one module per subject."""

from .tracking import urls as tracking_urls
from .views import (
    api_keys,
    apps,
    audience,
    dispatches,
    ops,
    schedules,
    sms_webhooks,
    trigger_content,
)

app_name = "messaging"

urlpatterns = [
    *audience.urlpatterns,
    *api_keys.urlpatterns,
    *dispatches.urlpatterns,
    *schedules.urlpatterns,
    *trigger_content.urlpatterns,
    *apps.urlpatterns,
    *sms_webhooks.urlpatterns,
    *ops.urlpatterns,
    *tracking_urls.urlpatterns,
]
