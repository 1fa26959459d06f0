from django.urls import path

from phis.core.ui import views

app_name = "ui"
urlpatterns = [path("", views.home, name="home")]
