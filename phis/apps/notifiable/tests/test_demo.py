"""The demo history generator: realistic, valid, deterministic and queue-ready."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from phis.apps.notifiable.demo import OUTBREAKS, PROFILES, cards_demo_history
from phis.apps.notifiable.models import CardEvent, CardSource, CardStatus, ReportCard
from phis.apps.notifiable.tests.conftest import resident_id
from phis.core.people.services import PersonInput, person_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(codes, tree):
    """Residents of both counties across ages, and a reporting hospital in each."""
    persons = []
    for i in range(120):
        birth = date(1950 + (i * 7) % 72, 1 + i % 12, 1 + i % 27)
        community = "370502001011" if i % 3 else "370523001001"
        persons.append(person_create(data=PersonInput(
            name=f"居民{i}", sex=1 + i % 2, birth_date=birth, id_type="01",
            id_number=resident_id(birth, area=community[:6], seq=i, male=i % 2 == 0),
            address_unit_code=community)))
    return persons


def _run(**kw):
    return cards_demo_history(years=1, end=date(2026, 6, 30), scale=0.02, **kw)


def test_history_is_valid_deterministic_and_idempotent(registry):
    summary = _run()
    cards = list(ReportCard.objects.order_by("pk"))
    assert summary["cards"] == len(cards) > 500
    assert {c.source for c in cards} == {CardSource.DEMO}
    numbers = [c.card_number for c in cards]
    assert len(set(numbers)) == len(numbers)
    for card in cards:
        assert card.onset_date <= card.diagnosis_at.date() + timedelta(days=1)
        assert card.reported_at >= card.diagnosis_at
        assert card.report_due_at == card.diagnosis_at + timedelta(hours=card.deadline_hours)
        assert card.person_id is not None and card.county_code and card.township_code
        assert card.township_code.startswith(card.county_code[:6])
    # every card has its report in the history, reviewed ones their review too
    events = Counter(CardEvent.objects.values_list("action", flat=True))
    reviewed = sum(c.status == CardStatus.REVIEWED for c in cards)
    assert events["submit"] == len(cards) and events["review"] == reviewed
    assert _run()["cards"] == 0  # a second run adds nothing
    first = [(c.card_number, c.disease_code, c.onset_date) for c in cards]
    ReportCard.objects.all().delete()
    _run()
    again = [(c.card_number, c.disease_code, c.onset_date)
             for c in ReportCard.objects.order_by("pk")]
    assert again == first  # same seed, same city: the same history


def test_history_has_seasons_and_injected_outbreaks(registry):
    _run()
    flu = Counter(ReportCard.objects.filter(disease_code="influenza")
                  .values_list("onset_date__month", flat=True))
    assert flu[1] > 3 * flu[7]  # influenza peaks in winter (PROFILES)
    hfmd = Counter(ReportCard.objects.filter(disease_code="hfmd")
                   .values_list("onset_date__month", flat=True))
    assert hfmd[5] + hfmd[6] > hfmd[1] + hfmd[2] + hfmd[12]
    # the outbreaks in the window are there in full, in one township each
    end = date(2026, 6, 30)
    for ob in OUTBREAKS:
        first = end - timedelta(days=ob.days_before_end)
        if first < end - timedelta(days=364):
            continue
        window = ReportCard.objects.filter(disease_code=ob.code, onset_date__gte=first,
                                           onset_date__lt=first + timedelta(days=ob.duration))
        top = Counter(window.values_list("township_code", flat=True)).most_common(1)
        assert top and top[0][1] >= ob.cases, ob


def test_profiles_use_listed_diseases_with_valid_subtypes(codes):
    from phis.core.codes.selectors import notifiable_disease_rules

    for profile in PROFILES:
        rules = notifiable_disease_rules(profile.code, on=profile.since or date(2024, 1, 1))
        for subtype, _ in profile.subtypes:
            assert subtype in rules.subtypes, (profile.code, subtype)
        assert abs(sum(w for _, w in profile.classification) - 1.0) < 1e-9
    assert 90_000 <= sum(p.per_year for p in PROFILES if not p.since) + 7_000 <= 110_000


def test_cards_awaiting_review_get_a_review_item(registry):
    from django.utils import timezone

    from phis.apps.notifiable.selectors import card_review_queue
    from phis.core.workflow.models import WorkflowInstance

    cards_demo_history(years=1, end=timezone.localdate(), scale=0.05)
    waiting = ReportCard.objects.filter(status=CardStatus.SUBMITTED)
    assert waiting.exists()
    assert WorkflowInstance.objects.filter(subject_key__in=waiting.values("card_number")
                                           ).count() == waiting.count()
    from phis.core.accounts.models import User

    reviewer = User.objects.filter(role="county_cdc_reviewer").first()
    if reviewer is not None:
        assert card_review_queue(user=reviewer).exists()
