"""Fixtures of the signal tests: code systems, the two-county tree, county-CDC reviewers of
both counties, a city-CDC user and clinicians; cards are made through the card services and
the outbox is drained so the count tables follow them as in production."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from phis.algorithms.identity import check_character
from phis.apps.notifiable.inputs import CardInput


def aware(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)),
                               timezone.get_default_timezone())


def resident_id(seq: int, *, area: str = "370502") -> str:
    birth = date(1970, 1, 1) + timedelta(days=seq % 15000)
    first17 = f"{area}{birth:%Y%m%d}{(seq * 2 + 1) % 1000:03d}"
    return first17 + check_character(first17)


class Env:
    seq = 0

    def card(self, *, disease: str = "influenza", onset: date | None = None,
             county: str = "dy", now: datetime | None = None, **extra):
        """One reported card through ``card_create``; ``onset`` also sets the diagnosis
        (same day) and the reporting time (``now``, default: that day 12:00)."""
        from phis.apps.notifiable.services import card_create

        Env.seq += 1
        onset = onset or timezone.localdate()
        now = now or aware(onset, 12)
        if now > timezone.now():
            now = timezone.now()
        diagnosis = min(aware(onset, 10), now - timedelta(minutes=5))
        dy = county == "dy"
        data = CardInput(
            patient_name=f"病例{Env.seq}", id_type="01",
            id_number=resident_id(Env.seq, area="370502" if dy else "370523"), sex=1,
            address_code="370502001011" if dy else "370523001001",
            address_text="测试地址", occupation="09", disease_code=disease,
            case_classification="2", onset_date=onset, diagnosis_at=diagnosis,
            doctor_name="李医生", reporting_unit_code="F370502H1" if dy else "F370523H1",
            **extra)
        return card_create(user=self.clinician if dy else self.clinician_gr, data=data,
                           now=now)

    def place(self, counts: dict[date, int], *, disease: str = "influenza",
              county: str = "dy") -> None:
        for day, n in counts.items():
            for _ in range(n):
                self.card(disease=disease, onset=day, county=county)

    @staticmethod
    def drain() -> int:
        from phis.core.events.services import outbox_drain

        total = 0
        while True:
            report = outbox_drain(limit=1000)
            total += report.delivered
            if report.claimed == 0:
                return total


@pytest.fixture
def env(codes, tree, make_user):
    e = Env()
    e.tree = tree
    e.clinician = make_user("clinician", tree.facilities["370502H1"], username="doc.dy")
    e.clinician_gr = make_user("clinician", tree.facilities["370523H1"], username="doc.gr")
    e.reviewer = make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                           jurisdiction=tree.dy, username="rev.dy")
    e.reviewer2 = make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                            jurisdiction=tree.dy, username="rev.dy2")
    e.reviewer_gr = make_user("county_cdc_reviewer", tree.facilities["370523CDC"],
                              jurisdiction=tree.gr, username="rev.gr")
    e.city = make_user("city_cdc", tree.city, username="city.cdc")
    return e
