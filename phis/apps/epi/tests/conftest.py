"""Fixtures of the epi tests: the catalogue, reporters in both counties of the ``tree``
fixture, and a factory making report cards through the notifiable services (the only way
another app may create them)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

SHANGHAI = ZoneInfo("Asia/Shanghai")
_serial = itertools.count(1)


def resident_id(birth: date, sex: int) -> str:
    from phis.algorithms.identity import check_character

    n = next(_serial) % 500
    seq = f"{n:02d}{(2 * (n % 4) + (1 if sex == 1 else 2)) % 10}"[-3:]
    if (int(seq[-1]) % 2 == 1) != (sex == 1):
        seq = seq[:-1] + str((int(seq[-1]) + 1) % 10)
    body = f"370502{birth:%Y%m%d}{seq}"
    return body + check_character(body)


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Counts are cached briefly in production; tests count right after writing."""
    from django.core.cache import cache

    settings.PHIS_EPI_CACHE_SECONDS = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def populated(tree):
    """Populations for incidence (the tree fixture has none)."""
    for unit, pop in ((tree.city, 1_000_000), (tree.dy, 400_000), (tree.gr, 200_000),
                      (tree.dy_township, 50_000), (tree.gr_township, 20_000)):
        unit.population = pop
        unit.save(update_fields=["population"])
    return tree


@pytest.fixture
def reporters(populated, make_user, codes):
    return {
        "370502": make_user("hospital_clerk", populated.facilities["370502H1"],
                            username="clerk.dy"),
        "370523": make_user("hospital_clerk", populated.facilities["370523H1"],
                            username="clerk.gr"),
    }


@pytest.fixture
def make_card(reporters, populated):
    """``make_card(county="370502", disease="hfmd", onset=date, classification="3")``
    through ``card_create``; the card is submitted (counts) unless ``submit=False``."""
    from phis.apps.notifiable.inputs import CardInput
    from phis.apps.notifiable.services import card_create

    def make(*, county: str = "370502", disease: str = "hfmd", onset: date,
             classification: str = "3", submit: bool = True, death: date | None = None,
             now: datetime | None = None):
        community = {"370502": "370502001011", "370523": "370523001001"}[county]
        birth = date(1980, 3, 4) if disease != "hfmd" else onset - timedelta(days=3 * 365)
        sex = 1
        diagnosis = datetime.combine(onset + timedelta(days=1), time(10, 0), SHANGHAI)
        data = CardInput(
            patient_name="测试病例", parent_name="测试家长", id_number=resident_id(birth, sex),
            sex=sex, birth_date=birth, phone="13800000000", address_code=community,
            address_text="测试路1号", occupation="02" if disease == "hfmd" else "09",
            disease_code=disease, case_classification=classification,
            onset_date=onset, diagnosis_at=diagnosis, death_date=death,
            reporting_unit_code=f"F{county}H1", doctor_name="李医生",
            filled_date=diagnosis.date())
        return card_create(user=reporters[county], data=data, submit=submit,
                           now=now or diagnosis + timedelta(hours=2))

    return make


@pytest.fixture(autouse=True)
def _epi_urls(settings):
    settings.ROOT_URLCONF = "phis.apps.epi.tests.urls"
