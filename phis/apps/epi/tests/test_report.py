"""The weekly situation report: Chinese renders (text extracted from the PDF), the file is
kept with its checksum, Monday's job is idempotent, tampering is caught."""

import hashlib
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from django.utils import timezone

from phis.apps.epi import pdf as pdf_module
from phis.apps.epi.params import iso_week_bounds, previous_iso_week
from phis.apps.epi.services import (
    situation_report_generate,
    situation_report_open,
    weekly_reports_generate,
)
from phis.apps.epi.tasks import weekly_reports_task

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                              text=True, check=True).stdout
    from pypdf import PdfReader  # pragma: no cover - poppler-utils is in the image

    return "\n".join(p.extract_text() for p in PdfReader(str(path)).pages)


@pytest.fixture
def last_week(populated, codes, make_card):
    year, week = previous_iso_week(timezone.localdate())
    start, _end = iso_week_bounds(year, week)
    make_card(county="370502", disease="hfmd", onset=start)
    make_card(county="370502", disease="hfmd", onset=start + timedelta(days=1))
    make_card(county="370523", disease="influenza", onset=start + timedelta(days=2),
              death=start + timedelta(days=3))
    make_card(county="370523", disease="hfmd", onset=start - timedelta(days=7))  # week before
    return year, week


def test_report_pdf_has_the_chinese_title_and_figures(last_week, tmp_path):
    year, week = last_week
    report = situation_report_generate(scope_code="370500", iso_year=year, iso_week=week)
    content = report.file.read()
    assert hashlib.sha256(content).hexdigest() == report.checksum and report.size == len(content)
    text = pdf_text(content, tmp_path)
    assert "东营市法定传染病疫情周报" in text
    assert f"{year}年第{week}周" in text
    assert "手足口病" in text and "流行性感冒" in text and "广饶县" in text
    assert report.summary["total"] == 3 and report.summary["previous"] == 1
    assert report.summary["deaths"] == 1
    assert report.summary["by_class"]["C"] == 3  # both are class C
    assert report.scope_level == "city" and report.week_start.isoweekday() == 1


def test_county_report_lists_townships(last_week, tmp_path):
    year, week = last_week
    report = situation_report_generate(scope_code="370523", iso_year=year, iso_week=week)
    text = pdf_text(report.file.read(), tmp_path)
    assert "广饶县法定传染病疫情周报" in text and "广饶街道" in text
    assert report.summary["total"] == 1


def test_mondays_job_makes_each_scope_once(last_week):
    made = weekly_reports_generate()
    assert sorted(r.scope_code for r in made) == ["370500", "370502", "370523"]
    assert all(r.trigger == "schedule" and r.iso_week == last_week[1] for r in made)
    assert weekly_reports_task() == 0  # a second delivery of the beat message adds nothing


def test_a_tampered_file_is_refused_and_logged(last_week, populated, make_user):
    from phis.core.audit.models import AuditLog

    user = make_user("city_cdc", populated.city)
    report = situation_report_generate(scope_code="370500", iso_year=last_week[0],
                                       iso_week=last_week[1])
    with report.file.open("wb") as fh:
        fh.write(b"%PDF-1.4 not the report")
    with pytest.raises(Exception) as exc:
        situation_report_open(user=user, report_id=report.pk)
    assert exc.value.status == 409
    assert AuditLog.objects.get(object_type="epi.situationreport", event_type=203).outcome == \
        "bad_checksum"


def test_font_search_takes_the_configured_file_or_falls_back(settings, tmp_path):
    pdf_module.cjk_font.cache_clear()
    try:
        settings.PHIS_PDF_CJK_FONT = str(tmp_path / "missing.ttf")
        font = pdf_module.cjk_font()
        # Debian's Noto CJK has CFF outlines (not embeddable by reportlab): without a
        # TrueType CJK font the CID font is used, and it renders (see the test above).
        assert font.name == pdf_module.CID_FALLBACK or font.embedded
    finally:
        pdf_module.cjk_font.cache_clear()


def test_unknown_scope_and_open_week_are_field_errors(populated, codes):
    from phis.core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        situation_report_generate(scope_code="370502001", iso_year=2025, iso_week=3)
    assert exc.value.errors[0].field == "scope_code"
    this_year, this_week, _ = date.today().isocalendar()
    with pytest.raises(ValidationFailed) as exc:
        situation_report_generate(scope_code="370500", iso_year=this_year + 1,
                                  iso_week=this_week)
    assert exc.value.errors[0].code == "week_not_over"


def test_signals_of_the_week_are_read_for_the_reports_area(populated, monkeypatch):
    """The report reads the signals raised in its area (the whole city for the city's)."""
    signals = pytest.importorskip("phis.apps.signals.selectors")
    from types import SimpleNamespace

    from phis.apps.epi.selectors import signals_of_week

    seen = []

    def fake_signals_raised(*, date_from, date_to, county_code=""):
        seen.append((date_from, date_to, county_code))
        return [SimpleNamespace(disease_name="手足口病", disease_code="hfmd",
                                county=populated.dy, raised_at=timezone.now(),
                                get_method_display=lambda: "EARS-C1",
                                get_status_display=lambda: "待响应",
                                get_outcome_display=lambda: "")]

    monkeypatch.setattr(signals, "signals_raised", fake_signals_raised)
    start = date(2026, 11, 16)
    end = start + timedelta(days=6)
    found = signals_of_week(scope_code="370502", date_from=start, date_to=end)
    assert found[0]["disease"] == "手足口病" and found[0]["area"] == "东营区"
    assert found[0]["title"] == "手足口病（EARS-C1）" and found[0]["status"] == "待响应"
    signals_of_week(scope_code="370500", date_from=start, date_to=end)
    assert seen == [(start, end, "370502"), (start, end, "")]


