"""The /api/notifiable router: JSON create (Idempotency-Key), list/detail scoping, actions,
FHIR Bundle intake, CSV/Excel import and the batch endpoint."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from phis.apps.notifiable.models import CardStatus, LabResult, ReportCard
from phis.apps.notifiable.tests.conftest import card_input, resident_id

pytestmark = pytest.mark.django_db


def _json(data) -> dict:
    out = {}
    for k, v in data.__dict__.items():
        out[k] = v.isoformat() if hasattr(v, "isoformat") else v
    return out


def _post(client, path, body, **headers):
    return client.post(f"/api/notifiable{path}", json.dumps(body),
                       content_type="application/json", **headers)


def test_create_idempotent_get_and_list(client, card_env):
    client.force_login(card_env.clinician)
    body = _json(card_input())
    first = _post(client, "/cards", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == 201, first.content
    again = _post(client, "/cards", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = _post(client, "/cards", {**body, "patient_name": "王二"},
                  HTTP_IDEMPOTENCY_KEY="abc-1")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert ReportCard.objects.count() == 1
    card = first.json()
    assert card["status"] == "submitted" and card["id_number_masked"].startswith("370502")
    assert "id_number" not in card
    listed = client.get("/api/notifiable/cards", {"disease_code": "influenza",
                                                   "date_basis": "onset",
                                                   "date_from": str(date.today() - timedelta(
                                                       days=5))})
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert client.get(f"/api/notifiable/cards/{card['id']}").status_code == 200


def test_field_errors_are_bilingual_422(client, card_env):
    client.force_login(card_env.clinician)
    body = _json(card_input(occupation="03", work_unit="东营市胜利第一小学",
                            onset_date=timezone.localdate() + timedelta(days=2)))
    response = _post(client, "/cards", body)
    assert response.status_code == 422
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert errors["work_unit"]["code"] == "school_required"
    assert errors["onset_date"]["message"] == "发病日期不能晚于今天"
    assert errors["onset_date"]["message_en"] == "The onset date cannot be in the future"
    bad_type = _post(client, "/cards", {**body, "sex": "x"})
    assert bad_type.status_code == 422


def test_review_conflict_and_scoping_over_api(client, card_env):
    client.force_login(card_env.clinician)
    card = _post(client, "/cards", _json(card_input())).json()
    client.force_login(card_env.reviewer_gr)
    assert client.get(f"/api/notifiable/cards/{card['id']}").status_code == 404
    assert _post(client, f"/cards/{card['id']}/review",
                 {"version": card["version"]}).status_code == 404
    assert client.get("/api/notifiable/cards").json()["count"] == 0
    client.force_login(card_env.reviewer)
    ok = _post(client, f"/cards/{card['id']}/review", {"version": card["version"]})
    assert ok.status_code == 200 and ok.json()["status"] == "reviewed"
    client.force_login(card_env.reviewer2)
    late = _post(client, f"/cards/{card['id']}/review", {"version": card["version"]})
    assert late.status_code == 409
    assert late.json()["message_en"].startswith("The card was changed by someone else")
    history = client.get(f"/api/notifiable/cards/{card['id']}/history").json()
    assert [h["action"] for h in history] == ["create", "submit", "review"]
    client.force_login(card_env.clinician)
    assert _post(client, f"/cards/{card['id']}/review",
                 {"version": ok.json()["version"]}).status_code == 403


def fhir_bundle(**overrides) -> dict:
    now = timezone.localtime()
    birth = date(1990, 3, 8)
    patient = {
        "resourceType": "Patient", "id": "p1",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3",
                        "value": resident_id(birth, seq=311)}],
        "name": [{"text": "刘洋"}], "gender": "male", "birthDate": birth.isoformat(),
        "telecom": [{"system": "phone", "value": "13900001111"}],
        "address": [{"use": "home", "text": "文汇街道东营社区5号", "extension": [{
            "url": "http://phis.dongying.gov.cn/fhir/StructureDefinition/address-division-code",
            "valueCode": "370502001011"}]}],
        "extension": [{"url": "http://phis.dongying.gov.cn/fhir/StructureDefinition/"
                              "population-group", "valueCode": "14"}]}
    condition = {
        "resourceType": "Condition", "id": "c1",
        "identifier": [{"system": "urn:his:h1", "value": "HIS-0001"}],
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "A01.0"}]},
        "verificationStatus": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "code": "confirmed"}]},
        "onsetDateTime": (now - timedelta(days=3)).date().isoformat(),
        "recordedDate": (now - timedelta(hours=2)).replace(microsecond=0).isoformat(),
        "recorder": {"display": "赵医生"}}
    observation = {
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "625-4",
                             "display": "Bacteria identified in Stool by Culture"}]},
        "subject": {"reference": "Patient/p1"},
        "valueString": "伤寒沙门菌", "interpretation": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
            "code": "POS"}]}],
        "issued": (now - timedelta(hours=3)).replace(microsecond=0).isoformat()}
    entries = [{"resource": patient}, {"resource": condition}, {"resource": observation}]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    bundle.update(overrides)
    return bundle


def test_fhir_bundle_good(client, card_env):
    client.force_login(card_env.clinician)
    response = _post(client, "/fhir", fhir_bundle())
    assert response.status_code == 201, response.content
    card = response.json()
    assert card["disease_code"] == "typhoid-paratyphoid" and card["subtype_code"] == "typhoid"
    assert card["case_classification"] == "3" and card["source"] == "fhir"
    assert card["external_id"] == "HIS-0001" and card["doctor_name"] == "赵医生"
    lab = LabResult.objects.get(card_id=card["id"])
    assert lab.interpretation == "positive" and lab.confirms and lab.loinc_code == "625-4"
    again = _post(client, "/fhir", fhir_bundle())  # same external id: not stored twice
    assert again.status_code == 409 and again.json()["code"] == "external_id_exists"


def test_fhir_bundle_bad(client, card_env):
    client.force_login(card_env.clinician)
    bad = fhir_bundle()
    bad["entry"][1]["resource"]["onsetDateTime"] = "not-a-date"
    response = _post(client, "/fhir", bad)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert any("onsetDateTime" in f and "entry[1]" in f for f in fields), fields
    no_condition = fhir_bundle()
    no_condition["entry"] = no_condition["entry"][:1]
    response = _post(client, "/fhir", no_condition)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Bundle.entry(Condition)"
    assert _post(client, "/fhir", {"resourceType": "Patient"}).status_code == 422
    no_interp = fhir_bundle()
    del no_interp["entry"][2]["resource"]["interpretation"]
    response = _post(client, "/fhir", no_interp)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].endswith("(Observation).interpretation")
    assert ReportCard.objects.count() == 0


def test_batch_per_item_results(client, card_env):
    client.force_login(card_env.clinician)
    good = [_json(card_input(patient_name=f"批量{i}", id_number=resident_id(
        date(1970, 1, 1) + timedelta(days=i), seq=i))) for i in range(5)]
    bad = {**good[0], "case_classification": "9", "external_id": ""}
    response = _post(client, "/batch", {"cards": [*good, bad]})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["created"], body["failed"]) == (6, 5, 1)
    assert body["rows"][5]["row"] == 5 and body["rows"][5]["errors"][0]["field"] == \
        "case_classification"
    assert ReportCard.objects.filter(status=CardStatus.SUBMITTED).count() == 5


def test_csv_import_labels_errors_with_file_columns(client, card_env):
    client.force_login(card_env.clerk)
    diag = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    onset = (timezone.localdate() - timedelta(days=1)).isoformat()
    lines = ["患者姓名,有效证件号,性别,人群分类,现住址代码,病种,病例分类,发病日期,诊断时间",
             f"甲,{resident_id(date(1960, 1, 1), seq=1)},男,09,370502001011,mumps,2,"
             f"{onset},{diag}",
             f"乙,{resident_id(date(1961, 1, 1), seq=3)},男,09,370502001011,mumps,2,"
             f"2026-02-30,{diag}",
             "",
             f"丙,{resident_id(date(1962, 1, 1), seq=5)},女,09,370502001011,mumps,2,"
             f"{onset},{diag}"]
    upload = io.BytesIO("\n".join(lines).encode("utf-8"))
    upload.name = "cards.csv"
    response = client.post("/api/notifiable/import", {"file": upload})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["total"], body["created"], body["failed"]) == (3, 1, 2)
    errors = {r["row"]: r["errors"] for r in body["rows"] if r["status"] == "error"}
    assert errors[3][0]["field"] == "发病日期"  # the file's own header
    assert errors[5][0]["field"] == "性别"  # 女 vs a male resident ID
    assert errors[5][0]["code"] == "mismatch_id"


@pytest.mark.parametrize("query", [
    {"card_ids": ["-193212944612929129290169057280", "5"]},
    {"card_ids": ["99999999999999999999"]},
    {"date_basis": "report", "date_from": "0001-01-01", "date_to": "9999-12-31"},
    {"date_basis": "review", "date_to": "9999-12-31"},
    {"date_basis": "onset", "date_from": "0001-01-01", "date_to": "9999-12-31"},
    {"date_basis": "diagnosis", "date_from": "0001-01-01"},
])
def test_list_extreme_query_values_answer_4xx_or_200_never_500(client, card_env, query):
    client.force_login(card_env.city)
    response = client.get("/api/notifiable/cards", query)
    assert response.status_code in (200, 422), response.content
    if response.status_code == 422:
        assert "card_ids" in response.json()["errors"][0]["field"]


@pytest.mark.parametrize(("field", "value"), [
    ("diagnosis_at", "0001-01-01T00:00:00+14:00"),
    ("diagnosis_at", "9999-12-31T23:59:59-12:00"),
    ("diagnosis_at", "9999-12-31T23:00:00"),
    ("onset_date", "0001-01-01"),
    ("birth_date", "9999-12-31"),
    ("filled_date", "0001-01-01"),
    ("death_date", "9999-12-31"),
])
def test_extreme_dates_are_field_errors(client, card_env, field, value):
    client.force_login(card_env.clinician)
    body = {**_json(card_input()), field: value}
    for path in ("/check", "/cards"):
        response = _post(client, path, body)
        if path == "/check":
            assert response.status_code == 200, response.content
            fields = {e["field"] for e in response.json()["errors"]}
        else:
            assert response.status_code == 422, response.content
            fields = {e["field"] for e in response.json()["errors"]}
        assert field in fields, (path, response.json())


def test_lab_result_extreme_times_are_field_errors(client, card_env):
    client.force_login(card_env.clinician)
    card = _post(client, "/cards", _json(card_input())).json()
    for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
        response = _post(client, f"/cards/{card['id']}/lab-results", {
            "test_name": "核酸", "result": "阳性", "interpretation": "positive",
            "resulted_at": value, "collected_at": value})
        assert response.status_code == 422, response.content
        assert {e["field"] for e in response.json()["errors"]} & {"resulted_at",
                                                                  "collected_at"}


def test_list_total_is_capped_for_very_large_results(card_env, api_client, monkeypatch):
    from phis.apps.notifiable import api as card_api
    from phis.apps.notifiable.services import card_create

    for seq in range(3):
        card_create(user=card_env.clinician, data=card_input(
            id_number=resident_id(date(1981, 2, 3), seq=seq)))
    api = api_client.login(card_env.reviewer)
    page = api.get("/notifiable/cards").json()
    assert (page["count"], page["count_capped"]) == (3, False)
    monkeypatch.setattr(card_api, "LIST_COUNT_CAP", 2)
    page = api.get("/notifiable/cards", limit=1).json()
    assert (page["count"], page["count_capped"], len(page["items"])) == (2, True, 1)
