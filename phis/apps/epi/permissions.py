"""Epi analysis permissions (STYLE.md §7.5): ``"epi.<verb>_<entity>"``."""

from enum import StrEnum

from phis.core.accounts.permissions import Role, grant


class EpiPerm(StrEnum):
    VIEW = "epi.view_analysis"            # dashboard, curve, map, tables (own area)
    EXPORT = "epi.export_analysis"        # Excel of the tables
    VIEW_REPORTS = "epi.view_report"      # download kept weekly reports
    GENERATE_REPORT = "epi.generate_report"  # generate a weekly report on demand


def grant_defaults() -> None:
    # The CDCs analyse and write the weekly report; the health administrations read it.
    for role in (Role.CITY_CDC, Role.COUNTY_CDC_REVIEWER):
        grant(role, EpiPerm.VIEW, EpiPerm.EXPORT, EpiPerm.VIEW_REPORTS,
              EpiPerm.GENERATE_REPORT)
    for role in (Role.CITY_HEALTH_COMMISSION, Role.COUNTY_HEALTH_BUREAU):
        grant(role, EpiPerm.VIEW, EpiPerm.EXPORT, EpiPerm.VIEW_REPORTS)
