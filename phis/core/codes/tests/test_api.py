import pytest

from phis.core.accounts import permissions

ERROR_KEYS = {"code", "message", "message_en", "errors"}


@pytest.fixture
def client_in(client, city_cdc_user, codes):
    client.force_login(city_cdc_user)
    return client


def test_systems(client_in):
    res = client_in.get("/api/codes/systems")
    assert res.status_code == 200
    systems = {s["key"]: s for s in res.json()}
    assert systems["icd10"]["concept_count"] > 12000
    assert systems["icd10"]["version"].startswith("2019")
    assert set(systems["occupation"]) >= {"key", "name_zh", "name_en", "version", "as_of",
                                          "source", "licence", "hierarchical"}


def test_autocomplete(client_in):
    res = client_in.get("/api/codes/notifiable-disease/concepts", {"q": "hl", "limit": 5})
    assert res.status_code == 200
    first = res.json()[0]
    assert (first["code"], first["display"], first["display_en"]) == \
        ("cholera", "霍乱", "Cholera")
    assert first["properties"]["class"] == "A"
    assert first["properties"]["deadline_hours"] == 2
    res = client_in.get("/api/codes/icd10/concepts", {"q": "A00"})
    assert [c["code"] for c in res.json()] == ["A00", "A00-A09", "A00.0", "A00.1", "A00.9"]


def test_detail(client_in):
    res = client_in.get("/api/codes/icd10/concepts/A01.0")
    assert res.status_code == 200
    body = res.json()
    assert (body["code"], body["display_zh"], body["parent_code"]) == ("A01.0", "伤寒", "A01")
    assert [a["code"] for a in body["ancestors"]] == ["I", "A00-A09", "A01"]
    assert body["children"] == []
    res = client_in.get("/api/codes/icd10/concepts/A01")
    assert [c["code"] for c in res.json()["children"]][:2] == ["A01.0", "A01.1"]


@pytest.mark.parametrize("url", ["/api/codes/nope/concepts",
                                 "/api/codes/nope/concepts/A00",
                                 "/api/codes/icd10/concepts/NOPE"])
def test_not_found_shape(client_in, url):
    res = client_in.get(url)
    assert res.status_code == 404
    body = res.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "not_found"
    assert "不存在" in body["message"] and "does not exist" in body["message_en"]


def test_bad_query_is_422(client_in):
    res = client_in.get("/api/codes/icd10/concepts", {"limit": 0})
    assert res.status_code == 422
    assert set(res.json()) == ERROR_KEYS
    assert client_in.get("/api/codes/icd10/concepts", {"q": "x" * 101}).status_code == 422


def test_odd_input_never_500(client_in):
    assert client_in.get("/api/codes/icd10/concepts", {"q": "A0\x00"}).status_code == 200
    assert client_in.get("/api/codes/icd10/concepts", {"parent": "\x00"}).status_code == 200
    assert client_in.get("/api/codes/icd10/concepts/%00").status_code == 404
    assert client_in.get("/api/codes/%E2%80%AE/concepts/x").status_code == 404
    assert client_in.get("/api/codes/icd10/concepts", {"q": "%_\\"}).status_code == 200


def test_needs_login(client, codes):
    res = client.get("/api/codes/systems")
    assert res.status_code == 401
    assert set(res.json()) == ERROR_KEYS


def test_needs_permission(client_in, monkeypatch):
    monkeypatch.setitem(permissions._ROLE_PERMISSIONS, "city_cdc", set())
    res = client_in.get("/api/codes/icd10/concepts")
    assert res.status_code == 403
    assert res.json()["code"] == "permission_denied"


def test_every_endpoint_declares_the_permission():
    from phis.core.codes.api import router

    for path_ops in router.path_operations.values():
        for op in path_ops.operations:
            assert op.view_func.phis_permissions == ("codes.view_code",)
