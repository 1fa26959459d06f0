"""A4 permissions (STYLE.md §7.5): ``"keydiseases.<verb>_<entity>"``."""

from enum import StrEnum

from phis.core.accounts.permissions import Role, grant


class KeyDiseasePerm(StrEnum):
    VIEW_CASES = "keydiseases.view_case"          # cases, contacts, tasks in one's scope
    MANAGE_CASES = "keydiseases.manage_case"      # treatment, regimen, outcome, close
    FOLLOW_UP = "keydiseases.record_followup"     # follow-ups, adherence, contacts, checks
    EXPORT = "keydiseases.export_case"            # Excel export of lists
    VIEW_ILI = "keydiseases.view_ili"             # ILI sentinel figures and chart
    REPORT_ILI = "keydiseases.report_ili"         # weekly entry of a sentinel hospital
    MANAGE_ILI_SITES = "keydiseases.manage_ili_site"
    REPORT_CLUSTER = "keydiseases.report_cluster"  # school / collective-unit ILI clusters


_CDC = (Role.COUNTY_CDC_REVIEWER, Role.CITY_CDC)
_BUREAUS = (Role.CITY_HEALTH_COMMISSION, Role.COUNTY_HEALTH_BUREAU)


def grant_defaults() -> None:
    for role in _CDC:
        grant(role, *KeyDiseasePerm)
    for role in (Role.CLINICIAN, Role.HOSPITAL_CLERK):
        grant(role, KeyDiseasePerm.VIEW_CASES, KeyDiseasePerm.MANAGE_CASES,
              KeyDiseasePerm.FOLLOW_UP, KeyDiseasePerm.VIEW_ILI, KeyDiseasePerm.REPORT_ILI)
    grant(Role.HOSPITAL_CLERK, KeyDiseasePerm.EXPORT)
    grant(Role.TOWNSHIP_HEALTH_CENTRE, KeyDiseasePerm.VIEW_CASES, KeyDiseasePerm.FOLLOW_UP,
          KeyDiseasePerm.EXPORT, KeyDiseasePerm.VIEW_ILI, KeyDiseasePerm.REPORT_CLUSTER)
    grant(Role.SCHOOL_DOCTOR, KeyDiseasePerm.REPORT_CLUSTER, KeyDiseasePerm.VIEW_ILI)
    for role in _BUREAUS:
        grant(role, KeyDiseasePerm.VIEW_CASES, KeyDiseasePerm.VIEW_ILI, KeyDiseasePerm.EXPORT)
