"""Open a person's patient-360 page: the masked ID, the source records and the timeline
(issue 3 §4, browser test)."""

from datetime import date

import pytest

from phis.algorithms.identity import check_character
from phis.core.people.mpi_services import IncomingPerson, mpi_intake

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Str0ng!Passw0rd"
ID = "37050219800101123" + check_character("37050219800101123")


def test_patient_360_shows_timeline_and_masked_id(page, tree, make_user):
    result = mpi_intake(record=IncomingPerson(name="张伟", sex=1, birth_date=date(1980, 1, 1),
                                              id_number=ID, phone="13812345678",
                                              address_unit_code="370502001011"),
                        source="his-dy", source_key="MRN-1",
                        facility=tree.facilities["370502H1"])
    mpi_intake(record=IncomingPerson(name="张伟", id_number=ID), source="lis-dy",
               source_key="LAB-9")
    make_user("county_cdc_reviewer", tree.facilities["370502CDC"], jurisdiction=tree.dy,
              username="reviewer")
    page.goto("/accounts/login/")
    page.fill("#username", "reviewer")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_test_id("portal").wait_for()
    page.goto(f"/persons/{result.person.pk}/")
    page.get_by_test_id("open-360").click()
    page.get_by_test_id("p360-timeline").wait_for()
    assert page.get_by_test_id("p360-id-masked").inner_text() == "370502********" + ID[-4:]
    timeline = page.get_by_test_id("p360-timeline").inner_text()
    assert "来源记录关联" in timeline and "人员登记" in timeline
    links = page.get_by_test_id("p360-links").inner_text()
    assert "his-dy:MRN-1" in links and "lis-dy:LAB-9" in links
    assert ID not in page.content()
    with page.expect_download() as download:
        page.get_by_test_id("fhir-download").click()
    assert download.value.suggested_filename == f"person-{result.person.pk}-fhir.json"
    page.screenshot(path="/tmp/phis-patient360.png", full_page=True)
