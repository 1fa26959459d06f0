"""One demo log-in for every role, bound to a facility and, for staff with a jurisdiction,
to the division they cover (their scope)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password

from phis.core.accounts.models import User
from phis.core.accounts.permissions import ADMIN_ROLES, Role
from phis.core.accounts.services import user_create
from phis.core.orgunits.models import OrgUnit


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    full_name: str
    facility: str
    jurisdiction: str = ""


DEMO_USERS = [
    DemoUser("demo.commission", Role.CITY_HEALTH_COMMISSION, "王建国", "F370500HC", "370500"),
    DemoUser("demo.citycdc", Role.CITY_CDC, "李秀英", "F370500CDC", "370500"),
    DemoUser("demo.bureau", Role.COUNTY_HEALTH_BUREAU, "张海涛", "F370502HB", "370502"),
    DemoUser("demo.reviewer", Role.COUNTY_CDC_REVIEWER, "刘敏", "F370502CDC", "370502"),
    DemoUser("demo.reviewer.gr", Role.COUNTY_CDC_REVIEWER, "陈静", "F370523CDC", "370523"),
    DemoUser("demo.clerk", Role.HOSPITAL_CLERK, "杨丽", "F370502H1"),
    DemoUser("demo.doctor", Role.CLINICIAN, "赵强", "F370502H1"),
    DemoUser("demo.thc", Role.TOWNSHIP_HEALTH_CENTRE, "黄志勇", "F370502001HC", "370502001"),
    DemoUser("demo.school", Role.SCHOOL_DOCTOR, "周燕", "F370502001PS"),
    DemoUser("demo.waste", Role.WASTE_STAFF, "吴刚", "F370500WD", "370500"),
    DemoUser("demo.cssd", Role.CSSD_STAFF, "徐霞", "F370502CSSD"),
    DemoUser("demo.blood", Role.BLOOD_STAFF, "孙悦", "F370500BS", "370500"),
    DemoUser("demo.dispatcher", Role.DISPATCHER_120, "马超", "F370500EC", "370500"),
    DemoUser("demo.steward", Role.DATA_STEWARD, "朱琳", "F370500CDC", "370500"),
    DemoUser("demo.auditor", Role.AUDITOR, "胡平", "F370500HC", "370500"),
    DemoUser("demo.admin", Role.SYSTEM_ADMIN, "郭磊", "F370500HC", "370500"),
]


def users_build() -> list[User]:
    units = {u.code: u for u in OrgUnit.objects.filter(
        code__in={d.facility for d in DEMO_USERS} | {d.jurisdiction for d in DEMO_USERS})}
    existing = {u.username: u for u in User.objects.filter(
        username__in=[d.username for d in DEMO_USERS])}
    # Every demo user has the same (published) password: hash it once and give each user
    # that hash. One hash costs 0.3 s (PBKDF2, settings.PASSWORD_HASHERS), so hashing per
    # user took 5 s of the demo build; each stored hash still verifies as usual.
    encoded = make_password(settings.PHIS_DEMO_PASSWORD) \
        if len(existing) < len(DEMO_USERS) else ""
    made = []
    for demo in DEMO_USERS:
        user = existing.get(demo.username)
        if user is None:
            # No password given: user_create stores an unusable one without hashing.
            user = user_create(username=demo.username, password=None, role=demo.role,
                               org_unit=units[demo.facility], full_name=demo.full_name,
                               check_password=False)
            user.password = encoded
            user.save(update_fields=["password"])
        if demo.jurisdiction:
            user.extra_org_units.set([units[demo.jurisdiction]])
        made.append(user)
    return made


def demo_logins_text() -> str:
    password = settings.PHIS_DEMO_PASSWORD
    lines = [f"Demo log-ins (password for all: {password})",
             f"演示账号（密码均为 {password}）:"]
    for d in DEMO_USERS:
        note = " (TOTP enrolment at first log-in)" if d.role in ADMIN_ROLES else ""
        lines.append(f"  {d.username:<18} {Role(d.role).label}{note}")
    return "\n".join(lines)
