"""MPI, patient-360 and FHIR over HTTP: status codes, field errors, scoping, audit."""

from datetime import date

import pytest
from fhir.resources.R4B.bundle import Bundle

from phis.algorithms.identity import check_character
from phis.core.audit.models import AuditLog
from phis.core.audit.types import AuditEventType
from phis.core.people.mpi_services import IncomingPerson, mpi_intake

pytestmark = pytest.mark.django_db

DY_ID = "37050219800101123" + check_character("37050219800101123")


def review_case(tree):
    first = mpi_intake(record=IncomingPerson(
        name="张伟", sex=1, birth_date=date(1980, 1, 1), id_number=DY_ID, phone="13812345678",
        address_unit_code="370502001011"), source="his-a", source_key="1",
        facility=tree.facilities["370502H1"])
    second = mpi_intake(record=IncomingPerson(
        name="章伟", sex=1, birth_date=date(1980, 1, 1), address_unit_code="370502001011"),
        source="his-b", source_key="9")
    return first, second


def test_intake_api_created_then_repeated(api_client, make_user, tree):
    api = api_client.login(make_user("hospital_clerk", tree.facilities["370502H1"]))
    body = {"source": "his", "source_key": "A1", "name": "李娜", "sex": 2,
            "birth_date": "1990-02-02", "address_unit_code": "370502001011",
            "other_identifiers": [{"id_type": "03", "id_number": "E1234567"}]}
    r = api.post("/persons/mpi/intake", body)
    assert r.status_code == 201 and r.json()["outcome"] == "created"
    again = api.post("/persons/mpi/intake", body)
    assert again.status_code == 200 and again.json()["repeated"]
    assert again.json()["person_id"] == r.json()["person_id"]


def test_intake_api_field_errors(api_client, make_user, tree):
    api = api_client.login(make_user("hospital_clerk", tree.facilities["370502H1"]))
    r = api.post("/persons/mpi/intake", {"source": "his", "source_key": "x", "name": "",
                                         "sex": 7, "phone": "1", "unknown": 1})
    assert r.status_code == 422 and "unknown" in {e["field"] for e in r.json()["errors"]}
    r = api.post("/persons/mpi/intake", {"source": " ", "source_key": "x", "name": "",
                                         "sex": 7, "phone": "1"})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"source"}
    r = api.post("/persons/mpi/intake", {"source": "his", "source_key": "x", "name": "",
                                         "sex": 7, "phone": "1"})
    assert {e["field"] for e in r.json()["errors"]} == {"name", "sex", "phone"}
    assert all(e["message"] and e["message_en"] for e in r.json()["errors"])


