from django.urls import path

from phis.apps.outbreaks import views

app_name = "outbreaks"
urlpatterns = [
    path("", views.outbreak_list, name="list"),
    path("export.xlsx", views.outbreak_export, name="export"),
    path("new/", views.outbreak_open, name="open"),
    path("contacts/due/", views.contacts_due, name="due"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact"),
    path("<int:outbreak_id>/", views.outbreak_detail, name="detail"),
    path("<int:outbreak_id>/report/", views.closing_report, name="report"),
]
