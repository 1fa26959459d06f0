"""The dashboard page, its Excel exports, and the weekly report pages."""

import io
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
def some_cards(make_card):
    make_card(county="370502", disease="hfmd", onset=D0)
    make_card(county="370523", disease="influenza", onset=D0 + timedelta(days=2))


def test_dashboard_renders_charts_tables_and_drill_links(client, city, some_cards):
    client.force_login(city)
    page = client.get("/epi/", PERIOD)
    assert page.status_code == 200
    html = page.content.decode()
    assert page.context["with_charts"] is True
    assert 'data-epi-chart="epi-curve-option"' in html and 'id="epi-map-option"' in html
    assert "epi/epi.js" in html and "<script>" not in html  # CSP: no inline script
    assert f"/notifiable/cards/?county_code=370502&amp;date_basis=onset&amp;date_from={D0}" in html
    assert page.context["table"].total == 2
    assert [d.code for d in page.context["top"]] == ["hfmd", "influenza"]
    assert '"map": "东营"' in page.context["map_json"]


def test_dashboard_shows_bad_parameters_and_falls_back_to_defaults(client, city):
    client.force_login(city)
    page = client.get("/epi/", {"date_from": "yesterday"})
    assert page.status_code == 200
    assert page.context["error"].errors[0].field == "date_from"
    assert 'data-testid="error-summary"' in page.content.decode()


def test_dashboard_needs_the_permission(client, populated, make_user, codes):
    client.force_login(make_user("clinician", populated.facilities["370502H1"]))
    assert client.get("/epi/").status_code == 403


@pytest.mark.parametrize("table", ["areas", "diseases", "curve"])
def test_excel_exports_carry_the_figures_and_are_audited(client, city, some_cards, table):
    from openpyxl import load_workbook

    from phis.core.audit.models import AuditLog

    client.force_login(city)
    response = client.get(f"/epi/export/{table}/", PERIOD)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert "city" in rows[0][0]  # who exported
    body = rows[2:]
    if table == "areas":
        assert body[-1][3] == 2  # the total row
    elif table == "diseases":
        assert [(r[0], r[3]) for r in body] == [("hfmd", 1), ("influenza", 1)]
    else:
        assert len(body) == 14 and sum(r[-1] for r in body) == 2
    log = AuditLog.objects.get(object_type=f"epi.{table}")
    assert log.event_type == 203 and log.detail["date_from"] == PERIOD["date_from"]


def test_export_refuses_an_unknown_table_and_a_county_outside_the_area(
        client, populated, make_user, codes):
    user = make_user("county_cdc_reviewer", populated.facilities["370502CDC"],
                     jurisdiction=populated.dy)
    client.force_login(user)
    assert client.get("/epi/export/persons/").status_code == 404
    assert client.get("/epi/export/areas/", {"county_code": "370523"}).status_code == 403


def test_reports_page_generates_lists_and_downloads(client, city, some_cards):
    from phis.apps.epi.models import SituationReport
    from phis.core.audit.models import AuditLog

    client.force_login(city)
    y, w, _ = (timezone.localdate() - timedelta(days=7)).isocalendar()
    response = client.post("/epi/reports/", {"scope_code": "370502", "week": f"{y}-W{w:02d}"})
    assert response.status_code == 302
    report = SituationReport.objects.get()
    assert report.scope_name == "东营区" and report.trigger == "manual"
    listing = client.get("/epi/reports/")
    assert f"/epi/reports/{report.pk}/download/" in listing.content.decode()
    pdf = client.get(f"/epi/reports/{report.pk}/download/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf["Content-Disposition"]
    assert AuditLog.objects.filter(object_type="epi.situationreport", event_type=203).count() == 1


def test_reports_page_reports_a_bad_week(client, city):
    client.force_login(city)
    page = client.post("/epi/reports/", {"scope_code": "370500", "week": "soon"})
    assert page.status_code == 200
    assert page.context["error"].errors[0].field == "week"
    future = timezone.localdate() + timedelta(days=14)
    y, w, _ = future.isocalendar()
    page = client.post("/epi/reports/", {"scope_code": "370500", "week": f"{y}-W{w:02d}"})
    assert page.context["error"].errors[0].code == "week_not_over"
