"""A3/A9 permissions (STYLE.md §7.5): ``"notifiable.<verb>_<entity>"``."""

from enum import StrEnum

from phis.core.accounts.permissions import Role, grant


class NotifiablePerm(StrEnum):
    VIEW_CARDS = "notifiable.view_card"          # cards in one's scope
    REPORT = "notifiable.report_card"            # fill, submit, correct one's unit's cards
    REVIEW = "notifiable.review_card"            # county CDC: approve / return / delete
    IMPORT = "notifiable.import_card"            # batch import (CSV / Excel / FHIR)
    EXPORT = "notifiable.export_card"            # Excel export of card lists
    EXCHANGE = "notifiable.exchange_card"        # direct-report exchange with province / nation


_REPORTERS = (Role.HOSPITAL_CLERK, Role.CLINICIAN, Role.TOWNSHIP_HEALTH_CENTRE,
              Role.SCHOOL_DOCTOR, Role.BLOOD_STAFF)
_CDC = (Role.COUNTY_CDC_REVIEWER, Role.CITY_CDC)


def grant_defaults() -> None:
    for role in _REPORTERS:
        grant(role, NotifiablePerm.VIEW_CARDS, NotifiablePerm.REPORT)
    grant(Role.HOSPITAL_CLERK, NotifiablePerm.IMPORT, NotifiablePerm.EXPORT)
    for role in _CDC:
        # County CDCs enter cards for units without direct network reporting (§2.2).
        grant(role, NotifiablePerm.VIEW_CARDS, NotifiablePerm.REPORT, NotifiablePerm.REVIEW,
              NotifiablePerm.IMPORT, NotifiablePerm.EXPORT, NotifiablePerm.EXCHANGE)
    for role in (Role.CITY_HEALTH_COMMISSION, Role.COUNTY_HEALTH_BUREAU):
        grant(role, NotifiablePerm.VIEW_CARDS, NotifiablePerm.EXPORT)
