"""API shapes and errors, and the pages (scoped, field errors, chart, Excel)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from phis.apps.keydiseases import rules, services
from phis.apps.keydiseases.tests.conftest import payload_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(kd, reviewed_card):
    return services.card_changed(payload_of(reviewed_card()))


def test_api_case_list_detail_scoped(kd, case, api_client):
    api_client.login(kd.reviewer)
    rows = api_client.get("/keydiseases/cases", disease_code="tuberculosis").json()
    assert [r["id"] for r in rows] == [case.pk]
    detail = api_client.get(f"/keydiseases/cases/{case.pk}").json()
    assert {t["kind"] for t in detail["tasks"]} == {"tb_treatment_start", "tb_first_home_visit",
                                                    "tb_contact_screening"}
    api_client.login(kd.reviewer_gr)
    assert api_client.get("/keydiseases/cases").json() == []
    response = api_client.get(f"/keydiseases/cases/{case.pk}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_api_field_errors_and_writes(kd, case, api_client):
    api_client.login(kd.thc)
    today = timezone.localdate().isoformat()
    bad = api_client.post(f"/keydiseases/cases/{case.pk}/followups",
                          {"kind": "visit", "done_date": today, "doses_planned": 5,
                           "doses_observed": 6})
    assert bad.status_code == 422
    body = bad.json()
    assert body["errors"][0]["field"] == "doses_missed" and body["errors"][0]["message_en"]
    ok = api_client.post(f"/keydiseases/cases/{case.pk}/followups",
                         {"kind": "home_visit", "done_date": today})
    assert ok.status_code == 201 and ok.json()["status"] == "done"
    # the township centre may not set the regimen
    denied = api_client.post(f"/keydiseases/cases/{case.pk}/treatment",
                             {"version": 1, "start_date": today})
    assert denied.status_code == 403
    api_client.login(kd.clinician)
    started = api_client.post(f"/keydiseases/cases/{case.pk}/treatment",
                              {"version": 99, "start_date": today})
    assert started.status_code == 409
    tasks = api_client.get("/keydiseases/tasks", view="mine").json()
    assert [t["kind"] for t in tasks] == ["tb_treatment_start"]
    assert api_client.get("/keydiseases/tasks", view="nope").status_code == 422


def test_api_ili_week_and_series(kd, api_client):
    site = services.ili_site_set(user=kd.reviewer, org_unit_code="F370502H1")
    monday = rules.week_monday(timezone.localdate()) - timedelta(days=7)
    api_client.login(kd.clerk)
    response = api_client.post("/keydiseases/ili/weeks", {
        "site_id": site.pk, "week_start": monday.isoformat(), "ili_0_4": 20, "ili_5_14": 20,
        "visits_total": 500})
    assert response.status_code == 201 and response.json()["ili_percent"] == 8.0
    series = api_client.get("/keydiseases/ili/series").json()
    assert 8.0 in series["seasons"][str(rules.season_of(monday))]
    assert api_client.get("/keydiseases/ili/series", seasons="x").status_code == 422
    wrong = api_client.post("/keydiseases/ili/weeks", {
        "site_id": site.pk, "week_start": monday.isoformat(), "visits_total": "many"})
    assert wrong.status_code == 422


def test_pages_render_scoped(kd, case, client):
    client.force_login(kd.thc)
    home = client.get("/keydiseases/?view=mine")
    assert home.status_code == 200 and "首次入户随访" in home.content.decode()
    page = client.get(f"/keydiseases/cases/{case.pk}/")
    assert page.status_code == 200 and case.patient_name in page.content.decode()
    client.force_login(kd.thc_gr)
    assert client.get(f"/keydiseases/cases/{case.pk}/").status_code == 404


def test_followup_form_shows_field_errors(kd, case, client):
    client.force_login(kd.thc)
    response = client.post(f"/keydiseases/cases/{case.pk}/followup/", {
        "kind": "visit", "done_date": timezone.localdate().isoformat(),
        "doses_planned": "abc", "doses_observed": "3"})
    assert response.status_code == 422
    assert 'data-field-error="doses_planned"' in response.content.decode()
    response = client.post(f"/keydiseases/cases/{case.pk}/followup/", {
        "kind": "visit", "done_date": timezone.localdate().isoformat(),
        "doses_planned": "10", "doses_observed": "10"})
    assert response.status_code == 302


def test_ili_pages_and_exports(kd, case, client):
    site = services.ili_site_set(user=kd.reviewer, org_unit_code="F370502H1")
    client.force_login(kd.clerk)
    monday = rules.week_monday(timezone.localdate()) - timedelta(days=7)
    form = client.get(f"/keydiseases/ili/entry/?site={site.pk}")
    assert form.status_code == 200 and "ili_entry.js" in form.content.decode()
    bad = client.post("/keydiseases/ili/entry/", {"site": site.pk,
                                                  "week_start": monday.isoformat(),
                                                  "ili_0_4": "50", "visits_total": "10"})
    assert bad.status_code == 422 and 'data-field-error="visits_total"' in bad.content.decode()
    ok = client.post("/keydiseases/ili/entry/", {"site": site.pk,
                                                 "week_start": monday.isoformat(),
                                                 "ili_0_4": "50", "visits_total": "1000"})
    assert ok.status_code == 302
    client.force_login(kd.reviewer)
    chart = client.get("/keydiseases/ili/")
    assert chart.status_code == 200 and chart.context["with_charts"]
    assert '"type": "line"' in chart.context["chart"]
    xlsx = client.get("/keydiseases/ili/export/")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith(
        "application/vnd.openxmlformats")
    cases = client.get("/keydiseases/export/?view=cases")
    assert cases.status_code == 200
    client.force_login(kd.clinician)
    assert client.get("/keydiseases/export/?view=cases").status_code == 403
