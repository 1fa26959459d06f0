from datetime import timedelta

import pytest

from phis.core.workflow.definitions import (
    Escalation,
    State,
    Transition,
    WorkflowDefinition,
    definition_get,
    workflow_register,
)
from phis.core.workflow.tests.conftest import REVIEW


def _states():
    return (State("a", "甲", "A", deadline=timedelta(hours=1)), State("b", "乙", "B", final=True))


def test_unknown_states_and_duplicates_are_refused():
    with pytest.raises(ValueError, match="initial"):
        WorkflowDefinition(name="x", label="x", label_en="x", initial="zz", states=_states(),
                           transitions=())
    with pytest.raises(ValueError, match="unknown state"):
        WorkflowDefinition(name="x", label="x", label_en="x", initial="a", states=_states(),
                           transitions=(Transition("go", ("a",), "c", "走", "Go"),))
    with pytest.raises(ValueError, match="two 'go'"):
        WorkflowDefinition(name="x", label="x", label_en="x", initial="a", states=_states(),
                           transitions=(Transition("go", ("a",), "b", "走", "Go"),
                                        Transition("go", ("a",), "a", "走", "Go")))
    with pytest.raises(ValueError, match="escalation level"):
        Escalation(at="province")


def test_lookup_helpers(review_machine):
    assert definition_get("tests.report_review") is REVIEW
    assert [t.action for t in REVIEW.transitions_from("submitted")] == ["review", "return"]
    assert REVIEW.transition("returned", "review") is None
    assert REVIEW.escalation_for("submitted").at == "county"
    with pytest.raises(ValueError, match="already registered"):
        workflow_register(WorkflowDefinition(name=REVIEW.name, label="x", label_en="x",
                                             initial="a", states=_states(), transitions=()))
    with pytest.raises(LookupError):
        definition_get("nope")
