"""Log in, search a person, open the detail with a masked ID, and find the access-audit row
as the auditor (issue 2, browser test)."""

import pyotp
import pytest

from phis.algorithms.identity import check_character
from phis.core.people.services import PersonInput, person_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Str0ng!Passw0rd"
ID = "37050219800101123" + check_character("37050219800101123")


def log_in(page, username):
    page.goto("/accounts/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_search_detail_masked_and_audited(page, tree, make_user):
    person = person_create(data=PersonInput(name="张伟", id_number=ID, phone="13812345678",
                                            address_unit_code="370502001011"))
    make_user("county_cdc_reviewer", tree.facilities["370502CDC"], jurisdiction=tree.dy,
              username="reviewer")
    make_user("auditor", tree.city, username="auditor")

    log_in(page, "reviewer")
    page.get_by_test_id("portal").wait_for()
    page.goto("/persons/")
    page.fill("#id_number", ID)
    page.click("form[data-testid=person-search] button[type=submit]")
    page.get_by_role("link", name="张伟").click()
    masked = page.get_by_test_id("id-masked").inner_text()
    assert masked == "370502********" + ID[-4:]
    assert ID not in page.content()
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="退出登录").click()

    # the auditor (TOTP is mandatory for this role) finds the access row
    log_in(page, "auditor")
    page.wait_for_url("**/accounts/2fa/enrol/")
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("button.btn-primary")
    page.get_by_test_id("portal").wait_for()
    page.goto(f"/audit/?person_id={person.pk}&category=access")
    table = page.locator("table").inner_text()
    assert "RECORD_VIEWED" in table and "reviewer" in table
    assert "370502" in table  # the reviewer's org code is on the row


def test_phone_sized_screen(page, tree, make_user):
    make_user("clinician", tree.facilities["370502H1"], username="doc")
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, "doc")
    page.get_by_test_id("portal").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path="/tmp/phis-phone.png")
