from django.urls import include, path

from . import views

app_name = "campaigns"

# /messaging/campaigns/<campaign_id>/…  (the public campaign_id, never the pk)
campaign_urls = [
    path("", views.campaign_detail, name="detail"),
    path("edit/", views.campaign_edit, name="edit"),
    path("archive/", views.campaign_archive, name="archive"),
    path("unarchive/", views.campaign_unarchive, name="unarchive"),
    path("duplicate/", views.campaign_duplicate, name="duplicate"),
]

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_type_choice, name="create"),
    path("new/api/", views.campaign_create, name="create-api"),
    path("new/api-triggered/", views.campaign_create_triggered, name="create-api-triggered"),
    path("<uuid:campaign_id>/", include(campaign_urls)),
]
