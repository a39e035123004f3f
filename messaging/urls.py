"""Dashboard pages of messaging, one module per subject."""

from .tracking import urls as tracking_urls
from .views import (
    api_keys,
    apps,
    assets,
    audience,
    dispatches,
    ops,
    sms_webhooks,
    subscription_groups,
)

app_name = "messaging"

urlpatterns = [
    *audience.urlpatterns,
    *api_keys.urlpatterns,
    *dispatches.urlpatterns,
    *apps.urlpatterns,
    *assets.urlpatterns,
    *subscription_groups.urlpatterns,
    *sms_webhooks.urlpatterns,
    *ops.urlpatterns,
    *tracking_urls.urlpatterns,
]
