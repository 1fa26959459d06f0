"""Issue 5 end to end, in the browser: a clinician reports a case → the county reviewer
approves it → a detection run raises a signal → the verifier closes it as excluded.

Cholera is a fixed-threshold disease (one case → a signal, surveillance.md §3.1); its
real-time alert is switched off here so that the signal comes from the detection run the
city CDC starts on the signal page, as the daily schedule would."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from phis.algorithms.identity import check_character

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Str0ng!Passw0rd"
ID = "37050219751203101" + check_character("37050219751203101")


def log_in(page, username):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_test_id("portal").wait_for()


def test_report_review_signal_exclude(page, tree, make_user):
    from phis.apps.notifiable.models import CardStatus, ReportCard
    from phis.apps.signals.models import Signal
    from phis.apps.signals.selectors import config_get
    from phis.apps.signals.services import detection_config_update, detection_configs_ensure
    from phis.core.codes.selectors import codes_cache_clear
    from phis.core.codes.services import codes_load

    codes_cache_clear()
    codes_load()
    make_user("clinician", tree.facilities["370502H1"], username="doc")
    reviewer = make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                         jurisdiction=tree.dy, username="reviewer")
    city = make_user("city_cdc", tree.city, username="city")
    detection_configs_ensure()
    config = config_get(disease_code="cholera")
    detection_config_update(user=city, disease_code="cholera", version=config.version,
                            data={"realtime": False})

    # 1. the clinician reports a cholera case
    now = timezone.localtime()
    diagnosis = max(now - timedelta(minutes=20), now.replace(hour=0, minute=0))
    log_in(page, "doc")
    page.goto("/notifiable/cards/new/")
    page.wait_for_function("window.Alpine !== undefined")
    page.fill("#f-id_number", ID)
    page.press("#f-id_number", "Tab")
    page.wait_for_function("document.getElementById('f-birth_date').value === '1975-12-03'")
    page.fill("#f-patient_name", "孙建国")
    page.select_option("#f-occupation", "13")
    page.focus("#f-township-filter")
    page.keyboard.type("文汇")
    page.keyboard.press("Enter")
    page.wait_for_selector("#f-address_community option[value='370502001011']",
                           state="attached")
    page.select_option("#f-address_community", "370502001011")
    page.select_option("#f-disease_code", "cholera")
    page.select_option("#f-case_classification", "3")
    page.fill("#f-onset_date", diagnosis.strftime("%Y-%m-%d"))
    page.fill("#f-diagnosis_date", diagnosis.strftime("%Y-%m-%d"))
    page.fill("#f-diagnosis_time", diagnosis.strftime("%H:%M"))
    page.keyboard.press("Control+Enter")
    try:
        page.wait_for_url(re.compile(r".*/notifiable/cards/\d+/$"))
    except Exception:
        page.screenshot(path="/tmp/flow.png", full_page=True)
        raise AssertionError(page.get_by_test_id("error-summary").inner_text()) from None
    card = ReportCard.objects.get()
    assert card.status == CardStatus.SUBMITTED and card.deadline_hours == 2
    assert not Signal.objects.exists()  # real-time alert off: the run will raise it

    # 2. the county reviewer approves it
    log_in(page, "reviewer")
    page.goto(f"/notifiable/cards/{card.pk}/")
    page.get_by_test_id("approve").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=card-status]').innerText.trim() === '已审核'")
    card.refresh_from_db()
    assert card.status == CardStatus.REVIEWED and card.reviewed_by == reviewer

    # 3. a detection run (started by the city CDC, as the daily schedule would) raises it
    log_in(page, "city")
    page.goto("/signals/")
    page.get_by_test_id("run-form").locator("button[type=submit]").click()
    page.wait_for_url("**/signals/")
    signal = Signal.objects.get(disease_code="cholera", county_code="370502")
    assert signal.is_open and signal.algorithm.startswith("fixed/")

    # 4. the county verifier looks at the case behind it and closes it as excluded
    log_in(page, "reviewer")
    page.goto("/signals/")
    queue = page.get_by_test_id("signal-queue")
    assert "霍乱" in queue.inner_text()
    queue.get_by_role("link", name=f"#{signal.pk} 霍乱").click()
    page.get_by_test_id("signal-title").wait_for()
    assert card.card_number in page.content()
    page.select_option("#r-method", "phone")
    page.fill("#r-note", "电话核实：外地输入性腹泻，实验室排除霍乱，已订正")
    page.get_by_test_id("action-exclude").click()
    assert page.get_by_test_id("signal-status").inner_text() == "已排除"
    page.get_by_test_id("action-close").click()
    assert page.get_by_test_id("signal-status").inner_text() == "已关闭"
    signal.refresh_from_db()
    assert signal.outcome == "excluded" and not signal.is_open
    assert signal.verified_by == reviewer and signal.verification_method == "phone"
