"""Pages of the notifiable module: entry form (errors re-rendered with the values, drafts,
idempotent submit), live check, person look-up, list filters and scoping, export audit,
detail audit, actions with conflicts, review queue, suspected cases, import."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from phis.apps.notifiable import services
from phis.apps.notifiable.forms import (
    IMPORT_COLUMNS,
    card_filter_from_query,
    import_row,
    parse_date,
    parse_time,
)
from phis.apps.notifiable.models import CardStatus, CardType, LabResult, ReportCard
from phis.apps.notifiable.tests.conftest import card_input, resident_id
from phis.core.audit.models import AuditLog
from phis.core.audit.types import AuditEventType

NEW = "/notifiable/cards/new/"


def form_data(**overrides) -> dict[str, str]:
    """The entry form's POST of a complete, valid adult influenza card (东营区)."""
    now = timezone.localtime()
    birth = date(1980, 5, 17)
    data = {
        "id_type": "01", "id_number": resident_id(birth), "patient_name": "王五",
        "parent_name": "", "sex": "1", "birth_date": birth.isoformat(), "age_value": "",
        "age_unit": "", "work_unit": "东营市胜利油田", "phone": "13812345678",
        "residence_category": "", "address_township": "370502001",
        "address_community": "370502001011", "address_text": "文汇街道3号楼",
        "occupation": "09", "occupation_other": "", "disease_code": "influenza",
        "subtype_code": "", "icd10_code": "", "other_disease_text": "",
        "case_classification": "2", "acute_chronic": "",
        "onset_date": (now - timedelta(days=2)).date().isoformat(),
        "diagnosis_date": now.date().isoformat(),
        "diagnosis_time": (now - timedelta(minutes=5)).strftime("%H:%M")
        if now.hour or now.minute >= 5 else "00:00",
        "death_date": "", "reporting_unit_code": "F370502H1", "reporting_phone": "",
        "doctor_name": "李医生", "filled_date": now.date().isoformat(), "remarks": "",
        "action": "submit", "idempotency_key": "k-" + now.strftime("%H%M%S%f"),
    }
    data.update(overrides)
    return data


def make_card(env, *, user=None, **overrides) -> ReportCard:
    return services.card_create(user=user or env.clinician, data=card_input(**overrides))


def audit_rows(event, object_type="notifiable.reportcard"):
    return AuditLog.objects.filter(event_type=event, object_type=object_type)


# --- form parsing (no database) -----------------------------------------------------------

@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_parse_date_reads_every_common_spelling(day):
    for text in (day.isoformat(), day.strftime("%Y%m%d"), f"{day.year}/{day.month}/{day.day}",
                 f"{day.year}年{day.month}月{day.day}日", f"{day.year}.{day.month}.{day.day}"):
        assert parse_date(text) == day


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "hello", "2026-1"])
def test_parse_date_rejects_what_is_not_a_date(text):
    with pytest.raises(ValueError):
        parse_date(text)


@given(st.integers(0, 23), st.integers(0, 59))
def test_parse_time_reads_hours_and_minutes(hour, minute):
    assert parse_time(f"{hour}:{minute:02d}").hour == hour
    assert parse_time(f"{hour:02d}{minute:02d}").minute == minute
    assert parse_time(str(hour)).hour == hour


def test_import_row_types_cells_and_reports_unreadable_ones():
    data, errors = import_row({"patient_name": "张三", "sex": "1.0", "onset_date": "20260103",
                               "diagnosis_at": "2026-01-04 09:30", "occupation": "9",
                               "unknown": "x"})
    assert errors == []
    assert data.sex == 1 and data.onset_date == date(2026, 1, 3)
    assert data.occupation == "09" and data.diagnosis_at.hour == 9
    data, errors = import_row({"onset_date": "yesterday", "sex": "male"})
    assert data is None and {e.field for e in errors} == {"onset_date", "sex"}


