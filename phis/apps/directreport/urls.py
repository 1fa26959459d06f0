from django.urls import path

from phis.apps.directreport import views

app_name = "directreport"
urlpatterns = [
    path("", views.grid, name="grid"),
    path("grid/export.xlsx", views.grid_export, name="grid_export"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("reconciliation/export.xlsx", views.reconciliation_export,
         name="reconciliation_export"),
    path("records/", views.records, name="records"),
    path("records/requeue/", views.records_requeue, name="records_requeue"),
    path("exchange/", views.exchange, name="exchange"),
    path("inbound/<int:pk>/", views.inbound, name="inbound"),
    path("inbound/<int:pk>/ack.jsonl", views.inbound_ack, name="inbound_ack"),
]
