from django.urls import path

from phis.core.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("2fa/verify/", views.totp_verify_view, name="totp_verify"),
    path("2fa/enrol/", views.totp_enrol_view, name="totp_enrol"),
    path("password/", views.password_change_view, name="password_change"),
]
