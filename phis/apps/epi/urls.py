from django.urls import path

from phis.apps.epi import views

app_name = "epi"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:table>/", views.export, name="export"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:report_id>/download/", views.report_download, name="report_download"),
]
