from django.urls import path

from phis.core.audit import views

app_name = "audit"
urlpatterns = [path("", views.search, name="search")]
