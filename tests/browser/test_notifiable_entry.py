"""A hospital clinician fills a report card with the keyboard, sees a live field error,
fixes it and reports the card; the county reviewer approves it from the review queue
(issue 5, browser test). Plus the fields that appear only when the disease or the age
needs them, on a phone-sized screen."""

from datetime import timedelta

import pytest
from django.utils import timezone

from phis.algorithms.identity import check_character

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Str0ng!Passw0rd"
ID = "37050219800101123" + check_character("37050219800101123")


@pytest.fixture
def codes_loaded(db):
    from phis.core.codes.selectors import codes_cache_clear
    from phis.core.codes.services import codes_load

    codes_cache_clear()
    codes_load()
    yield
    codes_cache_clear()


def log_in(page, username):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_test_id("portal").wait_for()


def focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.name || "
                         "document.activeElement.id")


def test_clinician_reports_by_keyboard_reviewer_approves(page, tree, make_user, codes_loaded):
    from phis.apps.notifiable.models import CardStatus, ReportCard

    make_user("clinician", tree.facilities["370502H1"], username="doc")
    make_user("county_cdc_reviewer", tree.facilities["370502CDC"], jurisdiction=tree.dy,
              username="reviewer")
    now = timezone.localtime()
    diagnosis = max(now - timedelta(minutes=10), now.replace(hour=0, minute=0))

    log_in(page, "doc")
    page.goto("/notifiable/")
    page.get_by_test_id("new-card").click()
    page.wait_for_url("**/notifiable/cards/new/")
    page.wait_for_function("window.Alpine !== undefined")

    # The ID field has the focus; the resident ID fills sex and birth date at once.
    assert focused(page) == "id_number"
    page.keyboard.type(ID)
    page.keyboard.press("Tab")
    assert focused(page) == "patient_name"
    page.wait_for_function("document.getElementById('f-birth_date').value === '1980-01-01'")
    assert page.input_value("#f-sex") == "1"
    page.keyboard.type("张伟")
    page.keyboard.press("Enter")  # moves on, never submits half a card
    assert focused(page) == "sex"
    assert page.url.endswith("/notifiable/cards/new/")

    page.focus("#f-phone")
    page.keyboard.type("13812345678")
    page.keyboard.press("Enter")
    assert focused(page) == "work_unit"
    page.keyboard.type("东营市胜利油田")
    page.keyboard.press("Tab")
    assert focused(page) == "occupation"
    page.select_option("#f-occupation", "09")

    # address by township search; the communities follow
    page.focus("#f-township-filter")
    page.keyboard.type("文汇")
    page.keyboard.press("Enter")
    assert page.input_value("#f-address_township") == "370502001"
    page.wait_for_selector("#f-address_community option[value='370502001011']",
                           state="attached")
    page.select_option("#f-address_community", "370502001011")

    # disease by pinyin initials: 流行性感冒 = lxxgm; Enter jumps past the list
    page.focus("#f-disease-filter")
    page.keyboard.type("lxxgm")
    page.keyboard.press("Enter")
    assert page.input_value("#f-disease_code") == "influenza"
    assert focused(page) != "disease_code"
    assert not page.get_by_test_id("subtype-field").is_visible()
    page.select_option("#f-case_classification", "2")

    # a future onset date: the live check marks the field
    page.focus("#f-onset_date")
    page.keyboard.type("20991231")
    page.keyboard.press("Tab")
    assert page.input_value("#f-onset_date") == "2099-12-31"  # normalised on leaving
    page.focus("#f-diagnosis_date")
    page.keyboard.press("Control+A")
    page.keyboard.type(diagnosis.strftime("%Y%m%d"))
    page.keyboard.press("Tab")
    page.keyboard.type(diagnosis.strftime("%H%M"))
    page.keyboard.press("Tab")
    onset_error = page.locator("[data-field-error=onset_date]")
    onset_error.wait_for()
    assert "发病日期" in onset_error.inner_text()

    # reporting anyway (Ctrl+Enter) is refused with everything kept
    page.keyboard.press("Control+Enter")
    page.get_by_test_id("error-summary").wait_for()
    assert page.input_value("#f-patient_name") == "张伟"
    assert page.input_value("#f-id_number") == ID
    assert page.input_value("#f-disease_code") == "influenza"
    assert ReportCard.objects.count() == 0
    page.screenshot(path="/tmp/phis-notifiable-entry.png", full_page=True)

    # fixed, then reported
    page.focus("#f-onset_date")
    page.keyboard.press("Control+A")
    page.keyboard.type((diagnosis - timedelta(days=1)).strftime("%Y%m%d"))
    page.keyboard.press("Tab")
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/notifiable/cards/*/")
    assert page.get_by_test_id("card-status").inner_text() == "待审核"
    card = ReportCard.objects.get()
    assert card.status == CardStatus.SUBMITTED and card.patient_name == "张伟"

    # the county reviewer approves it from the queue with one key
    log_in(page, "reviewer")
    page.goto("/notifiable/review/")
    page.get_by_test_id("queue-row").first.wait_for()
    page.wait_for_function("window.Alpine !== undefined")
    page.screenshot(path="/tmp/phis-notifiable-queue.png", full_page=True)
    page.locator("body").press("a")
    page.get_by_test_id("queue-empty").wait_for()
    card.refresh_from_db()
    assert card.status == CardStatus.REVIEWED
    assert card.reviewed_by.username == "reviewer"
    page.goto(f"/notifiable/cards/{card.pk}/")
    assert page.get_by_test_id("card-status").inner_text() == "已审核"
    assert "审核通过" in page.get_by_test_id("history").inner_text()
    page.screenshot(path="/tmp/phis-notifiable-detail.png", full_page=True)


def test_fields_follow_the_disease_and_age_on_a_phone(page, tree, make_user, codes_loaded):
    make_user("clinician", tree.facilities["370502H1"], username="doc")
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, "doc")
    page.goto("/notifiable/cards/new/")
    page.wait_for_function("window.Alpine !== undefined")
    subtype, acute = page.get_by_test_id("subtype-field"), page.get_by_test_id(
        "acute-chronic-field")
    assert not subtype.is_visible() and not acute.is_visible()
    page.select_option("#f-disease_code", "viral-hepatitis")
    subtype.wait_for(state="visible")
    options = page.eval_on_selector_all("#f-subtype_code option:not([hidden])",
                                        "els => els.map(e => e.value)")
    assert "hepatitis-b" in options and "syphilis-primary" not in options
    assert not acute.is_visible()
    page.select_option("#f-subtype_code", "hepatitis-b")
    acute.wait_for(state="visible")

    parent_required = page.get_by_test_id("parent-required")
    assert not parent_required.is_visible()
    child_birth = (timezone.localdate() - timedelta(days=4 * 365)).strftime("%Y%m%d")
    page.focus("#f-birth_date")
    page.keyboard.type(child_birth)
    page.keyboard.press("Tab")
    parent_required.wait_for(state="visible")

    # Ctrl+S keeps a draft to continue later
    page.focus("#f-patient_name")
    page.keyboard.type("李小")
    page.keyboard.press("Control+s")
    page.wait_for_url("**/notifiable/cards/*/edit/")
    assert page.input_value("#f-patient_name") == "李小"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path="/tmp/phis-notifiable-phone.png", full_page=True)
