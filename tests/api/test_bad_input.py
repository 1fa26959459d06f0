"""Bad input gets a 4xx in the one error shape (issue 2, "Bad input"), for the cases the
schemathesis run found or rarely generates: NUL characters (a PostgreSQL DataError and a 500
before), unknown methods and paths, unparseable bodies, CSRF failures."""

import pytest

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "message_en", "errors"}


@pytest.fixture
def api(client, tree, make_user):
    client.force_login(make_user("hospital_clerk", tree.facilities["370502H1"]))
    return client


def _error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.content[:300])
    assert r["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == ERROR_KEYS
    assert body["message"] and body["message_en"] and body["message"] != body["message_en"]
    if code:
        assert body["code"] == code
    return body


@pytest.mark.parametrize(("method", "url", "data", "field"), [
    ("get", "/api/persons", {"name": "张\x00"}, "name"),
    ("get", "/api/orgunits", {"q": "\x00"}, "q"),
    ("get", "/api/orgunits/3705%00", None, "path"),
    ("get", "/api/esign/signatures", {"subject_id": "\x00"}, "subject_id"),
    ("post", "/api/persons", {"name": "a\x00b", "address_text": "x"}, "name"),
])
def test_nul_characters_are_a_field_error_not_a_500(api, method, url, data, field):
    if method == "post":
        r = api.post(url, data, content_type="application/json")
    else:
        r = api.get(url, data)
    body = _error(r, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == [field]
    assert body["errors"][0]["code"] == "null_character"


def test_unsupported_method_and_unknown_path(api):
    r = api.delete("/api/persons")
    _error(r, 405, "method_not_allowed")
    assert "GET" in r["Allow"]
    _error(api.get("/api/no-such-thing"), 404, "not_found")
    _error(api.post("/api/no-such-thing", {}, content_type="application/json"), 404)


def test_unparseable_body(api):
    _error(api.post("/api/persons", b"{not json", content_type="application/json"), 400)


def test_tsa_wrong_media_type(api):
    _error(api.post("/api/esign/tsa", b"x", content_type="text/plain"), 415,
           "unsupported_media_type")


@pytest.mark.parametrize("url", [f"/api/persons/{2**70}", f"/api/notifiable/cards/{2**70}"])
def test_ids_beyond_the_integer_range_are_bad_input_not_a_500(api, url):
    # SQLite raises OverflowError, PostgreSQL a DataError; either is the caller's mistake.
    r = api.get(url)
    assert r.status_code in (404, 422), r.content[:300]
    if r.status_code == 422:
        _error(r, 422, "out_of_range")


def test_too_many_query_parameters_get_the_json_error_shape(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    query = "&".join(f"status=x{i}" for i in range(50))
    body = _error(api.get(f"/api/notifiable/cards?{query}"), 400, "bad_request")
    assert body["errors"][0]["field"] == "query"
