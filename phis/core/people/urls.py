from django.urls import path

from phis.core.people import views

app_name = "people"
urlpatterns = [
    path("", views.search, name="search"),
    path("export.xlsx", views.export, name="export"),
    path("<int:person_id>/", views.detail, name="detail"),
]
