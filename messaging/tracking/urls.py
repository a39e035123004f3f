from django.urls import path

from .views import track_click, track_open, track_unsubscribe

urlpatterns = [
    # /t/… — public, signed, short: these URLs appear in every email.
    path("t/o/<str:token>", track_open, name="track-open"),
    path("t/c/<str:token>", track_click, name="track-click"),
    path("t/u/<str:token>", track_unsubscribe, name="track-unsubscribe"),
]
