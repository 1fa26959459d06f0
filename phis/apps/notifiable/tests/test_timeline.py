"""Report cards on the patient-360 timeline: registered at start-up, scoped like the card
list, drafts left out, the review signature shown."""

from __future__ import annotations

import pytest

from phis.apps.notifiable import services
from phis.apps.notifiable.tests.conftest import card_input, resident_id

pytestmark = pytest.mark.django_db


def _entries(user, person_id):
    from phis.core.people.timeline import timeline_collect

    result = timeline_collect(user=user, person_ids=[person_id])
    assert "notifiable.cards" not in result.failed
    return [e for e in result.entries if e.module == "notifiable"]


def test_source_is_registered_at_start_up():
    from phis.core.people.timeline import timeline_sources

    assert "notifiable.cards" in {s.key for s in timeline_sources()}


def test_card_appears_on_the_patients_timeline_in_scope_only(card_env):
    card = services.card_create(user=card_env.clinician, data=card_input())
    assert card.person_id is not None
    entries = _entries(card_env.clinician, card.person_id)
    assert [e.record_id for e in entries] == [str(card.pk)]
    entry = entries[0]
    assert entry.url == f"/notifiable/cards/{card.pk}/"
    assert entry.at == card.diagnosis_at
    assert entry.org_unit_code == "F370502H1"
    assert "流行性感冒" in entry.title and "nfluenza" in entry.title_en
    assert card.card_number in entry.summary and "待审核" in entry.summary
    # The 东营区 reviewer sees it (address in scope); the 广饶县 reviewer does not.
    assert len(_entries(card_env.reviewer, card.person_id)) == 1
    assert _entries(card_env.reviewer_gr, card.person_id) == []


def test_drafts_are_left_out_and_review_state_is_shown(card_env):
    draft = services.card_create(user=card_env.clinician, submit=False,
                                 data=card_input(id_number=resident_id(
                                     card_input().birth_date, seq=321)))
    assert draft.person_id is not None
    assert _entries(card_env.clinician, draft.person_id) == []
    card = services.card_create(user=card_env.clinician, data=card_input())
    services.card_review(user=card_env.reviewer, card_id=card.pk, version=card.version)
    (entry,) = _entries(card_env.city, card.person_id)
    assert "已审核" in entry.summary and "审核未签名" in entry.summary


def test_reviewed_with_signature_says_so(card_env, settings):
    from phis.apps.esign.services import ca_ensure, certificate_issue

    ca_ensure()
    certificate_issue(by=None, profile="sm2", pin="135790", user=card_env.reviewer)
    settings.PHIS_NOTIFIABLE_REVIEW_SIGNATURE = "required"
    card = services.card_create(user=card_env.clinician, data=card_input())
    services.card_review(user=card_env.reviewer, card_id=card.pk, version=card.version,
                         pin="135790")
    (entry,) = _entries(card_env.reviewer, card.person_id)
    assert "审核已电子签名" in entry.summary
