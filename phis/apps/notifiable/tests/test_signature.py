"""The reviewer's electronic signature hook (PHIS_NOTIFIABLE_REVIEW_SIGNATURE)."""

from __future__ import annotations

import pytest

from phis.apps.notifiable import services
from phis.apps.notifiable.models import CardAction, ReportCard
from phis.apps.notifiable.tests.conftest import card_input
from phis.core.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def signing_reviewer(card_env):
    from phis.apps.esign.services import ca_ensure, certificate_issue

    ca_ensure()
    certificate_issue(by=None, profile="sm2", pin="135790", user=card_env.reviewer)
    return card_env.reviewer


def test_required_signature_needs_pin_and_verifies(card_env, signing_reviewer, settings):
    from phis.apps.esign.selectors import signature_get
    from phis.apps.esign.services import signature_verify

    settings.PHIS_NOTIFIABLE_REVIEW_SIGNATURE = "required"
    card = services.card_create(user=card_env.clinician, data=card_input())
    with pytest.raises(ValidationFailed) as exc:
        services.card_review(user=signing_reviewer, card_id=card.pk, version=card.version)
    assert exc.value.errors[0].field == "pin"
    card = services.card_review(user=signing_reviewer, card_id=card.pk, version=card.version,
                                pin="135790")
    sig = signature_get(user=signing_reviewer, public_id=card.review_signature_id)
    assert sig.step == "notifiable.review" and sig.subject_id == str(card.pk)
    assert card.events.filter(action=CardAction.SIGN).exists()
    assert signature_verify(signature=sig, audit=False).valid
    # Changing the signed card afterwards makes verification fail (payload builder).
    ReportCard.objects.filter(pk=card.pk).update(patient_name="改过的名字")
    assert not signature_verify(signature=sig, audit=False).valid


def test_optional_signature_without_pin(card_env, settings):
    settings.PHIS_NOTIFIABLE_REVIEW_SIGNATURE = "optional"
    card = services.card_create(user=card_env.clinician, data=card_input())
    card = services.card_review(user=card_env.reviewer, card_id=card.pk, version=card.version)
    assert card.review_signature_id == ""