def test_queue_is_scoped_and_decisions_conflict(api_client, make_user, tree):
    _, second = review_case(tree)
    (task,) = second.reviews
    gr = api_client.login(make_user("data_steward", tree.facilities["370523CDC"],
                                    jurisdiction=tree.gr))
    assert gr.get("/persons/mpi/reviews").json() == {"count": 0, "items": []}
    assert gr.get(f"/persons/mpi/reviews/{task.pk}").status_code == 404
    assert gr.post(f"/persons/mpi/reviews/{task.pk}/accept", {}).status_code == 404
    assert gr.get(f"/persons/{second.person.pk}/360").status_code == 404
    assert gr.get(f"/persons/{second.person.pk}/fhir").status_code == 404

    clerk = api_client.login(make_user("hospital_clerk", tree.facilities["370502H1"]))
    assert clerk.get("/persons/mpi/reviews").status_code == 403

    dy = api_client.login(make_user("data_steward", tree.facilities["370502CDC"],
                                    jurisdiction=tree.dy, username="dysteward"))
    page = dy.get("/persons/mpi/reviews").json()
    assert page["count"] == 1 and page["items"][0]["record"]["name"] == "章伟"
    assert DY_ID not in str(page)
    r = dy.post(f"/persons/mpi/reviews/{task.pk}/reject", {"reason": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    assert dy.post(f"/persons/mpi/reviews/{task.pk}/accept", {}).status_code == 200
    r = dy.post(f"/persons/mpi/reviews/{task.pk}/reject", {"reason": "不同人"})
    assert r.status_code == 409 and r.json()["code"] == "review_already_decided"
    assert "dysteward" in r.json()["message"] and r.json()["message_en"]


def test_merge_unmerge_api(api_client, make_user, tree):
    first, second = review_case(tree)
    dy = api_client.login(make_user("data_steward", tree.facilities["370502CDC"],
                                    jurisdiction=tree.dy))
    r = dy.post(f"/persons/{first.person.pk}/merge", {"merged_id": first.person.pk,
                                                      "reason": "同一人"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "merged_id"
    r = dy.post(f"/persons/{first.person.pk}/merge", {"merged_id": second.person.pk,
                                                      "reason": "同一人"})
    assert r.status_code == 201
    merge_id = r.json()["id"]
    view = dy.get(f"/persons/{first.person.pk}/360").json()
    assert [p["id"] for p in view["merged_persons"]] == [second.person.pk]
    assert {link["source"] for link in view["links"]} == {"his-a", "his-b"}
    r = dy.post(f"/persons/merges/{merge_id}/unmerge", {"reason": "误合并"})
    assert r.status_code == 200 and r.json()["unmerged_at"]
    r = dy.post(f"/persons/merges/{merge_id}/unmerge", {"reason": "误合并"})
    assert r.status_code == 409


def test_360_and_fhir_masked_unless_unmasked_with_reason(api_client, make_user, tree):
    first, _ = review_case(tree)
    pid = first.person.pk
    reviewer = api_client.login(make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                                          jurisdiction=tree.dy))
    view = reviewer.get(f"/persons/{pid}/360").json()
    assert view["person"]["id_masked"] == "370502********" + DY_ID[-4:]
    assert view["timeline"] and view["timeline"][0]["at"] >= view["timeline"][-1]["at"]
    assert DY_ID not in str(view)
    assert AuditLog.objects.filter(person_id=pid, event_type=AuditEventType.RECORD_VIEWED,
                                   detail__view="360").exists()

    r = reviewer.get(f"/persons/{pid}/fhir")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(r.json())
    patient = bundle.entry[0].resource
    assert patient.identifier[0].value.endswith(DY_ID[-4:]) and DY_ID not in r.content.decode()
    assert patient.meta.security[0].code == "MASKED"
    assert {e.resource.__resource_type__ for e in bundle.entry} == {"Patient", "Provenance"}
    r = reviewer.get(f"/persons/{pid}/fhir", reason="流调核实身份")
    assert DY_ID in r.content.decode()
    assert AuditLog.objects.filter(person_id=pid,
                                   event_type=AuditEventType.IDENTIFIER_UNMASKED).exists()
    doctor = api_client.login(make_user("clinician", tree.facilities["370502H1"]))
    assert doctor.get(f"/persons/{pid}/fhir", reason="想看").status_code == 403
    assert doctor.get(f"/persons/{pid}/fhir").status_code == 200


def test_pages(client, make_user, tree):
    first, second = review_case(tree)
    (task,) = second.reviews
    client.force_login(make_user("data_steward", tree.facilities["370502CDC"],
                                 jurisdiction=tree.dy))
    page = client.get(f"/persons/{first.person.pk}/360/")
    assert page.status_code == 200 and "370502********" in page.content.decode()
    assert DY_ID not in page.content.decode()
    assert client.get("/persons/mpi/reviews/").status_code == 200
    assert "章伟" in client.get(f"/persons/mpi/reviews/{task.pk}/").content.decode()
    r = client.post(f"/persons/mpi/reviews/{task.pk}/", {"action": "reject", "reason": ""})
    assert r.status_code == 422
    r = client.post(f"/persons/mpi/reviews/{task.pk}/", {"action": "reject",
                                                         "reason": "不同人"})
    assert r.status_code == 302
    r = client.get(f"/persons/{first.person.pk}/360/fhir.json")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
