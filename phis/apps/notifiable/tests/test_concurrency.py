"""Two reviewers approve one card at the same moment: exactly one decision, the other a
409 (real threads and connections; PostgreSQL row locks, SQLite's single writer)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from phis.apps.notifiable import services
from phis.apps.notifiable.models import CardAction, CardStatus
from phis.apps.notifiable.tests.conftest import card_input
from phis.core.exceptions import ApplicationError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL")
def test_two_reviewers_one_decision(card_env):
    card = services.card_create(user=card_env.clinician, data=card_input())
    barrier = threading.Barrier(2)
    outcomes: list = []

    def review(user):
        try:
            barrier.wait(timeout=10)
            services.card_review(user=user, card_id=card.pk, version=card.version)
            outcomes.append("ok")
        except ApplicationError as exc:
            outcomes.append(exc.status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=review, args=(u,))
               for u in (card_env.reviewer, card_env.reviewer2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes, key=str) == [409, "ok"]
    card.refresh_from_db()
    assert card.status == CardStatus.REVIEWED
    assert card.events.filter(action=CardAction.REVIEW).count() == 1
    assert connection.vendor == "postgresql"
