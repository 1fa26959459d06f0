"""The API and the pages: queue scoping, detail, a response with a stale version (409),
configuration errors (422), run permission, and the pages render for each role."""

from __future__ import annotations

import pytest
from django.utils import timezone

from phis.apps.signals.models import Signal

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal(env):
    env.card(disease="cholera", onset=timezone.localdate(), now=timezone.now())
    env.drain()
    return Signal.objects.get(disease_code="cholera")


def test_queue_api_is_scoped(api_client, env, signal):
    body = api_client.login(env.reviewer).get("/signals").json()
    assert body["count"] == 1 and body["items"][0]["id"] == signal.pk
    item = body["items"][0]
    assert item["method"] == "fixed" and item["owner_unit_code"] == "F370502CDC"
    assert item["cases_url"].startswith("/notifiable/cards/?disease_code=cholera&county_code"
                                        "=370502&date_basis=report")
    assert api_client.login(env.reviewer_gr).get("/signals").json()["count"] == 0
    assert api_client.get(f"/signals/{signal.pk}").status_code == 404
    assert api_client.login(env.clinician).get("/signals").status_code == 403


def test_action_api_and_conflict(api_client, env, signal):
    detail = api_client.login(env.reviewer).get(f"/signals/{signal.pk}").json()
    assert {a["action"] for a in detail["actions"]} == {"acknowledge", "exclude", "suspect"}
    version = detail["version"]
    r = api_client.post(f"/signals/{signal.pk}/actions",
                        {"action": "exclude", "version": version})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "verification_method"
    r = api_client.post(f"/signals/{signal.pk}/actions",
                        {"action": "exclude", "version": version,
                         "verification_method": "data_review", "note": "误诊"})
    assert r.status_code == 200 and r.json()["status"] == "excluded"
    assert r.json()["outcome"] == "excluded" and r.json()["responded_by"] == "rev.dy"
    stale = api_client.login(env.reviewer2).post(
        f"/signals/{signal.pk}/actions", {"action": "close", "version": version})
    assert stale.status_code == 409
    assert stale.json()["message_en"].startswith("Someone else")
    series = api_client.get(f"/signals/{signal.pk}/series").json()
    assert sum(series["counts"]) == 1 and series["alarm"][-1] is True


def test_config_and_run_api(api_client, env):
    r = api_client.login(env.reviewer).get("/signals/configs")
    assert r.status_code == 200 and any(c["disease_code"] == "hfmd" for c in r.json())
    hfmd = api_client.get("/signals/configs/hfmd").json()
    assert api_client.put("/signals/configs/hfmd", {"version": hfmd["version"]}) \
        .status_code == 403
    assert api_client.post("/signals/runs", {}).status_code == 403
    api_client.login(env.city)
    bad = api_client.put("/signals/configs/hfmd", {"version": hfmd["version"],
                                                   "parameters": {"percentile": "x"}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == \
        "parameters.percentile"
    ok = api_client.put("/signals/configs/hfmd", {"version": hfmd["version"],
                                                  "parameters": {"percentile": 80}})
    assert ok.status_code == 200 and ok.json()["parameters"]["percentile"] == 80
    assert api_client.put("/signals/configs/hfmd", {"version": hfmd["version"]}) \
        .status_code == 409
    assert api_client.get("/signals/configs/nope").status_code == 404
    run = api_client.post("/signals/runs", {"diseases": ["hfmd"]})
    assert run.status_code == 201 and run.json()["series_evaluated"] == 2
    assert api_client.get("/signals/runs").json()[0]["id"] == run.json()["run_id"]
    ind = api_client.get("/signals/indicators", date_from="2026-01-02", date_to="2026-01-01")
    assert ind.status_code == 422


def test_pages(client, env, signal):
    client.force_login(env.reviewer)
    queue = client.get("/signals/")
    assert queue.status_code == 200
    html = queue.content.decode()
    assert f"/signals/{signal.pk}/" in html and 'data-testid="indicators"' in html
    assert 'data-testid="run-form"' not in html  # county users do not start runs
    detail = client.get(f"/signals/{signal.pk}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'data-chart="signal-chart"' in html and "echarts.min.js" in html
    assert 'data-testid="action-acknowledge"' in html
    r = client.post(f"/signals/{signal.pk}/", {"action": "acknowledge",
                                                "version": signal.workflow.version})
    assert r.status_code == 302
    signal.refresh_from_db()
    assert signal.status == "acknowledged"
    r = client.post(f"/signals/{signal.pk}/", {"action": "acknowledge", "version": "1"})
    assert r.status_code == 200 and 'data-testid="action-error"' in r.content.decode()
    assert client.get("/signals/config/").status_code == 200
    assert client.get("/signals/config/hfmd/").status_code == 403
    client.force_login(env.reviewer_gr)
    assert client.get(f"/signals/{signal.pk}/").status_code == 404
    client.force_login(env.city)
    assert 'data-testid="run-form"' in client.get("/signals/").content.decode()
    page = client.get("/signals/config/hfmd/")
    assert page.status_code == 200
    version = page.context["config"].version
    r = client.post("/signals/config/hfmd/", {"version": version, "enabled": "on",
                                              "method": "mpm", "basis": "onset",
                                              "fallback_method": "ears_c1",
                                              "min_baseline_blocks": "15",
                                              "suppression_days": "7",
                                              "response_hours": "24",
                                              "param_percentile": "75",
                                              "param_strict": "on"})
    assert r.status_code == 302
    client.get("/signals/config/hfmd/")
    from phis.apps.signals.selectors import config_get

    config = config_get(disease_code="hfmd")
    assert config.parameters["percentile"] == 75 and config.basis == "onset"
    assert client.post("/signals/run/", {"on": "2026-01-01"}).status_code == 302


def test_queue_queries_do_not_grow_with_signals(api_client, env, signal,
                                                django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api_client.login(env.city)
    with CaptureQueriesContext(connection) as one:
        assert api_client.get("/signals").json()["count"] == 1
    env.card(disease="plague", onset=timezone.localdate(), county="gr", now=timezone.now())
    env.drain()
    with django_assert_num_queries(len(one.captured_queries)):
        assert api_client.get("/signals").json()["count"] == 2
