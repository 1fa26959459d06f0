"""A3 direct-report permissions (STYLE.md §7.5): ``"directreport.<verb>_<entity>"``."""

from enum import StrEnum

from phis.core.accounts.permissions import Role, grant


class DirectReportPerm(StrEnum):
    VIEW_GRID = "directreport.view_grid"            # three-level grid of one's territory
    VIEW_EXCHANGE = "directreport.view_exchange"    # reconciliation, exchange records
    OPERATE = "directreport.operate_exchange"       # import, acknowledgements, re-send, files


def grant_defaults() -> None:
    for role in (Role.CITY_CDC, Role.COUNTY_CDC_REVIEWER, Role.CITY_HEALTH_COMMISSION,
                 Role.COUNTY_HEALTH_BUREAU):
        grant(role, DirectReportPerm.VIEW_GRID)
    for role in (Role.CITY_CDC, Role.COUNTY_CDC_REVIEWER):
        grant(role, DirectReportPerm.VIEW_EXCHANGE)
    # The city CDC runs the city's link with the province and the national system.
    grant(Role.CITY_CDC, DirectReportPerm.OPERATE)