def test_card_filter_keeps_the_dashboard_parameter_names():
    from django.http import QueryDict

    f, errors = card_filter_from_query(QueryDict(
        "disease_code=hfmd&township_code=370502001&date_basis=onset&date_from=2026-01-01"
        "&date_to=2026-01-07&status=submitted&status=reviewed&suspected_overdue=1"
        "&card_ids=3,4&county_code=370502&reporting_unit_code=F1&case_classification=1"))
    assert errors == []
    assert (f.disease_code, f.township_code, f.date_basis) == ("hfmd", "370502001", "onset")
    assert (f.date_from, f.date_to) == (date(2026, 1, 1), date(2026, 1, 7))
    assert f.status == ["submitted", "reviewed"] and f.suspected_overdue
    assert f.card_ids == [3, 4] and f.county_code == "370502"
    f, errors = card_filter_from_query(QueryDict("date_from=soon&date_basis=moon&status=x"))
    assert f.date_from is None and f.date_basis == "diagnosis" and f.status == []
    assert {e.field for e in errors} == {"date_from", "date_basis", "status"}


# --- access ------------------------------------------------------------------------------

PAGES = ["/notifiable/", "/notifiable/cards/?status=submitted", NEW, "/notifiable/review/",
         "/notifiable/suspected/", "/notifiable/import/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_login(client, url):
    r = client.get(url)
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_pages_by_role(client, card_env, make_user, tree):
    client.force_login(card_env.clinician)
    assert [client.get(u).status_code for u in PAGES] == [200, 200, 200, 403, 200, 403]
    client.force_login(card_env.reviewer)
    assert [client.get(u).status_code for u in PAGES] == [200] * 6
    client.force_login(make_user("waste_staff", tree.facilities["370502H1"]))
    assert client.get("/notifiable/").status_code == 403
    clerk = make_user("hospital_clerk", tree.facilities["370502H1"])
    client.force_login(clerk)
    assert client.get("/notifiable/import/").status_code == 200


# --- entry form ----------------------------------------------------------------------------

def test_entry_form_has_every_field_of_the_card(client, card_env):
    client.force_login(card_env.clinician)
    html = client.get(NEW).content.decode()
    for name in ("id_type", "id_number", "patient_name", "parent_name", "sex", "birth_date",
                 "age_value", "age_unit", "work_unit", "phone", "residence_category",
                 "address_township", "address_community", "address_text", "occupation",
                 "occupation_other", "disease_code", "subtype_code", "icd10_code",
                 "other_disease_text", "case_classification", "acute_chronic", "onset_date",
                 "diagnosis_date", "diagnosis_time", "death_date", "reporting_unit_code",
                 "reporting_phone", "doctor_name", "filled_date", "remarks"):
        assert f'name="{name}"' in html, name
    # the picker carries the sub-types with their disease, and HBV needs acute/chronic
    assert 'data-parent="viral-hepatitis"' in html
    assert 'value="hepatitis-b" data-parent="viral-hepatitis" data-acute-chronic="1"' in html
    assert "szkb" in html  # pinyin initials of 手足口病 for the search box
    assert 'value="F370502H1" selected' in html  # the clinician's hospital
    assert "autofocus" in html and 'x-data="cardEntry"' in html


def test_submit_stores_a_reported_card(client, card_env):
    client.force_login(card_env.clinician)
    r = client.post(NEW, form_data())
    card = ReportCard.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/notifiable/cards/{card.pk}/"
    assert card.status == CardStatus.SUBMITTED and card.patient_name == "王五"
    assert card.address_unit.code == "370502001011" and card.reporting_unit.code == "F370502H1"


def test_same_idempotency_key_stores_one_card(client, card_env):
    client.force_login(card_env.clinician)
    data = form_data(idempotency_key="double-click")
    first = client.post(NEW, data)
    second = client.post(NEW, data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert ReportCard.objects.count() == 1


def test_errors_re_render_the_form_with_every_value(client, card_env):
    client.force_login(card_env.clinician)
    data = form_data(patient_name="", onset_date="2026-02-30", work_unit="保留我的单位",
                     address_text="保留我的地址")
    r = client.post(NEW, data)
    html = r.content.decode()
    assert r.status_code == 422
    assert ReportCard.objects.count() == 0
    assert 'data-testid="error-summary"' in html
    assert 'data-field-error="patient_name"' in html
    assert 'data-field-error="onset_date"' in html and "发病日期不是有效日期" in html
    for kept in ("保留我的单位", "保留我的地址", data["id_number"], "2026-02-30",
                 data["idempotency_key"]):
        assert kept in html
    assert 'value="370502001011" selected' in html  # the community list is rebuilt


def test_service_errors_are_shown_in_english_too(client, card_env):
    client.force_login(card_env.clinician)
    client.cookies["django_language"] = "en"
    r = client.post(NEW, form_data(disease_code="viral-hepatitis", subtype_code=""),
                    HTTP_ACCEPT_LANGUAGE="en")
    html = r.content.decode()
    assert r.status_code == 422
    assert 'data-field-error="subtype_code"' in html
    assert "choose the sub-type" in html
    assert "Resident identity card" in html and 'optgroup label="Class A"' in html
    assert ">Influenza" in html  # disease names in English too


def test_child_without_parent_name_is_refused(client, card_env):
    client.force_login(card_env.clinician)
    birth = timezone.localdate() - timedelta(days=5 * 365)
    r = client.post(NEW, form_data(id_number=resident_id(birth), birth_date=birth.isoformat(),
                                   occupation="02", work_unit=""))
    assert r.status_code == 422
    assert 'data-field-error="parent_name"' in r.content.decode()


def test_draft_then_continue_and_report(client, card_env):
    client.force_login(card_env.clinician)
    r = client.post(NEW, form_data(action="draft", occupation="", case_classification=""))
    card = ReportCard.objects.get()
    assert card.status == CardStatus.DRAFT
    assert r["Location"] == f"/notifiable/cards/{card.pk}/edit/"
    page = client.get(r["Location"]).content.decode()
    assert form_data()["id_number"] in page  # decrypted for the reporting side only
    assert 'name="version" value="1"' in page
    assert audit_rows(AuditEventType.RECORD_VIEWED).filter(object_id=str(card.pk)).exists()
    r = client.post(r["Location"], form_data(version=str(card.version)))
    card.refresh_from_db()
    assert r.status_code == 302 and card.status == CardStatus.SUBMITTED


def test_edit_with_stale_version_is_a_conflict(client, card_env):
    client.force_login(card_env.clinician)
    card = services.card_create(user=card_env.clinician, data=card_input(), submit=False)
    r = client.post(f"/notifiable/cards/{card.pk}/edit/", form_data(version="99"))
    assert r.status_code == 409
    assert 'data-testid="conflict"' in r.content.decode()


def test_live_check_lists_errors_and_duplicates(client, card_env):
    client.force_login(card_env.clinician)
    r = client.post("/notifiable/cards/check/", {"patient_name": "", "sex": "1"})
    html = r.content.decode()
    assert r.status_code == 200 and ReportCard.objects.count() == 0
    assert 'data-field="patient_name"' in html and 'data-field="onset_date"' in html
    existing = make_card(card_env, id_number=form_data()["id_number"])
    r = client.post("/notifiable/cards/check/", form_data())
    html = r.content.decode()
    assert 'data-testid="check-duplicates"' in html and existing.card_number in html
    # the card itself is not its own duplicate when it is being edited
    r = client.post("/notifiable/cards/check/", form_data(card_id=str(existing.pk)))
    assert existing.card_number not in r.content.decode()


def test_person_lookup_reads_the_id_and_the_registry(client, card_env):
    from phis.core.people.services import PersonInput, person_create

    client.force_login(card_env.reviewer)
    number = resident_id(date(1990, 3, 4), male=False)
    r = client.get("/notifiable/cards/person-lookup/", {"id_type": "01", "id_number": number})
    body = r.json()
    assert body["birth_date"] == "1990-03-04" and body["sex"] == 2 and body["persons"] == []
    person_create(data=PersonInput(name="赵六", id_number=number,
                                   address_unit_code="370502001011"))
    body = client.get("/notifiable/cards/person-lookup/",
                      {"id_type": "01", "id_number": number}).json()
    assert body["persons"][0]["name"] == "赵六"
    assert body["persons"][0]["township_code"] == "370502001"
    assert AuditLog.objects.filter(event_type=AuditEventType.RECORD_SEARCHED).exists()
    bad = client.get("/notifiable/cards/person-lookup/",
                     {"id_type": "01", "id_number": number[:-1] + "0"}).json()
    assert bad["error"] and bad["persons"] == []


def test_communities_of_a_township(client, card_env):
    client.force_login(card_env.clinician)
    html = client.get("/notifiable/cards/communities/", {"township": "370502001"}).content
    assert b'value="370502001011"' in html and b"370523001001" not in html


# --- list, export, detail ----------------------------------------------------------------

def test_list_filters_and_scope(client, card_env):
    hfmd = make_card(card_env, disease_code="hfmd", patient_name="甲")
    flu = make_card(card_env, patient_name="乙", id_number=resident_id(date(1970, 1, 1)))
    other_county = make_card(card_env, user=card_env.clinician_gr, patient_name="丙",
                             address_code="370523001001", reporting_unit_code="F370523H1")
    client.force_login(card_env.reviewer)
    today = timezone.localdate().isoformat()
    html = client.get("/notifiable/cards/", {"disease_code": "hfmd", "township_code":
                                             "370502001", "date_basis": "diagnosis",
                                             "date_from": today, "date_to": today}
                      ).content.decode()
    assert hfmd.card_number in html and flu.card_number not in html
    r = client.get("/notifiable/cards/")  # a bare list opens on the last month
    assert r.status_code == 302 and "date_from=" in r["Location"]
    html = client.get(r["Location"]).content.decode()
    assert flu.card_number in html and other_county.card_number not in html
    r = client.get("/notifiable/cards/", {"date_from": "not-a-date"})
    assert r.status_code == 200 and 'data-testid="filter-errors"' in r.content.decode()


def test_export_is_audited_and_needs_the_permission(client, card_env):
    card = make_card(card_env)
    client.force_login(card_env.clinician)
    assert client.get("/notifiable/cards/export.xlsx").status_code == 403
    client.force_login(card_env.reviewer)
    r = client.get("/notifiable/cards/export.xlsx", {"disease_code": "influenza"})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert "rev.dy" in rows[0][0] and rows[1][0] == "卡片编号"
    assert rows[2][0] == card.card_number
    assert resident_id(date(1980, 5, 17)) not in str(rows)  # identifiers stay masked
    row = audit_rows(AuditEventType.RECORD_EXPORTED).get()
    assert row.actor_username == "rev.dy" and row.detail["rows"] == 1


def test_detail_is_scoped_and_audited(client, card_env):
    card = make_card(card_env)
    client.force_login(card_env.clinician_gr)
    assert client.get(f"/notifiable/cards/{card.pk}/").status_code == 404
    client.force_login(card_env.reviewer)
    r = client.get(f"/notifiable/cards/{card.pk}/")
    html = r.content.decode()
    assert r.status_code == 200 and card.card_number in html
    assert card.id_number_masked in html and resident_id(date(1980, 5, 17)) not in html
    assert 'data-testid="review-form"' in html and "网络报告" in html  # history
    assert audit_rows(AuditEventType.RECORD_VIEWED).filter(object_id=str(card.pk)).exists()


# --- actions -------------------------------------------------------------------------------

def test_review_then_a_stale_second_review_is_a_conflict(client, card_env):
    card = make_card(card_env)
    client.force_login(card_env.reviewer)
    url = f"/notifiable/cards/{card.pk}/review/"
    r = client.post(url, {"version": card.version})
    card.refresh_from_db()
    assert r.status_code == 302 and card.status == CardStatus.REVIEWED
    client.force_login(card_env.reviewer2)
    r = client.post(url, {"version": card.version - 1})
    html = r.content.decode()
    assert r.status_code == 409
    assert 'data-testid="conflict"' in html and "已审核" in html


def test_return_needs_a_reason_and_keeps_it(client, card_env):
    card = make_card(card_env)
    client.force_login(card_env.reviewer)
    r = client.post(f"/notifiable/cards/{card.pk}/return/", {"version": card.version})
    assert r.status_code == 422 and 'data-field-error="reason"' in r.content.decode()
    r = client.post(f"/notifiable/cards/{card.pk}/return/",
                    {"version": card.version, "reason": "现住址不详，请补充"})
    card.refresh_from_db()
    assert card.status == CardStatus.RETURNED and card.return_reason == "现住址不详，请补充"
    client.force_login(card_env.clinician)
    home = client.get("/notifiable/").content.decode()
    assert card.card_number in home and "现住址不详，请补充" in home


def test_clinician_cannot_review(client, card_env):
    card = make_card(card_env)
    client.force_login(card_env.clinician)
    r = client.post(f"/notifiable/cards/{card.pk}/review/", {"version": card.version})
    assert r.status_code == 403
    card.refresh_from_db()
    assert card.status == CardStatus.SUBMITTED


def test_delete_duplicate_names_the_kept_card_and_restore(client, card_env):
    kept = make_card(card_env)
    dup = make_card(card_env)  # the same patient and disease again (§2.4)
    client.force_login(card_env.reviewer)
    url = f"/notifiable/cards/{dup.pk}/delete/"
    r = client.post(url, {"version": dup.version, "reason_code": "duplicate"})
    assert r.status_code == 422 and 'data-field-error="duplicate_of"' in r.content.decode()
    r = client.post(url, {"version": dup.version, "reason_code": "duplicate",
                          "duplicate_of": kept.card_number, "reason": "同一患者"})
    dup.refresh_from_db()
    assert r.status_code == 302 and dup.status == CardStatus.DELETED
    assert dup.duplicate_of_id == kept.pk
    # deleted before review: it cannot be restored and the page offers no restore
    page = client.get(f"/notifiable/cards/{dup.pk}/").content.decode()
    assert 'data-testid="restore"' not in page
    services.card_review(user=card_env.reviewer, card_id=kept.pk, version=kept.version)
    kept.refresh_from_db()
    client.post(f"/notifiable/cards/{kept.pk}/delete/",
                {"version": kept.version, "reason_code": "misreport"})
    kept.refresh_from_db()
    assert kept.status == CardStatus.DELETED
    r = client.post(f"/notifiable/cards/{kept.pk}/restore/",
                    {"version": kept.version, "reason": "误删"})
    kept.refresh_from_db()
    assert r.status_code == 302 and kept.status == CardStatus.REVIEWED


def test_revise_prefills_and_needs_a_reason(client, card_env):
    card = make_card(card_env, case_classification="1")
    client.force_login(card_env.clinician)
    url = f"/notifiable/cards/{card.pk}/revise/"
    page = client.get(url).content.decode()
    assert 'name="reason"' in page and resident_id(date(1980, 5, 17)) in page
    data = form_data(id_number=resident_id(date(1980, 5, 17)), patient_name="张三",
                     case_classification="3", version=str(card.version))
    r = client.post(url, data)
    assert r.status_code == 422 and 'data-field-error="reason"' in r.content.decode()
    r = client.post(url, data | {"reason": "实验室确诊"})
    card.refresh_from_db()
    assert r.status_code == 302 and card.card_type == CardType.CORRECTED
    assert card.case_classification == "3" and card.suspected_outcome == "confirmed"


def test_attach_lab_result(client, card_env):
    card = make_card(card_env)
    client.force_login(card_env.clinician)
    url = f"/notifiable/cards/{card.pk}/lab-results/"
    r = client.post(url, {"test_name": "核酸检测", "result": "阳性", "interpretation": "negative",
                          "resulted_at": "yesterday", "confirms": "1"})
    html = r.content.decode()
    assert r.status_code == 422 and 'data-field-error="resulted_at"' in html
    assert 'value="核酸检测"' in html  # kept
    stamp = timezone.localtime() - timedelta(hours=1)
    r = client.post(url, {"test_name": "核酸检测", "result": "阳性", "interpretation": "positive",
                          "resulted_at": stamp.strftime("%Y-%m-%d %H:%M"), "confirms": "1"})
    assert r.status_code == 302
    lab = LabResult.objects.get(card=card)
    assert lab.confirms and lab.interpretation == "positive"


# --- queue, suspected, import ------------------------------------------------------------

def test_review_queue_one_click_approve(client, card_env):
    card = make_card(card_env)
    urgent = make_card(card_env, disease_code="cholera", patient_name="霍乱患者",
                       id_number=resident_id(date(1975, 2, 2)))
    client.force_login(card_env.reviewer)
    html = client.get("/notifiable/review/").content.decode()
    assert html.index(urgent.card_number) < html.index(card.card_number)  # 2-hour card first
    r = client.post("/notifiable/review/", {"approve": f"{card.pk}:{card.version}"})
    card.refresh_from_db()
    assert r.status_code == 302 and card.status == CardStatus.REVIEWED
    r = client.post("/notifiable/review/", {"approve": f"{card.pk}:{card.version - 1}"})
    assert r.status_code == 409
    client.force_login(card_env.reviewer_gr)
    assert card.card_number not in client.get("/notifiable/review/").content.decode()


def test_suspected_overdue_lists_and_export(client, card_env):
    long_ago = timezone.localtime() - timedelta(days=20)
    card = make_card(card_env, case_classification="1", diagnosis_at=long_ago.replace(
        microsecond=0), onset_date=long_ago.date() - timedelta(days=1),
        filled_date=long_ago.date())
    assert card.suspected_due_at < timezone.now()
    client.force_login(card_env.reviewer)
    html = client.get("/notifiable/suspected/").content.decode()
    assert card.card_number in html and "reporting_unit_code=F370502H1" in html
    r = client.get("/notifiable/cards/", {"suspected_overdue": "1",
                                          "reporting_unit_code": "F370502H1"})
    assert card.card_number in r.content.decode()
    r = client.get("/notifiable/suspected/export.xlsx")
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[2][0] == card.card_number and rows[2][-1] == "是"
    assert audit_rows(AuditEventType.RECORD_EXPORTED).exists()


def test_import_template_and_upload(client, card_env, make_user, tree):
    clerk = make_user("hospital_clerk", tree.facilities["370502H1"])
    client.force_login(clerk)
    template = client.get("/notifiable/import/template.csv").content.decode("utf-8-sig")
    header = template.splitlines()[0].split(",")
    assert header == list(IMPORT_COLUMNS)
    good = card_input(patient_name="导入甲")
    rows = [",".join(header)]
    for name, bad in (("导入甲", False), ("导入乙", True)):
        values = {"patient_name": name, "id_type": "01", "id_number": good.id_number
                  if not bad else "", "sex": "1", "address_code": "370502001011",
                  "occupation": "09", "disease_code": "influenza", "case_classification": "2",
                  "onset_date": good.onset_date.isoformat() if not bad else "2026-02-30",
                  "diagnosis_at": timezone.localtime(good.diagnosis_at).strftime(
                      "%Y-%m-%d %H:%M"), "doctor_name": "李医生",
                  "reporting_unit_code": "F370502H1"}
        rows.append(",".join(values.get(c, "") for c in header))
    upload = io.BytesIO("\n".join(rows).encode("utf-8"))
    upload.name = "cards.csv"
    r = client.post("/notifiable/import/", {"file": upload})
    html = r.content.decode()
    assert r.status_code == 200
    assert 'data-testid="import-summary"' in html and "新保存 1 张" in html and "错误 1 行" in html
    assert ">3</td>" in html  # the bad row is line 3 of the file
    assert ReportCard.objects.filter(patient_name="导入甲").exists()
    assert not ReportCard.objects.filter(patient_name="导入乙").exists()
    r = client.post("/notifiable/import/", {"file": io.BytesIO(b"")})
    assert r.status_code == 422


def test_approve_with_pin_signs_and_the_page_shows_the_signature(client, card_env, settings):
    from phis.apps.esign.services import ca_ensure, certificate_issue

    settings.PHIS_NOTIFIABLE_REVIEW_SIGNATURE = "required"
    ca_ensure()
    certificate_issue(by=None, profile="sm2", pin="135790", user=card_env.reviewer)
    card = make_card(card_env)
    client.force_login(card_env.reviewer)
    url = f"/notifiable/cards/{card.pk}/review/"
    r = client.post(url, {"version": card.version})  # no PIN: refused, field error
    assert r.status_code == 422 and 'data-field-error="pin"' in r.content.decode()
    r = client.post(url, {"version": card.version, "pin": "135790"})
    assert r.status_code == 302
    card.refresh_from_db()
    assert card.status == CardStatus.REVIEWED and card.review_signature_id
    html = client.get(f"/notifiable/cards/{card.pk}/").content.decode()
    assert card.review_signature_id in html and "valid" in html
