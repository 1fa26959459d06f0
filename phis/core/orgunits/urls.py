from django.urls import path

from phis.core.orgunits import views

app_name = "orgunits"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("<str:code>/", views.browse, name="unit"),
]
