"""Fixtures of the card tests: code systems loaded once, the two-county tree (root
conftest), a hospital reporter and county-CDC reviewers, and a valid card input."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from phis.algorithms.identity import check_character
from phis.apps.notifiable.inputs import CardInput


@pytest.fixture(autouse=True)
def _fast_pin_kdf(settings):
    settings.PHIS_ESIGN_PIN_ITERATIONS = 1000


def resident_id(birth: date, *, area: str = "370502", seq: int = 123, male: bool = True) -> str:
    """A valid 18-digit resident ID (GB 11643) for tests."""
    seq = seq % 1000
    if (seq % 2 == 1) != male:
        seq = (seq + 1) % 1000
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


@pytest.fixture
def card_env(codes, tree, make_user):
    """Users: a clinician of the 东营区 hospital, reviewers of both county CDCs, a city CDC
    user and a clinician of the 广饶县 hospital."""

    class Env:
        pass

    env = Env()
    env.tree = tree
    env.clinician = make_user("clinician", tree.facilities["370502H1"], username="doc.dy")
    env.clerk = make_user("hospital_clerk", tree.facilities["370502H1"], username="clerk.dy")
    env.clinician_gr = make_user("clinician", tree.facilities["370523H1"], username="doc.gr")
    env.reviewer = make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                             jurisdiction=tree.dy, username="rev.dy")
    env.reviewer2 = make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                              jurisdiction=tree.dy, username="rev.dy2")
    env.reviewer_gr = make_user("county_cdc_reviewer", tree.facilities["370523CDC"],
                                jurisdiction=tree.gr, username="rev.gr")
    env.city = make_user("city_cdc", tree.city, username="city.cdc")
    return env


def card_input(**overrides) -> CardInput:
    """A complete, valid adult card: influenza (class C, 24 h) diagnosed an hour ago, living
    in 东营区 (the clinician's county)."""
    now = timezone.localtime()
    birth = date(1980, 5, 17)
    values = {
        "patient_name": "张三", "id_type": "01", "id_number": resident_id(birth), "sex": 1,
        "birth_date": birth, "work_unit": "东营市胜利油田", "phone": "13812345678",
        "address_code": "370502001011", "address_text": "文汇街道东营社区3号楼",
        "occupation": "09", "disease_code": "influenza", "case_classification": "2",
        "onset_date": (now - timedelta(days=2)).date(),
        "diagnosis_at": (now - timedelta(hours=1)).replace(microsecond=0),
        "doctor_name": "李医生", "reporting_unit_code": "F370502H1"}
    if "id_number" in overrides and "birth_date" not in overrides:
        values["birth_date"] = None  # derived from the resident ID
    values.update(overrides)
    return CardInput(**values)


def aware(*args) -> datetime:
    return timezone.make_aware(datetime(*args), timezone.get_default_timezone())
