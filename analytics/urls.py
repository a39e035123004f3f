"""Dashboard URLs of analytics."""

from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    # /messaging/campaigns/<campaign_id>/results/…
    path("messaging/campaigns/<uuid:campaign_id>/results/", views.campaign_results,
         name="campaign-results"),
    path("messaging/campaigns/<uuid:campaign_id>/results.csv", views.campaign_results_csv,
         name="campaign-results-csv"),
    path("messaging/campaigns/<uuid:campaign_id>/results/segments/", views.segment_create,
         name="segment-create"),
    path("audience/segments/", views.segment_list, name="segment-list"),
    path("analytics/headlines/", views.campaign_headlines, name="campaign-headlines"),
    path("analytics/overview/", views.overview, name="overview"),
]
