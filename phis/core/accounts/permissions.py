"""Roles of the real users and the permissions each role holds (SECURITY.md §8 items 11-15).

Permissions are enum values ``"<part>.<verb>_<entity>"`` (STYLE.md §7.5). Core permissions
live here; an app declares its own enum in its ``permissions.py`` and grants them to roles
with ``grant()`` from its ``AppConfig.ready``.
"""

from __future__ import annotations

from collections import defaultdict
from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_HEALTH_COMMISSION = "city_health_commission", _("市卫健委")
    CITY_CDC = "city_cdc", _("市疾控中心")
    COUNTY_HEALTH_BUREAU = "county_health_bureau", _("县区卫健局")
    COUNTY_CDC_REVIEWER = "county_cdc_reviewer", _("县区疾控审核员")
    HOSPITAL_CLERK = "hospital_clerk", _("医院防保科报告员")
    CLINICIAN = "clinician", _("临床医生")
    TOWNSHIP_HEALTH_CENTRE = "township_health_centre", _("乡镇卫生院/社区卫生服务中心")
    SCHOOL_DOCTOR = "school_doctor", _("校医")
    WASTE_STAFF = "waste_staff", _("医疗废物人员")
    CSSD_STAFF = "cssd_staff", _("消毒供应人员")
    BLOOD_STAFF = "blood_staff", _("血站人员")
    DISPATCHER_120 = "dispatcher_120", _("120调度员")
    DATA_STEWARD = "data_steward", _("主索引数据管理员")
    AUDITOR = "auditor", _("审计员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")


# Roles that must pass a second factor before anything else (SECURITY.md §8 item 5).
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.AUDITOR})


class CorePerm(StrEnum):
    VIEW_ORGUNITS = "orgunits.view_orgunit"
    MANAGE_ORGUNITS = "orgunits.manage_orgunit"
    VIEW_PERSONS = "people.view_person"
    EDIT_PERSONS = "people.change_person"
    UNMASK_IDENTIFIERS = "people.unmask_identifier"
    EXPORT_PERSONS = "people.export_person"
    VIEW_AUDIT = "audit.view_log"
    VERIFY_AUDIT = "audit.verify_chain"
    MANAGE_USERS = "accounts.manage_user"
    UNLOCK_USERS = "accounts.unlock_user"
    VIEW_CODES = "codes.view_code"
    VIEW_INBOX = "notify.view_inbox"
    VIEW_WORKFLOW = "workflow.view_task"


_EVERYONE = {CorePerm.VIEW_ORGUNITS, CorePerm.VIEW_CODES, CorePerm.VIEW_INBOX,
             CorePerm.VIEW_WORKFLOW}
_PERSON_READERS = {CorePerm.VIEW_PERSONS}

_ROLE_PERMISSIONS: dict[str, set[str]] = defaultdict(set)


def grant(role: str, *perms: str) -> None:
    _ROLE_PERMISSIONS[str(role)].update(str(p) for p in perms)


def role_permissions(role: str) -> frozenset[str]:
    return frozenset(_ROLE_PERMISSIONS.get(str(role), ()))


for _role in Role:
    grant(_role, *_EVERYONE)
for _role in (Role.CITY_HEALTH_COMMISSION, Role.CITY_CDC, Role.COUNTY_HEALTH_BUREAU,
              Role.COUNTY_CDC_REVIEWER, Role.HOSPITAL_CLERK, Role.CLINICIAN,
              Role.TOWNSHIP_HEALTH_CENTRE, Role.SCHOOL_DOCTOR, Role.BLOOD_STAFF,
              Role.DISPATCHER_120, Role.DATA_STEWARD):
    grant(_role, *_PERSON_READERS)
grant(Role.HOSPITAL_CLERK, CorePerm.EDIT_PERSONS)
grant(Role.CLINICIAN, CorePerm.EDIT_PERSONS)
grant(Role.TOWNSHIP_HEALTH_CENTRE, CorePerm.EDIT_PERSONS)
grant(Role.DATA_STEWARD, CorePerm.EDIT_PERSONS, CorePerm.UNMASK_IDENTIFIERS)
grant(Role.CITY_CDC, CorePerm.UNMASK_IDENTIFIERS, CorePerm.EXPORT_PERSONS)
grant(Role.COUNTY_CDC_REVIEWER, CorePerm.UNMASK_IDENTIFIERS, CorePerm.EXPORT_PERSONS)
grant(Role.AUDITOR, CorePerm.VIEW_AUDIT, CorePerm.VERIFY_AUDIT)
grant(Role.SYSTEM_ADMIN, CorePerm.MANAGE_USERS, CorePerm.UNLOCK_USERS,
      CorePerm.MANAGE_ORGUNITS, CorePerm.VERIFY_AUDIT)
