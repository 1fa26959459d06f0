"""A sample machine (report review) and two counties with their users."""

from datetime import timedelta
from types import SimpleNamespace

import pytest

from phis.core.accounts.permissions import Role
from phis.core.accounts.services import user_create
from phis.core.orgunits.models import FacilityType, Level, OrgUnit
from phis.core.workflow.definitions import (
    Escalation,
    State,
    Transition,
    WorkflowDefinition,
    workflow_register,
    workflow_unregister,
)

REVIEWER = Role.COUNTY_CDC_REVIEWER
CLERK = Role.HOSPITAL_CLERK

REVIEW = WorkflowDefinition(
    name="tests.report_review", label="报告卡审核", label_en="Report review",
    initial="submitted",
    states=(
        State("submitted", "待审核", "Submitted", deadline=timedelta(hours=24)),
        State("returned", "已退回", "Returned", deadline=timedelta(hours=72)),
        State("resubmitted", "已重报", "Resubmitted", deadline=timedelta(hours=24)),
        State("reviewed", "已审核", "Reviewed", final=True),
    ),
    transitions=(
        Transition("review", ("submitted", "resubmitted"), "reviewed", "审核通过", "Approve",
                   roles=(REVIEWER,)),
        Transition("return", ("submitted", "resubmitted"), "returned", "退回", "Return",
                   roles=(REVIEWER,)),
        Transition("resubmit", ("returned",), "resubmitted", "重新提交", "Resubmit",
                   roles=(CLERK,)),
    ),
    escalation=Escalation(roles=(Role.COUNTY_HEALTH_BUREAU,), at="county"),
    link="/reports/{instance.subject_key}/",
)


@pytest.fixture
def review_machine():
    workflow_register(REVIEW)
    yield REVIEW
    workflow_unregister(REVIEW.name)


def _unit(code, name, level, parent=None, facility_type=""):
    path = f"{parent.path if parent else '/'}{code}/"
    return OrgUnit.objects.create(code=code, name=name, level=level, parent=parent, path=path,
                                  facility_type=facility_type)


@pytest.fixture
def city(db, review_machine):
    """Two counties, each with a CDC and a hospital, and users for the sample machine."""
    c = SimpleNamespace()
    c.city = _unit("370500", "东营市", Level.CITY)
    c.dy = _unit("370502", "东营区", Level.COUNTY, c.city)
    c.gr = _unit("370523", "广饶县", Level.COUNTY, c.city)
    c.dy_cdc = _unit("W370502CDC", "东营区疾控", Level.FACILITY, c.dy, FacilityType.CDC)
    c.dy_hosp = _unit("W370502H1", "东营区人民医院", Level.FACILITY, c.dy, FacilityType.HOSPITAL)
    c.gr_cdc = _unit("W370523CDC", "广饶县疾控", Level.FACILITY, c.gr, FacilityType.CDC)
    c.gr_hosp = _unit("W370523H1", "广饶县人民医院", Level.FACILITY, c.gr, FacilityType.HOSPITAL)

    def user(name, role, unit, jurisdiction=None):
        u = user_create(username=name, password="x", role=role, org_unit=unit,
                        mobile="13800000000", check_password=False)
        if jurisdiction is not None:  # a county CDC reviewer covers the whole county
            u.extra_org_units.set([jurisdiction])
        return u

    c.dy_reviewer = user("dy_reviewer", REVIEWER, c.dy_cdc, c.dy)
    c.dy_reviewer2 = user("dy_reviewer2", REVIEWER, c.dy_cdc, c.dy)
    c.dy_clerk = user("dy_clerk", CLERK, c.dy_hosp)
    c.dy_bureau = user("dy_bureau", Role.COUNTY_HEALTH_BUREAU, c.dy)
    c.gr_reviewer = user("gr_reviewer", REVIEWER, c.gr_cdc, c.gr)
    c.gr_clerk = user("gr_clerk", CLERK, c.gr_hosp)
    c.gr_bureau = user("gr_bureau", Role.COUNTY_HEALTH_BUREAU, c.gr)
    c.city_cdc = user("city_cdc", Role.CITY_CDC, c.city)
    return c
