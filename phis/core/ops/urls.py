from django.urls import path

from phis.core.ops import views

app_name = "ops"
urlpatterns = [
    path("health", views.health, name="health"),
    path("ready", views.ready, name="ready"),
]
