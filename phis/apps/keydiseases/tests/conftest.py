"""Fixtures of the A4 tests: code systems, the two-county tree with a health centre per
township, the users of the community–hospital–CDC chain, and reviewed report cards made
through the notifiable services (the contract this module consumes)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from phis.algorithms.identity import check_character
from phis.apps.notifiable.inputs import CardInput


@pytest.fixture(autouse=True)
def _no_review_signature(settings):
    settings.PHIS_NOTIFIABLE_REVIEW_SIGNATURE = "off"


def resident_id(birth: date, *, area: str = "370502", seq: int = 123, male: bool = True) -> str:
    seq = seq % 1000
    if (seq % 2 == 1) != male:
        seq = (seq + 1) % 1000
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def card_input(**overrides) -> CardInput:
    """A valid card of a TB patient living in 东营区 文汇街道, reported by the 东营区 hospital."""
    now = timezone.localtime()
    birth = date(1975, 3, 9)
    values = {
        "patient_name": "王结核", "id_type": "01", "id_number": resident_id(birth), "sex": 1,
        "birth_date": birth, "phone": "13812345678", "address_code": "370502001011",
        "address_text": "文汇街道东营社区5号楼", "occupation": "09",
        "disease_code": "tuberculosis", "subtype_code": "tb-pathogen-positive",
        "case_classification": "3", "onset_date": (now - timedelta(days=20)).date(),
        "diagnosis_at": (now - timedelta(hours=3)).replace(microsecond=0),
        "doctor_name": "李医生", "reporting_unit_code": "F370502H1"}
    values.update(overrides)
    return CardInput(**values)


@pytest.fixture
def kd(codes, tree, make_user):
    """The chain around a 东营区 patient: hospital clinician, township health centre, county
    CDC; the same in 广饶县 (for scoping), and the city CDC."""
    from phis.core.orgunits.models import FacilityType
    from phis.core.orgunits.services import _TreeWriter

    w = _TreeWriter()
    hc_dy = w.put(code="F370502001HC", name="文汇社区卫生服务中心", level=6,
                  facility_type=FacilityType.COMMUNITY_HEALTH_CENTRE, parent=tree.dy_township)
    hc_gr = w.put(code="F370523001HC", name="广饶社区卫生服务中心", level=6,
                  facility_type=FacilityType.COMMUNITY_HEALTH_CENTRE, parent=tree.gr_township)
    school = w.put(code="F370502001PS", name="文汇小学", level=6,
                   facility_type=FacilityType.SCHOOL, parent=tree.dy_township)
    w.flush()

    class Env:
        pass

    env = Env()
    env.tree, env.hc_dy, env.hc_gr, env.school = tree, hc_dy, hc_gr, school
    f = tree.facilities
    env.clinician = make_user("clinician", f["370502H1"], username="doc.dy")
    env.clerk = make_user("hospital_clerk", f["370502H1"], username="clerk.dy")
    env.clinician_gr = make_user("clinician", f["370523H1"], username="doc.gr")
    env.reviewer = make_user("county_cdc_reviewer", f["370502CDC"], jurisdiction=tree.dy,
                             username="rev.dy")
    env.reviewer_gr = make_user("county_cdc_reviewer", f["370523CDC"], jurisdiction=tree.gr,
                                username="rev.gr")
    env.bureau = make_user("county_health_bureau", tree.dy, username="bureau.dy")
    env.thc = make_user("township_health_centre", hc_dy, jurisdiction=tree.dy_township,
                        username="thc.dy")
    env.thc_gr = make_user("township_health_centre", hc_gr, jurisdiction=tree.gr_township,
                           username="thc.gr")
    env.school_doctor = make_user("school_doctor", school, username="school.dy")
    env.city = make_user("city_cdc", tree.city, username="city.cdc")
    return env


@pytest.fixture
def reviewed_card(kd):
    """Make a card through the notifiable services and have the county CDC approve it."""
    from phis.apps.notifiable import services as cards

    def make(**overrides):
        card = cards.card_create(user=kd.clinician, data=card_input(**overrides))
        return cards.card_review(user=kd.reviewer, card_id=card.pk, version=card.version)

    return make


def payload_of(card, **extra) -> dict:
    """The ``notifiable.card.changed`` payload of the contract for a card."""
    data = {"card_id": card.pk, "card_number": card.card_number, "action": "review",
            "status": card.status, "disease_code": card.disease_code,
            "county_code": card.county_code, "township_code": card.township_code,
            "case_classification": card.case_classification, "counted": True,
            "previous": None}
    data.update(extra)
    return data
