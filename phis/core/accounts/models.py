"""Users bound to org units, with a role, the lockout state and a TOTP second factor."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from phis.core.accounts.permissions import ADMIN_ROLES, Role, role_permissions


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=64, blank=True)
    role = models.CharField(_("角色"), max_length=40, choices=Role.choices)
    org_unit = models.ForeignKey("orgunits.OrgUnit", verbose_name=_("所属机构"), null=True,
                                 on_delete=models.PROTECT, related_name="users")
    extra_org_units = models.ManyToManyField("orgunits.OrgUnit", blank=True,
                                             related_name="extra_users",
                                             verbose_name=_("兼管机构"))
    mobile = models.CharField(_("手机"), max_length=20, blank=True)
    # TOTP second factor; the secret is encrypted with the field-encryption provider.
    totp_secret_encrypted = models.BinaryField(null=True, blank=True, editable=False)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    totp_last_step = models.BigIntegerField(default=0)  # refuses a replayed code
    password_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def has_phis_perm(self, perm: str) -> bool:
        return self.is_active and str(perm) in role_permissions(self.role)

    @property
    def phis_permissions(self) -> frozenset[str]:
        return role_permissions(self.role) if self.is_active else frozenset()

    @property
    def requires_second_factor(self) -> bool:
        return self.role in ADMIN_ROLES or self.totp_confirmed_at is not None


class LoginThrottle(models.Model):
    """Failed log-ins per username, known or not, so an unknown name behaves exactly like a
    wrong password (SECURITY.md §8 items 3-4)."""

    username_key = models.CharField(max_length=64, unique=True)
    failures = models.PositiveSmallIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True)
    locked_until = models.DateTimeField(null=True)
