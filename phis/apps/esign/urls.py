from django.urls import path

from phis.apps.esign import views

app_name = "esign"
urlpatterns = [
    path("", views.home, name="home"),
    path("verify/", views.verify, name="verify"),
    path("signatures/<uuid:public_id>/", views.signature_detail, name="signature"),
]
