import pytest

from phis.algorithms.identity import check_character
from phis.core.audit.models import AuditLog
from phis.core.audit.types import AuditEventType
from phis.core.people.services import PersonInput, person_create

pytestmark = pytest.mark.django_db

DY_ID = "37050219800101123" + check_character("37050219800101123")
GR_ID = "37052319900202234" + check_character("37052319900202234")


@pytest.fixture
def two(tree):
    return (person_create(data=PersonInput(name="张伟", id_number=DY_ID,
                                           address_unit_code="370502001011")),
            person_create(data=PersonInput(name="李娜", id_number=GR_ID,
                                           address_unit_code="370523001001")))


def test_requires_login(api_client, two):
    r = api_client.get("/persons", name="张")
    assert r.status_code == 401
    assert set(r.json()) == {"code", "message", "message_en", "errors"}


def test_county_user_never_sees_other_county(api_client, two, make_user, tree):
    dy, gr = two
    api = api_client.login(make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                                     jurisdiction=tree.dy))
    assert [p["id"] for p in api.get("/persons", name="张").json()] == [dy.pk]
    assert api.get("/persons", id_number=GR_ID).json() == []
    r = api.get(f"/persons/{gr.pk}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = api.get(f"/persons/{dy.pk}")
    assert r.status_code == 200 and r.json()["id_masked"] == "370502********" + DY_ID[-4:]
    assert AuditLog.objects.filter(event_type=AuditEventType.RECORD_VIEWED, person_id=dy.pk,
                                   channel="api").exists()
    assert AuditLog.objects.filter(event_type=AuditEventType.RECORD_SEARCHED).count() == 2
    r = api.put(f"/persons/{gr.pk}", {"name": "改名"})
    assert r.status_code == 403  # reviewers do not edit persons; out of scope anyway


def test_write_out_of_scope_is_404_and_row_unchanged(api_client, two, make_user, tree):
    _, gr = two
    api = api_client.login(make_user("hospital_clerk", tree.facilities["370502H1"]))
    r = api.put(f"/persons/{gr.pk}", {"name": "改名"})
    assert r.status_code == 404
    gr.refresh_from_db()
    assert gr.name == "李娜"


def test_create_validation_errors_are_field_level(api_client, make_user, tree):
    api = api_client.login(make_user("hospital_clerk", tree.facilities["370502H1"]))
    r = api.post("/persons", {"name": "", "sex": 5, "id_number": "123", "extra": 1})
    assert r.status_code == 422
    body = r.json()
    fields = {e["field"] for e in body["errors"]}
    assert "extra" in fields
    assert all(e["message"] and e["message_en"] for e in body["errors"])
    r = api.post("/persons", {"name": "", "sex": 5, "id_number": "123"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"name", "sex", "id_number"}
    r = api.post("/persons", {"name": "新病人", "id_number": DY_ID, "phone": "13800000000"})
    assert r.status_code == 201 and r.json()["sex"] == 1
    # created by a hospital: visible to that hospital although it lives elsewhere too
    assert api.get("/persons", id_number=DY_ID).json()[0]["name"] == "新病人"


def test_unmask_needs_permission_and_reason(api_client, two, make_user, tree):
    dy, _ = two
    clerk = api_client.login(make_user("hospital_clerk", tree.facilities["370502H1"]))
    assert clerk.post(f"/persons/{dy.pk}/unmask", {"reason": "看看"}).status_code == 403
    reviewer = api_client.login(make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                                          jurisdiction=tree.dy))
    r = reviewer.post(f"/persons/{dy.pk}/unmask", {"reason": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = reviewer.post(f"/persons/{dy.pk}/unmask", {"reason": "核对身份信息"})
    assert r.status_code == 200 and DY_ID in r.json()["identifiers"].values()
