"""Fixtures of the direct-report tests: code systems, the two-county tree with CDC users,
a file channel writing into a temporary directory, and helpers that make reviewed cards
through the notifiable services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from phis.algorithms.identity import check_character
from phis.apps.notifiable.inputs import CardInput


@pytest.fixture(autouse=True)
def _fast_pin_kdf(settings):
    settings.PHIS_ESIGN_PIN_ITERATIONS = 1000


def resident_id(birth: date, *, area: str = "370502", seq: int = 123, male: bool = True) -> str:
    seq = seq % 1000
    if (seq % 2 == 1) != male:
        seq = (seq + 1) % 1000
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def card_input(*, county: str = "370502", seq: int = 123, **overrides) -> CardInput:
    """A complete, valid adult influenza card of a resident of ``county``."""
    now = timezone.localtime()
    birth = date(1980, 5, 17)
    address = {"370502": "370502001011", "370523": "370523001001"}[county]
    values = {
        "patient_name": "张三", "id_type": "01",
        "id_number": resident_id(birth, area=county, seq=seq), "sex": 1,
        "work_unit": "东营市胜利油田", "phone": "13812345678", "address_code": address,
        "address_text": "文汇街道东营社区3号楼", "occupation": "09",
        "disease_code": "influenza", "case_classification": "2",
        "onset_date": (now - timedelta(days=2)).date(),
        "diagnosis_at": (now - timedelta(hours=1)).replace(microsecond=0),
        "doctor_name": "李医生", "reporting_unit_code": f"F{county}H1"}
    values.update(overrides)
    return CardInput(**values)


@pytest.fixture
def env(codes, tree, make_user, settings, tmp_path):
    class Env:
        pass

    e = Env()
    e.tree = tree
    e.clinician = make_user("clinician", tree.facilities["370502H1"], username="doc.dy")
    e.clinician_gr = make_user("clinician", tree.facilities["370523H1"], username="doc.gr")
    e.reviewer = make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                           jurisdiction=tree.dy, username="rev.dy")
    e.reviewer_gr = make_user("county_cdc_reviewer", tree.facilities["370523CDC"],
                              jurisdiction=tree.gr, username="rev.gr")
    e.city = make_user("city_cdc", tree.city, username="city.cdc")
    e.outbox = tmp_path / "out"
    e.inbox = tmp_path / "in"
    settings.PHIS_DIRECTREPORT = {
        "sender_code": "370500",
        "channels": {"nidrs": {"receiver": "100000", "outbox_dir": str(e.outbox),
                               "inbox_dir": str(e.inbox), "backoff_seconds": 60,
                               "import_username": "city.cdc"}}}
    seq = {"n": 100}

    def reported(county: str = "370502", *, review: bool = True, **overrides):
        """A card reported by the county's hospital (and reviewed by its county CDC)."""
        from phis.apps.notifiable import services

        seq["n"] += 2
        reporter = e.clinician if county == "370502" else e.clinician_gr
        reviewer = e.reviewer if county == "370502" else e.reviewer_gr
        card = services.card_create(user=reporter, data=card_input(
            county=county, seq=seq["n"], **overrides))
        if review:
            card = services.card_review(user=reviewer, card_id=card.pk, version=card.version)
        return card

    e.reported = reported
    return e


def drain() -> None:
    """Deliver the outbox events of the test's transaction to their handlers."""
    from phis.core.events.services import outbox_drain

    outbox_drain(limit=10_000)
