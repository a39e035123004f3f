from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("settings/team/", views.team, name="team"),
    path("settings/audit-log/", views.audit_log, name="audit-log"),
    path("settings/audit-log.csv", views.audit_log_csv, name="audit-log-csv"),
    path("account/two-factor/", views.two_factor_setup, name="two-factor-setup"),
    path("account/two-factor/verify/", views.two_factor_verify, name="two-factor-verify"),
]
