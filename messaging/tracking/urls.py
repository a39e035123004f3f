from django.urls import path

from .views import track_click, track_open, track_unsubscribe

# A namespace of their own, included first of all by config/urls.py: Django tries URL
# patterns in order, and these are the busiest (every open and click of every email).
app_name = "tracking"

urlpatterns = [
    # /t/… — public, signed, short: these URLs appear in every email.
    path("t/o/<str:token>", track_open, name="track-open"),
    path("t/c/<str:token>", track_click, name="track-click"),
    path("t/u/<str:token>", track_unsubscribe, name="track-unsubscribe"),
]
