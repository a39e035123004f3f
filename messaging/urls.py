"""Dashboard pages of messaging, one module per subject."""

from . import tracking
from .views import api_keys, apps, audience, dispatches

app_name = "messaging"

urlpatterns = [
    *audience.urlpatterns,
    *api_keys.urlpatterns,
    *dispatches.urlpatterns,
    *apps.urlpatterns,
    *tracking.urlpatterns,
]
