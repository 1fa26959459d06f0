"""C4 outbreak-event permissions (STYLE.md §7.5): ``"outbreaks.<verb>_<entity>"``."""

from enum import StrEnum

from phis.core.accounts.permissions import Role, grant


class OutbreakPerm(StrEnum):
    VIEW = "outbreaks.view_outbreak"
    MANAGE = "outbreaks.manage_outbreak"        # open, link cases, record steps, close
    FOLLOW_UP = "outbreaks.follow_up_contact"   # record contacts' daily follow-up
    EXPORT = "outbreaks.export_outbreak"


def grant_defaults() -> None:
    for role in (Role.COUNTY_CDC_REVIEWER, Role.CITY_CDC):
        grant(role, *OutbreakPerm)
    for role in (Role.CITY_HEALTH_COMMISSION, Role.COUNTY_HEALTH_BUREAU):
        grant(role, OutbreakPerm.VIEW, OutbreakPerm.EXPORT)
    # Township health centres and school doctors observe contacts in their area.
    for role in (Role.TOWNSHIP_HEALTH_CENTRE, Role.SCHOOL_DOCTOR):
        grant(role, OutbreakPerm.VIEW, OutbreakPerm.FOLLOW_UP)
