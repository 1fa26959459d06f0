from datetime import timedelta

import pytest
from django.utils import timezone

from phis.core.workflow.services import workflow_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(city):
    old = timezone.now() - timedelta(hours=30)
    return {
        "dy_overdue": workflow_start(definition="tests.report_review", owner_unit=city.dy_hosp,
                                     subject_key="DY1", title="DY1", now=old),
        "dy_fresh": workflow_start(definition="tests.report_review", owner_unit=city.dy_hosp,
                                   subject_key="DY2", title="DY2"),
        "gr_overdue": workflow_start(definition="tests.report_review", owner_unit=city.gr_hosp,
                                     subject_key="GR1", title="GR1", now=old),
    }


def _login(client, user):
    client.force_login(user)
    return client


def test_queue_and_overdue(client, city, items):
    c = _login(client, city.dy_reviewer)
    queue = c.get("/api/workflow/queue").json()
    assert [i["subject_key"] for i in queue["items"]] == ["DY1", "DY2"]
    assert queue["items"][0]["overdue"] is True
    assert queue["items"][0]["state_label"] == "待审核"
    assert queue["items"][0]["definition_label_en"] == "Report review"
    overdue = c.get("/api/workflow/overdue?definition=tests.report_review").json()
    assert [i["subject_key"] for i in overdue["items"]] == ["DY1"]
    assert c.get("/api/workflow/overdue?page_size=500").status_code == 422


def test_detail_history_and_transition(client, city, items):
    c = _login(client, city.dy_reviewer)
    pk = items["dy_fresh"].pk
    detail = c.get(f"/api/workflow/instances/{pk}").json()
    assert [a["action"] for a in detail["actions"]] == ["review", "return"]
    r = c.post(f"/api/workflow/instances/{pk}/transitions",
               {"action": "return", "comment": "请补充", "expected_version": 1},
               content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "returned" and r.json()["actions"] == []
    history = c.get(f"/api/workflow/instances/{pk}/history").json()
    assert [(h["action"], h["by_username"]) for h in history] == [
        ("start", None), ("return", "dy_reviewer")]


def test_concurrent_decision_is_409(client, city, items):
    pk = items["dy_fresh"].pk
    body = {"action": "review", "expected_version": 1}
    c = _login(client, city.dy_reviewer)
    assert c.post(f"/api/workflow/instances/{pk}/transitions", body,
                  content_type="application/json").status_code == 200
    c = _login(client, city.dy_reviewer2)
    r = c.post(f"/api/workflow/instances/{pk}/transitions", {**body, "action": "return"},
               content_type="application/json")
    assert r.status_code == 409
    assert r.json()["code"] == "concurrent_update"
    assert r.json()["message"] and r.json()["message_en"]


def test_refusals(client, city, items):
    pk = items["dy_fresh"].pk
    c = _login(client, city.dy_clerk)
    r = c.post(f"/api/workflow/instances/{pk}/transitions", {"action": "review"},
               content_type="application/json")
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    c = _login(client, city.gr_reviewer)
    assert c.get(f"/api/workflow/instances/{pk}").status_code == 404
    assert c.get(f"/api/workflow/instances/{pk}/history").status_code == 404
    r = c.post(f"/api/workflow/instances/{items['gr_overdue'].pk}/transitions",
               {"action": "review", "unknown": 1}, content_type="application/json")
    assert r.status_code == 422
    client.logout()
    assert client.get("/api/workflow/queue").status_code == 401
