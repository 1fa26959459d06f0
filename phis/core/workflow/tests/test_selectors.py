"""Overdue lists with a frozen clock, queues, and scoping across two counties."""

from datetime import timedelta

import pytest
from django.utils import timezone

from phis.core.workflow.selectors import workflow_overdue, workflow_queue_for
from phis.core.workflow.services import workflow_start, workflow_transition

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0)


def _start(unit, key, now=T0, **kw):
    return workflow_start(definition="tests.report_review", owner_unit=unit, subject_key=key,
                          now=now, **kw)


def test_overdue_with_a_frozen_clock(city):
    early = _start(city.dy_hosp, "DY1", now=T0)
    late = _start(city.dy_hosp, "DY2", now=T0 + timedelta(hours=5))
    assert list(workflow_overdue(user=city.dy_reviewer, now=T0 + timedelta(hours=23))) == []
    exactly = T0 + timedelta(hours=24)
    assert list(workflow_overdue(user=city.dy_reviewer, now=exactly)) == [early]
    assert list(workflow_overdue(user=city.dy_reviewer, now=T0 + timedelta(hours=30))) == [
        early, late]  # most overdue first
    # a decision stops the clock
    workflow_transition(instance_id=early.pk, action="review", user=city.dy_reviewer,
                        now=T0 + timedelta(hours=25))
    assert list(workflow_overdue(user=city.dy_reviewer, now=T0 + timedelta(hours=30))) == [late]
    # returned: a new 72 h clock for the hospital
    workflow_transition(instance_id=late.pk, action="return", user=city.dy_reviewer,
                        now=T0 + timedelta(hours=30))
    assert list(workflow_overdue(user=city.dy_clerk, now=T0 + timedelta(hours=101))) == []
    assert list(workflow_overdue(user=city.dy_clerk, now=T0 + timedelta(hours=102))) == [late]
    assert workflow_overdue(user=city.dy_clerk, definition="other",
                            now=T0 + timedelta(hours=102)).count() == 0


def test_overdue_is_scoped_by_county(city):
    dy = _start(city.dy_hosp, "DY")
    gr = _start(city.gr_hosp, "GR")
    later = T0 + timedelta(days=2)
    assert list(workflow_overdue(user=city.dy_reviewer, now=later)) == [dy]
    assert list(workflow_overdue(user=city.gr_reviewer, now=later)) == [gr]
    assert set(workflow_overdue(user=city.city_cdc, now=later)) == {dy, gr}
    # the hospital clerk sees only the hospital's items, not the CDC's
    cdc_item = _start(city.dy_cdc, "CDC")
    assert cdc_item not in set(workflow_overdue(user=city.dy_clerk, now=later))


def test_queue_for(city):
    dy = _start(city.dy_hosp, "DY")
    gr = _start(city.gr_hosp, "GR")
    mine = _start(city.dy_hosp, "MINE", owner_user=city.dy_reviewer2)
    assert list(workflow_queue_for(user=city.dy_reviewer)) == [dy]  # not gr, not assigned
    assert list(workflow_queue_for(user=city.dy_reviewer2)) == [dy, mine]
    assert list(workflow_queue_for(user=city.gr_reviewer)) == [gr]
    assert list(workflow_queue_for(user=city.dy_clerk)) == []  # nothing to resubmit yet
    workflow_transition(instance_id=dy.pk, action="return", user=city.dy_reviewer)
    assert list(workflow_queue_for(user=city.dy_clerk)) == [dy]
    assert list(workflow_queue_for(user=city.dy_reviewer)) == []
    assert list(workflow_queue_for(user=city.dy_bureau)) == []  # no role in this machine
    assert list(workflow_queue_for(user=city.dy_reviewer2, definition="other")) == []
