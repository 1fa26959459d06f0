from datetime import date, timedelta

import pytest
from django.utils import timezone

from phis.apps.notifiable.services import card_create
from phis.apps.notifiable.tests.conftest import card_input, resident_id
from phis.core.audit.models import AuditLog

pytestmark = pytest.mark.django_db


def _open_payload(**over):
    payload = {"title": "某幼儿园手足口病聚集", "disease_code": "hfmd", "county_code": "370502",
               "setting": "kindergarten", "place_code": "370502001"}
    payload.update(over)
    return payload


def test_api_open_list_detail_and_scope(card_env, api_client):
    api = api_client.login(card_env.reviewer)
    created = api.post("/outbreaks/", _open_payload())
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["number"].startswith("OB370502") and body["figures"]["cases"] == 0
    assert [o["id"] for o in api.get("/outbreaks/").json()] == [body["id"]]
    assert api.get(f"/outbreaks/{body['id']}").status_code == 200
    other = api_client.login(card_env.reviewer_gr)
    assert other.get(f"/outbreaks/{body['id']}").status_code == 404
    assert other.get("/outbreaks/").json() == []


def test_api_bad_input_is_a_field_error_not_a_500(card_env, api_client):
    api = api_client.login(card_env.reviewer)
    bad = api.post("/outbreaks/", _open_payload(title="", setting="nowhere",
                                                 county_code="999999"))
    assert bad.status_code == 422
    body = bad.json()
    assert {e["field"] for e in body["errors"]} >= {"title", "setting", "county_code"}
    assert body["message"] and body["message_en"]
    missing = api.post("/outbreaks/", {"title": "x"})  # schema-level: setting missing
    assert 400 <= missing.status_code < 500


def test_api_clinician_cannot_open(card_env, api_client):
    api = api_client.login(card_env.clinician)
    assert api.post("/outbreaks/", _open_payload()).status_code == 403


def test_api_full_response_round(card_env, api_client):
    api = api_client.login(card_env.reviewer)
    outbreak = api.post("/outbreaks/", _open_payload()).json()
    card = card_create(user=card_env.clinician, data=card_input(
        disease_code="hfmd", patient_name="孙小花", parent_name="孙大", occupation="01",
        work_unit="东营市第一幼儿园中二班", sex=2,
        id_number=resident_id(date(2022, 4, 1), seq=212, male=False)))
    linked = api.post(f"/outbreaks/{outbreak['id']}/cases", {"card_ids": [card.pk]})
    assert linked.status_code == 201 and linked.json() == [card.pk]
    cases = api.get(f"/outbreaks/{outbreak['id']}/cases").json()
    assert cases[0]["card_number"] == card.card_number
    step = api.post(f"/outbreaks/{outbreak['id']}/steps",
                    {"kind": "field", "summary": "幼儿园现场调查", "details": "晨检记录核查"})
    assert step.status_code == 201
    contact = api.post(f"/outbreaks/{outbreak['id']}/contacts", {
        "name": "周同学", "sex": 1, "age": 4, "exposure_kind": "classmate",
        "last_exposure": (timezone.localdate() - timedelta(days=1)).isoformat(),
        "address_code": "370502001011", "source_card_id": card.pk})
    assert contact.status_code == 201, contact.content
    cid = contact.json()["id"]
    due = api.get("/outbreaks/contacts/due").json()
    assert [c["id"] for c in due] == [cid]
    fu = api.post(f"/outbreaks/contacts/{cid}/follow-ups", {"temperature": 36.8})
    assert fu.status_code == 201
    assert api.get("/outbreaks/contacts/due").json() == []
    detail = api.get(f"/outbreaks/{outbreak['id']}").json()
    assert detail["status"] == "investigating" and detail["figures"]["contacts"] == 1
    early = api.post(f"/outbreaks/{outbreak['id']}/close", {
        "version": detail["version"], "conclusion": "outbreak", "measures": "晨午检、消毒",
        "closing_summary": "一起托幼机构手足口病聚集性疫情"})
    assert early.status_code == 422
    assert early.json()["errors"][0]["field"] == "close_early_reason"
    closed = api.post(f"/outbreaks/{outbreak['id']}/close", {
        "version": detail["version"], "conclusion": "outbreak", "measures": "晨午检、消毒",
        "closing_summary": "一起托幼机构手足口病聚集性疫情", "close_early_reason": "演练"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    stale = api.post(f"/outbreaks/{outbreak['id']}/status",
                     {"version": detail["version"], "status": "controlled"})
    assert stale.status_code == 409


def test_pages_list_open_detail_and_errors_keep_values(card_env, client):
    client.force_login(card_env.reviewer)
    assert client.get("/outbreaks/").status_code == 200
    page = client.post("/outbreaks/new/", {"title": "测试事件", "disease_code": "hfmd",
                                           "county_code": "370502", "setting": ""})
    assert page.status_code == 422
    assert "测试事件" in page.content.decode()  # nothing typed is lost
    ok = client.post("/outbreaks/new/", {"title": "测试事件", "disease_code": "hfmd",
                                         "county_code": "370502", "setting": "school"})
    assert ok.status_code == 302
    detail_url = ok["Location"]
    assert client.get(detail_url).status_code == 200
    bad_contact = client.post(detail_url, {"action": "contact", "name": "吴某",
                                           "exposure_kind": "household",
                                           "last_exposure": "2099-01-01"})
    assert bad_contact.status_code == 422
    html = bad_contact.content.decode()
    assert "吴某" in html and 'data-field-error="last_exposure"' in html
    for tab in ("steps", "contacts", "close"):
        assert client.get(f"{detail_url}?tab={tab}").status_code == 200
    assert client.get(detail_url.rstrip("/") + "/report/").status_code == 200
    export = client.get("/outbreaks/export.xlsx")
    assert export.status_code == 200
    assert AuditLog.objects.filter(object_type="outbreaks.outbreak",
                                   purpose__contains="export").exists()


def test_pages_are_scoped(card_env, client):
    client.force_login(card_env.reviewer)
    url = client.post("/outbreaks/new/", {"title": "t", "disease_code": "hfmd",
                                          "county_code": "370502",
                                          "setting": "school"})["Location"]
    client.force_login(card_env.reviewer_gr)
    assert client.get(url).status_code == 404
