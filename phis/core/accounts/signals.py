from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs):
    if user is None:
        return
    from phis.core.audit.services import audit_security
    from phis.core.audit.types import AuditEventType

    audit_security(event=AuditEventType.LOGOUT, username=user.username)
