"""C4 permissions (STYLE.md §7.5): ``"signals.<verb>_<entity>"``."""

from enum import StrEnum

from phis.apps.signals.rules import RESPOND_PERM
from phis.core.accounts.permissions import Role, grant


class SignalPerm(StrEnum):
    VIEW = "signals.view_signal"                  # the queue and signals in one's scope
    RESPOND = RESPOND_PERM                        # acknowledge, verify, investigate, close
    CONFIGURE = "signals.configure_detection"     # per-disease detection configuration
    RUN = "signals.run_detection"                 # start a detection run by hand


def grant_defaults() -> None:
    # County CDCs respond for their county (§3.1); the city CDC sees and may act on every
    # county's signals (escalation target) and owns the configuration.
    grant(Role.COUNTY_CDC_REVIEWER, SignalPerm.VIEW, SignalPerm.RESPOND)
    grant(Role.CITY_CDC, SignalPerm.VIEW, SignalPerm.RESPOND, SignalPerm.CONFIGURE,
          SignalPerm.RUN)
    for role in (Role.CITY_HEALTH_COMMISSION, Role.COUNTY_HEALTH_BUREAU):
        grant(role, SignalPerm.VIEW)
