from django.urls import path

from phis.apps.signals import views

app_name = "signals"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("run/", views.run, name="run"),
    path("config/", views.configs, name="configs"),
    path("config/<str:disease_code>/", views.config_edit, name="config_edit"),
    path("<int:pk>/", views.detail, name="detail"),
]
