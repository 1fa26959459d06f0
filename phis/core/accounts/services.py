"""Log-in policy, second factor and user administration (SECURITY.md §8 items 1-10)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from phis.core.accounts.models import LoginThrottle, User
from phis.core.accounts.permissions import CorePerm, Role
from phis.core.audit.context import actor_for_user, current_actor
from phis.core.audit.services import audit_security
from phis.core.audit.types import AuditEventType
from phis.core.crypto.fields import decrypt_text, encrypt_text
from phis.core.exceptions import FieldError, PermissionDenied, ValidationFailed

GENERIC_LOGIN_ERROR = ("用户名或密码错误", "Wrong username or password")
LOCKED_ERROR = ("登录失败次数过多，账号已锁定30分钟",
                "Too many failed log-ins; locked for 30 minutes")


class LoginOutcome(Enum):
    OK = "ok"
    FAILED = "failed"
    LOCKED = "locked"


@dataclass
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None

    @property
    def message(self) -> tuple[str, str]:
        return LOCKED_ERROR if self.outcome == LoginOutcome.LOCKED else GENERIC_LOGIN_ERROR


def _key(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()


def login_attempt(*, request, username: str, password: str) -> LoginResult:
    """Check a password under the lockout policy. Unknown users and wrong passwords give the
    same result and take the same time (authenticate() hashes for unknown users too)."""
    now = timezone.now()
    window = timedelta(minutes=settings.PHIS_LOGIN_LOCK_MINUTES)
    with transaction.atomic():
        throttle, _ = LoginThrottle.objects.select_for_update().get_or_create(
            username_key=_key(username))
        if throttle.locked_until and throttle.locked_until > now:
            audit_security(event=AuditEventType.LOGIN_FAILED, username=username,
                           outcome="locked")
            return LoginResult(LoginOutcome.LOCKED)
    user = authenticate(request, username=username, password=password)
    with transaction.atomic():
        throttle = LoginThrottle.objects.select_for_update().get(username_key=_key(username))
        if user is not None:
            throttle.failures = 0
            throttle.first_failure_at = None
            throttle.locked_until = None
            throttle.save()
            audit_security(event=AuditEventType.LOGIN_SUCCEEDED,
                           actor=actor_for_user(user, ip_address=current_actor().ip_address,
                                                request_id=current_actor().request_id,
                                                channel=current_actor().channel))
            return LoginResult(LoginOutcome.OK, user)
        if not throttle.first_failure_at or now - throttle.first_failure_at > window:
            throttle.failures = 0
            throttle.first_failure_at = now
        throttle.failures += 1
        locked = throttle.failures >= settings.PHIS_LOGIN_MAX_FAILURES
        if locked:
            throttle.locked_until = now + window
        throttle.save()
        audit_security(event=AuditEventType.LOGIN_FAILED, username=username)
        if locked:
            audit_security(event=AuditEventType.ACCOUNT_LOCKED, username=username)
            return LoginResult(LoginOutcome.LOCKED)
    return LoginResult(LoginOutcome.FAILED)


@transaction.atomic
def user_unlock(*, by: User, username: str) -> None:
    if not by.has_phis_perm(CorePerm.UNLOCK_USERS):
        raise PermissionDenied()
    LoginThrottle.objects.filter(username_key=_key(username)).delete()
    audit_security(event=AuditEventType.ACCOUNT_UNLOCKED, detail={"username": username})


@transaction.atomic
def user_create(*, username: str, password: str, role: str, org_unit, full_name: str = "",
                email: str = "", mobile: str = "", check_password: bool = True) -> User:
    errors = []
    if role not in Role.values:
        errors.append(FieldError("role", "invalid_choice", "角色无效", "Unknown role"))
    if User.objects.filter(username=username).exists():
        errors.append(FieldError("username", "duplicate", "用户名已存在", "Username is taken"))
    user = User(username=username, role=role, org_unit=org_unit, full_name=full_name,
                email=email, mobile=mobile)
    if check_password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            errors.extend(FieldError("password", "weak", m.split(" / ")[0],
                                     m.split(" / ")[-1]) for m in exc.messages)
    if errors:
        raise ValidationFailed(errors)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save()
    return user


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise ValidationFailed([FieldError("old_password", "wrong", "原密码错误",
                                           "The current password is wrong")])
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationFailed([FieldError("new_password", "weak", m.split(" / ")[0],
                                           m.split(" / ")[-1]) for m in exc.messages]) from None
    user.set_password(new_password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    audit_security(event=AuditEventType.PASSWORD_CHANGED)


@transaction.atomic
def user_admin_create(*, by: User, username: str, password: str, role: str, org_code: str,
                      full_name: str = "", email: str = "", mobile: str = "",
                      jurisdiction_codes: tuple[str, ...] = ()) -> User:
    """An administrator adds a user inside their own subtrees (audited)."""
    if not by.has_phis_perm(CorePerm.MANAGE_USERS):
        raise PermissionDenied()
    org, extra = _units_in_scope(by, org_code, jurisdiction_codes)
    user = user_create(username=username, password=password, role=role, org_unit=org,
                       full_name=full_name, email=email, mobile=mobile)
    user.extra_org_units.set(extra)
    audit_security(event=AuditEventType.ROLE_CHANGED,
                   detail={"username": username, "role": role, "org": org_code,
                           "jurisdiction": list(jurisdiction_codes), "created": True})
    return user


@transaction.atomic
def user_admin_update(*, by: User, user: User, role: str | None = None,
                      org_code: str | None = None,
                      jurisdiction_codes: tuple[str, ...] | None = None,
                      is_active: bool | None = None) -> User:
    """Change a user's role, org units or active flag; each change is a ROLE_CHANGED row."""
    if not by.has_phis_perm(CorePerm.MANAGE_USERS):
        raise PermissionDenied()
    if role is not None and role not in Role.values:
        raise ValidationFailed([FieldError("role", "invalid_choice", "角色无效", "Unknown role")])
    org, extra = _units_in_scope(by, org_code or user.org_unit.code,
                                 jurisdiction_codes if jurisdiction_codes is not None else
                                 tuple(user.extra_org_units.values_list("code", flat=True)))
    before = {"role": user.role, "org": user.org_unit.code if user.org_unit_id else "",
              "active": user.is_active,
              "jurisdiction": sorted(user.extra_org_units.values_list("code", flat=True))}
    user.role = role or user.role
    user.org_unit = org
    if is_active is not None:
        user.is_active = is_active
    user.save()
    user.extra_org_units.set(extra)
    after = {"role": user.role, "org": org.code, "active": user.is_active,
             "jurisdiction": sorted(u.code for u in extra)}
    if after != before:
        audit_security(event=AuditEventType.ROLE_CHANGED,
                       detail={"username": user.username, "before": before, "after": after})
    return user


