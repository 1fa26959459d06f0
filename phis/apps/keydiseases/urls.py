from django.urls import path

from phis.apps.keydiseases import views

app_name = "keydiseases"
urlpatterns = [
    path("", views.home, name="home"),
    path("export/", views.export, name="export"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/followup/", views.followup_entry, name="followup"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact"),
    path("ili/", views.ili_chart, name="ili_chart"),
    path("ili/entry/", views.ili_entry, name="ili_entry"),
    path("ili/export/", views.ili_export, name="ili_export"),
    path("clusters/", views.clusters, name="clusters"),
    path("clusters/<int:cluster_id>/", views.cluster_detail, name="cluster"),
    path("clusters/<int:cluster_id>/task/", views.cluster_task, name="cluster_task"),
]
