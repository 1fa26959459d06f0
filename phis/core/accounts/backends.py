from django.contrib.auth.backends import ModelBackend


class LockoutAwareBackend(ModelBackend):
    """Django's model backend; the lockout policy wraps it in services.login_attempt so that
    every entry point (page, API, OIDC log-in) goes through the same rules."""
