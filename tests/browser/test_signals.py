"""C4 in the browser: a cholera card raises a real-time signal; the county verifier opens the
queue, opens the signal, verifies it by phone as excluded and closes it (issue 5)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from phis.algorithms.identity import check_character
from phis.apps.notifiable.inputs import CardInput
from phis.apps.notifiable.services import card_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Str0ng!Passw0rd"


def log_in(page, username):
    page.goto("/accounts/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_verifier_closes_a_signal_as_excluded(page, tree, make_user):
    from phis.apps.signals.models import Signal
    from phis.core.codes.selectors import codes_cache_clear
    from phis.core.codes.services import codes_load

    codes_cache_clear()
    codes_load()
    doctor = make_user("clinician", tree.facilities["370502H1"], username="doc")
    make_user("county_cdc_reviewer", tree.facilities["370502CDC"], jurisdiction=tree.dy,
              username="verifier")
    first17 = "37050219800517123"
    now = timezone.now()
    card_create(user=doctor, data=CardInput(
        patient_name="王五", id_type="01", id_number=first17 + check_character(first17),
        sex=1, address_code="370502001011", address_text="文汇街道东营社区", occupation="09",
        disease_code="cholera", case_classification="1",
        onset_date=timezone.localdate(), diagnosis_at=now - timedelta(minutes=30),
        doctor_name="李医生", reporting_unit_code="F370502H1"), now=now)
    signal = Signal.objects.get(disease_code="cholera")  # raised in real time by the event

    log_in(page, "verifier")
    page.get_by_test_id("portal").wait_for()
    page.goto("/signals/")
    queue = page.get_by_test_id("signal-queue")
    assert "霍乱" in queue.inner_text()
    queue.get_by_role("link", name=f"#{signal.pk} 霍乱").click()
    page.get_by_test_id("signal-title").wait_for()
    assert page.get_by_test_id("signal-status").inner_text() == "待响应"
    page.select_option("#r-method", "phone")
    page.fill("#r-note", "电话核实：报告医生误选病种，已订正")
    page.get_by_test_id("action-exclude").click()
    assert page.get_by_test_id("signal-status").inner_text() == "已排除"
    page.get_by_test_id("action-close").click()
    assert page.get_by_test_id("signal-status").inner_text() == "已关闭"
    assert page.get_by_test_id("signal-outcome").inner_text() == "排除"
    signal.refresh_from_db()
    assert signal.outcome == "excluded" and signal.verification_method == "phone"
    assert not signal.is_open and signal.responded_at is not None
    page.goto("/signals/")
    assert "霍乱" not in page.get_by_test_id("signal-queue").inner_text()
