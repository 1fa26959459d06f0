"""The batch path (cards_import / POST /batch): stored rows equal what the one-card path
stores (on PostgreSQL the rows go in through COPY, elsewhere through bulk_create), with
their history, audit row and events; the follow-up links persons and opens review items
owned by the right county CDC."""

from __future__ import annotations

from datetime import date

import pytest

from phis.apps.notifiable import services
from phis.apps.notifiable.models import CardAction, CardEvent, CardStatus, ReportCard
from phis.apps.notifiable.rules import REVIEW_WORKFLOW_NAME
from phis.apps.notifiable.tests.conftest import card_input, resident_id

pytestmark = pytest.mark.django_db

# Fields that legitimately differ between two stored cards of the same content (the
# one-card path saves a draft and then submits it: version 2; a batch card is stored
# submitted: version 1).
_PER_CARD = {"id", "card_number", "created_at", "updated_at", "reported_at", "report_due_at",
             "review_due_at", "reported_late", "source", "id_number_encrypted",
             "phone_encrypted", "address_text_encrypted", "person", "duplicate_candidates",
             "version"}


def _row(card: ReportCard) -> dict:
    return {f.attname: getattr(card, f.attname) for f in ReportCard._meta.concrete_fields
            if f.name not in _PER_CARD}


def test_batch_rows_equal_the_single_card_path(card_env):
    data = card_input(extra={"travel": "上海", "n": 3}, remarks="批量")
    single = services.card_create(user=card_env.clinician, data=data, source="api")
    report = services.cards_import(user=card_env.clinician, rows=[data], source="api")
    assert report.created == 1, report.as_dict()
    batch = ReportCard.objects.get(pk=report.rows[0].card_id)
    single.refresh_from_db()
    assert _row(batch) == _row(single)
    assert batch.card_number != single.card_number and batch.status == CardStatus.SUBMITTED
    # the same patient and disease within the episode: flagged as a duplicate of the first
    assert batch.duplicate_candidates == [single.pk]
    assert report.rows[0].duplicates == [single.pk]
    # identifiers encrypted (each encryption differs) but decrypt to the same values
    assert services.card_to_input(batch).id_number == services.card_to_input(single).id_number
    assert services.card_to_input(batch).phone == data.phone
    assert services.card_to_input(batch).address_text == data.address_text
    assert batch.created_at is not None and batch.updated_at is not None


def test_batch_history_audit_and_events(card_env):
    from phis.core.audit.models import AuditLog
    from phis.core.events.models import OutboxEvent

    birth = date(1990, 3, 4)
    rows = [card_input(id_number=resident_id(birth, seq=i * 2 + 1), birth_date=None,
                       patient_name=f"病人{i}") for i in range(7)]
    report = services.cards_import(user=card_env.clinician, rows=rows, source="api")
    assert report.created == 7
    ids = [r.card_id for r in report.rows]
    assert len(set(ids)) == 7 and ReportCard.objects.filter(pk__in=ids).count() == 7
    history = CardEvent.objects.filter(card_id__in=ids)
    assert history.filter(action=CardAction.CREATE).count() == 7
    assert history.filter(action=CardAction.SUBMIT, to_status=CardStatus.SUBMITTED).count() == 7
    audit = AuditLog.objects.filter(object_type=services.AUDIT_OBJECT,
                                    detail__batch="api").latest("pk")
    assert sorted(c[0] for c in audit.detail["cards"]) == sorted(ids)
    changed = OutboxEvent.objects.filter(topic=services.TOPIC_CHANGED,
                                         aggregate_id__in=[str(i) for i in ids])
    assert changed.count() == 7
    assert all(e.payload["counted"] and e.payload["previous"] is None for e in changed)


def test_follow_up_links_persons_and_opens_review_items_per_county(card_env):
    from phis.core.workflow.models import WorkflowInstance

    birth = date(1975, 1, 2)
    rows = [card_input(id_number=resident_id(birth, seq=11), birth_date=None),
            card_input(id_number=resident_id(birth, area="370523", seq=13), birth_date=None,
                       patient_name="李四", address_code="370523001001"),
            card_input(id_number=resident_id(birth, seq=15), birth_date=None,
                       patient_name="王五")]
    report = services.cards_import(user=card_env.clinician, rows=rows, source="api")
    ids = [r.card_id for r in report.rows]
    assert services.cards_complete_intake(card_ids=ids) == 3
    assert services.cards_complete_intake(card_ids=ids) == 0  # idempotent
    cards = {c.pk: c for c in ReportCard.objects.filter(pk__in=ids)}
    assert all(c.person_id for c in cards.values())
    items = {int(i.subject_id): i for i in WorkflowInstance.objects.filter(
        definition=REVIEW_WORKFLOW_NAME, subject_id__in=[str(i) for i in ids])}
    assert set(items) == set(ids)
    owners = {pk: items[pk].owner_unit.code for pk in ids}
    assert owners[ids[0]] == owners[ids[2]] == "F370502CDC"
    assert owners[ids[1]] == "F370523CDC"  # the patient's county, not the hospital's