def _units_in_scope(by: User, org_code: str, jurisdiction_codes):
    from phis.core.orgunits.models import OrgUnit
    from phis.core.orgunits.scoping import unit_in_scope

    codes = [org_code, *jurisdiction_codes]
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=codes)}
    errors = []
    for field, code in [("org_code", org_code)] + [("jurisdiction_codes", c)
                                                  for c in jurisdiction_codes]:
        unit = units.get(code)
        if unit is None or not unit_in_scope(by, unit.path):
            errors.append(FieldError(field, "unknown", f"机构代码{code}不存在或不在您的管辖范围",
                                     f"Org unit {code} does not exist or is outside your scope"))
    if errors:
        raise ValidationFailed(errors)
    return units[org_code], [units[c] for c in jurisdiction_codes]


# --- TOTP second factor (RFC 6238) -------------------------------------------------------------

def totp_secret(user: User) -> str:
    return decrypt_text(user.totp_secret_encrypted, purpose="accounts.totp") \
        if user.totp_secret_encrypted else ""


@transaction.atomic
def totp_begin_enrolment(*, user: User) -> str:
    secret = pyotp.random_base32()
    user.totp_secret_encrypted = encrypt_text(secret, purpose="accounts.totp")
    user.totp_confirmed_at = None
    user.save(update_fields=["totp_secret_encrypted", "totp_confirmed_at"])
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="PHIS 东营公卫")


def _totp_check(user: User, code: str, now: float | None = None) -> bool:
    secret = totp_secret(user)
    if not secret or not code or not code.strip().isdigit():
        return False
    totp = pyotp.TOTP(secret)
    now = now if now is not None else time.time()
    for drift in (0, -1, 1):
        step = int(now // 30) + drift
        if step > user.totp_last_step and totp.at(step * 30) == code.strip():
            user.totp_last_step = step  # each code works once
            user.save(update_fields=["totp_last_step"])
            return True
    return False


@transaction.atomic
def totp_confirm_enrolment(*, user: User, code: str) -> None:
    if not _totp_check(user, code):
        audit_security(event=AuditEventType.SECOND_FACTOR_FAILED, outcome="failed")
        raise ValidationFailed([FieldError("code", "invalid_code", "验证码错误或已过期",
                                           "The code is wrong or expired")])
    user.totp_confirmed_at = timezone.now()
    user.save(update_fields=["totp_confirmed_at"])
    audit_security(event=AuditEventType.SECOND_FACTOR_ENROLLED)


@transaction.atomic
def totp_verify(*, user: User, code: str) -> bool:
    ok = _totp_check(user, code)
    audit_security(event=AuditEventType.SECOND_FACTOR_PASSED if ok
                   else AuditEventType.SECOND_FACTOR_FAILED, outcome="ok" if ok else "failed",
                   actor=actor_for_user(user, ip_address=current_actor().ip_address,
                                        channel=current_actor().channel))
    return ok
