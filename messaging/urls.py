"""Dashboard pages of messaging, one module per subject."""

from .sdk import assets as sdk_assets
from .sdk import views as sdk_views
from .views import (
    api_keys,
    apps,
    assets,
    audience,
    dispatches,
    exports,
    ops,
    schedules,
    sms_webhooks,
    subscription_groups,
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
    *sdk_views.urlpatterns,
    *sdk_assets.urlpatterns,
    *assets.urlpatterns,
    *subscription_groups.urlpatterns,
    *sms_webhooks.urlpatterns,
    *exports.urlpatterns,
    *ops.urlpatterns,
]
