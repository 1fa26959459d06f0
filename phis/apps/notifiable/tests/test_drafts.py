"""Drafts may be saved with most of the card still empty (the pages' Ctrl+S)."""

import pytest

from phis.apps.notifiable import services
from phis.apps.notifiable.models import CardStatus
from phis.apps.notifiable.tests.conftest import card_input
from phis.core.exceptions import ValidationFailed

pytestmark = pytest.mark.django_db


def test_a_draft_without_onset_date_is_kept_and_cannot_be_reported(card_env):
    card = services.card_create(user=card_env.clinician, data=card_input(
        onset_date=None, occupation="", id_number="", birth_date=None), submit=False)
    card.refresh_from_db()
    assert card.status == CardStatus.DRAFT and card.onset_date is None
    with pytest.raises(ValidationFailed) as exc:
        services.card_submit(user=card_env.clinician, card_id=card.pk, version=card.version)
    assert "onset_date" in {e.field for e in exc.value.errors}
