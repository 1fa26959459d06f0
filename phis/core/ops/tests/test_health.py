"""Health and readiness for the load balancer, the request id, and structured logs that mask
resident IDs and mobile numbers (issue 2 item 11; SECURITY.md §8 item 28)."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid

import pytest

from phis.core.ops.logging import RequestIdFilter, request_id_var, scrub

RESIDENT_ID = "370502199001011234"
MOBILE = "13812345678"
ID_PATTERN = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def test_health_is_public_json(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_reports_checks_when_migrated(client):
    response = client.get("/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "migrations": "ok"}


@pytest.mark.django_db
def test_ready_is_503_when_the_database_fails(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise RuntimeError("database down")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"].startswith("error")


def test_request_id_is_echoed(client):
    rid = "abc12345-def6-7890"
    response = client.get("/health", headers={"X-Request-ID": rid})
    assert response["X-Request-ID"] == rid


@pytest.mark.parametrize("incoming", ["", "short", "x" * 40, "bad id; drop table"])
def test_unusable_request_id_is_replaced(client, incoming):
    response = client.get("/health", headers={"X-Request-ID": incoming} if incoming else {})
    rid = response["X-Request-ID"]
    assert rid != incoming
    assert uuid.UUID(rid)


def test_each_request_gets_its_own_id(client):
    assert client.get("/health")["X-Request-ID"] != client.get("/health")["X-Request-ID"]


# --- structured logs -------------------------------------------------------------------------

@pytest.fixture
def log_lines():
    """The configured JSON console handler (settings.LOGGING), writing into a buffer."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers
                   if any(isinstance(f, RequestIdFilter) for f in h.filters))
    buffer = io.StringIO()
    old_stream = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.setStream(old_stream)


def test_scrub_masks_resident_id_and_mobile():
    text = scrub(f"id {RESIDENT_ID} and 37050219900101123X, call {MOBILE}")
    assert text == "id 370502********1234 and 370502********123X, call 138****5678"
    # longer digit runs (order numbers, timestamps) stay as they are
    assert scrub("order 12345678901234567890") == "order 12345678901234567890"


def test_log_line_is_json_with_masked_personal_data(log_lines):
    logger = logging.getLogger("phis.ops.test")
    token = request_id_var.set("req-test-0001")
    try:
        logger.warning("lookup of %s by phone %s", RESIDENT_ID, MOBILE)
        logger.warning(f"inline {RESIDENT_ID} / {MOBILE}")
    finally:
        request_id_var.reset(token)
    lines = log_lines()
    assert len(lines) == 2
    for line in lines:
        assert line["level"] == "WARNING"
        assert line["logger"] == "phis.ops.test"
        assert line["request_id"] == "req-test-0001"
        assert "time" in line
        assert "370502********1234" in line["message"]
        assert "138****5678" in line["message"]
        dumped = json.dumps(line, ensure_ascii=False)
        assert RESIDENT_ID not in dumped and MOBILE not in dumped
        assert not ID_PATTERN.search(dumped)


def test_request_log_lines_carry_the_request_id(client, log_lines):
    # A 404 under /api/ is logged by django.request at WARNING with the path as an argument.
    client.get(f"/no-such-page/{RESIDENT_ID}", headers={"X-Request-ID": "req-test-0002"})
    lines = [line for line in log_lines() if line["logger"] == "django.request"]
    assert lines, "django.request logged nothing"
    assert lines[-1]["request_id"] == "req-test-0002"
    dumped = json.dumps(lines, ensure_ascii=False)
    assert RESIDENT_ID not in dumped and not ID_PATTERN.search(dumped)


def test_numbers_and_exceptions_are_masked_too(log_lines):
    logger = logging.getLogger("phis.ops.test")
    try:
        raise ValueError(f"bad resident id {RESIDENT_ID}")
    except ValueError:
        logger.exception("failed for %d", int(RESIDENT_ID[:-1]) * 10 + 4)
    (line,) = log_lines()
    assert "ValueError" in line["exc_info"]
    dumped = json.dumps(line, ensure_ascii=False)
    assert not ID_PATTERN.search(dumped), dumped
