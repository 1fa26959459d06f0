"""/api/epi: the aggregates as JSON, field errors for bad parameters, scope, permissions."""

from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db

D0 = timezone.localdate() - timedelta(days=30)
PERIOD = {"date_from": D0.isoformat(), "date_to": (D0 + timedelta(days=13)).isoformat()}


@pytest.fixture
def city(populated, make_user, codes):
    return make_user("city_cdc", populated.city, username="city")


@pytest.fixture
def county(populated, make_user, codes):
    return make_user("county_cdc_reviewer", populated.facilities["370523CDC"],
                     jurisdiction=populated.gr, username="gr")


@pytest.fixture
def some_cards(make_card):
    make_card(county="370502", disease="hfmd", onset=D0)
    make_card(county="370502", disease="influenza", onset=D0 + timedelta(days=1))
    make_card(county="370523", disease="hfmd", onset=D0 + timedelta(days=2))


def test_table_map_curve_and_diseases_agree(api_client, city, some_cards):
    api = api_client.login(city)
    table = api.get("/epi/table", **PERIOD)
    assert table.status_code == 200, table.json()
    body = table.json()
    assert body["total"] == 3
    rows = {r["code"]: r for r in body["rows"]}
    assert rows["370502"]["count"] == 2 and rows["370523"]["count"] == 1
    assert rows["370502"]["url"].startswith("/notifiable/cards/?county_code=370502&")

    m = api.get("/epi/map", **PERIOD).json()
    assert m["map"] == "东营"
    assert {r["name"]: r["count"] for r in m["regions"]} == {"东营区": 2, "广饶县": 1}
    assert sum(t["value"][2] for t in m["townships"]) == 3

    c = api.get("/epi/curve", **PERIOD, stack="classification").json()
    assert c["interval"] == "day" and len(c["labels"]) == 14
    assert sum(c["totals"]) == 3
    assert sum(sum(s["values"]) for s in c["series"]) == 3

    d = api.get("/epi/diseases", **PERIOD).json()
    assert [(x["code"], x["count"]) for x in d] == [("hfmd", 2), ("influenza", 1)]


def test_county_user_is_kept_to_their_county(api_client, county, some_cards):
    api = api_client.login(county)
    body = api.get("/epi/table", **PERIOD).json()
    assert body["total"] == 1
    assert {r["code"] for r in body["rows"]} == {"370523", "370523001"}
    refused = api.get("/epi/map", **PERIOD, county_code="370502")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "county_code"


def test_bad_parameters_answer_422_with_field_errors(api_client, city):
    response = api_client.login(city).get(
        "/epi/curve", date_from="2026-02-30", date_basis="whenever", interval="hourly",
        disease_code="unknown-disease", county_code="123")
    assert response.status_code == 422
    body = response.json()
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"date_from", "date_basis", "interval", "disease_code", "county_code"}
    assert all(e["message"] and e["message_en"] for e in body["errors"])


def test_bad_types_and_nul_characters_are_4xx_not_500(api_client, city):
    api = api_client.login(city)
    assert api.get("/epi/diseases", limit="many").status_code == 422
    assert api.get("/epi/table", disease_code="hf\x00md").status_code == 422
    bad = api.post("/epi/reports", {"scope_code": "370500", "iso_year": 2026, "iso_week": 60})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "iso_week"


def test_permissions_and_login(api_client, populated, make_user, codes):
    assert api_client.get("/epi/table").status_code == 401
    clinician = make_user("clinician", populated.facilities["370502H1"], username="doc")
    assert api_client.login(clinician).get("/epi/table").status_code == 403


def test_reports_generate_list_and_download(api_client, city, some_cards):
    from phis.core.audit.models import AuditLog

    api = api_client.login(city)
    y, w, _ = (timezone.localdate() - timedelta(days=7)).isocalendar()
    made = api.post("/epi/reports", {"scope_code": "370500", "iso_year": y, "iso_week": w})
    assert made.status_code == 201, made.json()
    report = made.json()
    assert report["revision"] == 1 and len(report["checksum"]) == 64
    again = api.post("/epi/reports", {"scope_code": "370500", "iso_year": y, "iso_week": w})
    assert again.json()["revision"] == 2
    listed = api.get("/epi/reports").json()
    assert [r["revision"] for r in listed] == [2, 1]
    pdf = api_client.c.get(report["download_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["X-Content-SHA256"] == report["checksum"]
    assert AuditLog.objects.filter(object_type="epi.situationreport",
                                   object_id=str(report["id"]), event_type=203).exists()


def test_county_user_cannot_generate_or_read_another_scope(api_client, county, city):
    api = api_client.login(county)
    y, w, _ = (timezone.localdate() - timedelta(days=7)).isocalendar()
    refused = api.post("/epi/reports", {"scope_code": "370502", "iso_year": y, "iso_week": w})
    assert refused.status_code == 403
    from phis.apps.epi.services import situation_report_generate

    other = situation_report_generate(scope_code="370502", iso_year=y, iso_week=w)
    assert api_client.c.get(f"/api/epi/reports/{other.pk}/pdf").status_code == 404
    assert api.get("/epi/reports").json() == []
