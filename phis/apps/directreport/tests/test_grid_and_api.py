"""Three-level grid: numbers equal the card lists they link to and the official counts;
scoping; pages, Excel, API and the CLI."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.http import QueryDict
from django.utils import timezone

from phis.apps.directreport import selectors
from phis.apps.directreport.tests.conftest import drain
from phis.apps.notifiable.forms import card_filter_from_query
from phis.apps.notifiable.selectors import card_list, case_counts
from phis.core.exceptions import NotFound


@pytest.fixture
def cards(env):
    made = {"dy": [env.reported(), env.reported(), env.reported(disease_code="mumps")],
            "gr": [env.reported("370523")],
            "pending": [env.reported(review=False)]}
    drain()
    return made


def _list_count(user, url: str) -> int:
    """How many cards the card-list page shows for a link (parsed as that page does)."""
    query = QueryDict(urlparse(url).query)
    filters, errors = card_filter_from_query(query)
    assert errors == []
    return card_list(user=user, filters=filters).count()


def test_city_grid_numbers_equal_linked_lists_and_case_counts(env, cards):
    today = timezone.localdate()
    unit = selectors.grid_unit(user=env.city)
    assert unit.code == "370500"
    grid = selectors.grid_build(user=env.city, query=selectors.grid_query_from(
        unit=unit, date_from=today - timedelta(days=1), date_to=today))
    areas = {r.code: r for r in grid.areas}
    assert areas["370502"].cards == 3 and areas["370523"].cards == 1
    assert grid.total.cards == 4  # the unreviewed card does not count by review date
    for row in [grid.total, *grid.areas, *grid.diseases]:
        assert _list_count(env.city, row.url) == row.cards
        assert _list_count(env.city, row.late_url) == row.values["reported_late"]
    official = case_counts(date_from=today - timedelta(days=1), date_to=today, basis="review",
                           by=("county_code",))
    assert {r["county_code"]: r["count"] for r in official} == {"370502": 3, "370523": 1}
    diseases = {r.code: r.cards for r in grid.diseases}
    assert diseases == {"influenza": 3, "mumps": 1}
    # every card of the fixture is complete and reported in time
    assert grid.total.completeness == 100.0 and grid.total.report_timeliness == 100.0
    assert parse_qs(urlparse(areas["370502"].url).query)["status"] == ["reviewed"]


def test_onset_basis_counts_unreviewed_cards_too(env, cards):
    today = timezone.localdate()
    grid = selectors.grid_build(user=env.city, query=selectors.grid_query_from(
        unit=selectors.grid_unit(user=env.city), basis="onset",
        date_from=today - timedelta(days=5), date_to=today))
    assert grid.total.cards == 5
    assert _list_count(env.city, grid.total.url) == 5
    official = case_counts(date_from=today - timedelta(days=5), date_to=today, basis="onset",
                           by=("county_code",))
    assert sum(r["count"] for r in official) == 5


def test_county_grid_is_scoped_and_drills_to_townships(env, cards):
    today = timezone.localdate()
    unit = selectors.grid_unit(user=env.reviewer_gr)
    assert unit.code == "370523"
    grid = selectors.grid_build(user=env.reviewer_gr, query=selectors.grid_query_from(
        unit=unit, date_from=today - timedelta(days=1), date_to=today))
    assert [(r.code, r.cards) for r in grid.areas] == [("370523001", 1)]
    assert _list_count(env.reviewer_gr, grid.areas[0].url) == 1
    with pytest.raises(NotFound):
        selectors.grid_unit(user=env.reviewer_gr, code="370502")
    with pytest.raises(NotFound):
        selectors.grid_unit(user=env.clinician)  # a hospital is not a territory
    township = selectors.grid_unit(user=env.reviewer_gr, code="370523001")
    leaf = selectors.grid_build(user=env.reviewer_gr, query=selectors.grid_query_from(
        unit=township, date_from=today - timedelta(days=1), date_to=today))
    assert leaf.areas == [] and leaf.total.cards == 1


def test_grid_rejects_bad_parameters():
    from phis.core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        selectors.grid_query_from(unit=None, date_from="2026-02-30", date_to="2026-01-01",
                                  basis="weekly")
    assert {e.field for e in exc.value.errors} == {"date_from", "basis"}


def test_grid_page_and_excel(client, env, cards):
    client.force_login(env.city)
    page = client.get("/directreport/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "/notifiable/cards/?county_code=370502" in body and "东营区" in body
    xlsx = client.get("/directreport/grid/export.xlsx")
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][0] == "东营市" and rows[2][2] == 4
    client.force_login(env.reviewer_gr)
    assert client.get("/directreport/?unit=370502").status_code == 404
    assert client.get("/directreport/?date_from=bad").status_code == 422
    client.force_login(env.clinician)
    assert client.get("/directreport/").status_code == 403


def test_grid_and_reconciliation_api(api_client, env, cards):
    api = api_client.login(env.reviewer)
    response = api.get("/directreport/grid", unit="370502")
    assert response.status_code == 200
    data = response.json()
    assert data["total"]["cards"] == 3 and data["areas"][0]["code"] == "370502001"
    assert api.get("/directreport/grid", unit="370523").status_code == 404
    bad = api.get("/directreport/grid", basis="weekly")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "basis"
    recon = api.get("/directreport/reconciliation")
    assert recon.status_code == 200
    assert recon.json()["total"]["queued"] == 3
    assert api.post("/directreport/export").status_code == 403  # operators only


def test_inbound_and_ack_endpoints(client, env):
    from phis.apps.directreport.tests.test_exchange import _external_record, _inbound_batch

    client.force_login(env.city)
    data = _inbound_batch([_external_record("N1", 1)])
    response = client.post("/api/directreport/inbound", data,
                           content_type="application/x-ndjson")
    assert response.status_code == 200
    from phis.interop import nidrs

    ack = nidrs.parse_batch(response.content)
    assert ack.header.ack_of == "IN-1" and ack.records[0].result == "accepted"
    tampered = client.post("/api/directreport/inbound", data.replace(b"N1", b"N2"),
                           content_type="application/x-ndjson")
    assert tampered.status_code == 422
    assert nidrs.parse_batch(tampered.content).header.batch_result == "rejected"
    empty = client.post("/api/directreport/ack", b"", content_type="application/x-ndjson")
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body"
    junk = client.post("/api/directreport/ack", b"junk\n", content_type="application/x-ndjson")
    assert junk.status_code == 422 and junk.json()["errors"][0]["code"] == "header_unreadable"
    client.force_login(env.reviewer)
    assert client.post("/api/directreport/inbound", data,
                       content_type="application/x-ndjson").status_code == 403


def test_exchange_pages(client, env, cards):
    client.force_login(env.city)
    assert client.get("/directreport/reconciliation/").status_code == 200
    assert client.get("/directreport/reconciliation/export.xlsx").status_code == 200
    assert client.get("/directreport/records/").status_code == 200
    response = client.post("/directreport/exchange/", {"action": "export"})
    assert response.status_code == 302
    page = client.get("/directreport/exchange/")
    assert page.status_code == 200 and "data-testid=\"batches\"" in page.content.decode()
    missing = client.post("/directreport/exchange/", {"action": "import"})
    assert missing.status_code == 422
    client.force_login(env.reviewer)
    assert client.get("/directreport/exchange/").status_code == 403


def test_cli_export_import_ack_reconcile(env, cards, tmp_path, capsys):
    from phis.apps.directreport.models import OutboundBatch
    from phis.apps.directreport.tests.test_exchange import (
        _ack,
        _external_record,
        _inbound_batch,
    )

    call_command("directreport", "export")
    batch = OutboundBatch.objects.get()
    ack_file = tmp_path / "ack.jsonl"
    ack_file.write_bytes(_ack(batch, {}))
    call_command("directreport", "ack", str(ack_file))
    cards_file = tmp_path / "cards.jsonl"
    cards_file.write_bytes(_inbound_batch([_external_record("N1", 1)]))
    call_command("directreport", "import", str(cards_file), "--user", "city.cdc",
                 "--ack-out", str(tmp_path / "out-ack.jsonl"))
    assert (tmp_path / "out-ack.jsonl").read_bytes().startswith(b"{")
    today = timezone.localdate().isoformat()
    call_command("directreport", "reconcile", "--from", today, "--to", today, "--user",
                 "city.cdc")
    out = capsys.readouterr().out
    assert "delivered 1 batch(es)" in out and "accepted 1" in out
    assert "total\t4\t0\t4\t0\t4\t0\t0\t0" in out
