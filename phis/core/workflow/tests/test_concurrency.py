"""Two reviewers decide the same item at the same moment (PostgreSQL only: real row
locks). Exactly one decision wins; the other gets 409."""

import threading

import pytest
from django.db import connection, connections

from phis.core.exceptions import Conflict
from phis.core.workflow.models import WorkflowInstance
from phis.core.workflow.services import workflow_start, workflow_transition

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    settings.PHIS_EVENTS_DRAIN_ON_COMMIT = False


def test_simultaneous_decisions_one_wins(city):
    barrier = threading.Barrier(2)

    def wait_for_the_other(instance, user):
        barrier.wait(5)  # both have read version 1 before either writes
        return True

    from phis.core.workflow.definitions import (
        State,
        Transition,
        WorkflowDefinition,
        workflow_register,
        workflow_unregister,
    )

    machine = WorkflowDefinition(
        name="tests.race_pg", label="竞争", label_en="Race", initial="open",
        states=(State("open", "开", "Open"), State("approved", "准", "Approved", final=True),
                State("rejected", "驳", "Rejected", final=True)),
        transitions=(Transition("approve", ("open",), "approved", "准", "Approve",
                                guard=wait_for_the_other),
                     Transition("reject", ("open",), "rejected", "驳", "Reject",
                                guard=wait_for_the_other)))
    workflow_register(machine)
    try:
        item = workflow_start(definition="tests.race_pg", owner_unit=city.dy_cdc)
        results = {}

        def act(user, action):
            try:
                workflow_transition(instance_id=item.pk, action=action, user=user)
                results[action] = "ok"
            except Conflict as exc:
                results[action] = exc.code
            finally:
                connections.close_all()

        threads = [threading.Thread(target=act, args=(city.dy_reviewer, "approve")),
                   threading.Thread(target=act, args=(city.dy_reviewer2, "reject"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert sorted(results.values()) == ["concurrent_update", "ok"]
        item = WorkflowInstance.objects.get(pk=item.pk)
        winner = next(a for a, r in results.items() if r == "ok")
        assert item.state == {"approve": "approved", "reject": "rejected"}[winner]
        assert item.version == 2 and item.history.count() == 2
    finally:
        workflow_unregister("tests.race_pg")
