"""Card services: create/submit/review/return/revise/delete/restore, idempotency, history,
events, deadlines and scoping."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from django.utils import timezone

from phis.apps.notifiable import services
from phis.apps.notifiable.models import (
    CardAction,
    CardStatus,
    CardType,
    ReportCard,
    SubmissionKey,
    SuspectedOutcome,
)
from phis.apps.notifiable.tests.conftest import aware, card_input, resident_id
from phis.core.events.models import OutboxEvent
from phis.core.exceptions import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from phis.core.workflow.models import WorkflowInstance

pytestmark = pytest.mark.django_db


def _events(card_id):
    return [e.payload for e in OutboxEvent.objects.filter(
        topic="notifiable.card.changed", aggregate_id=str(card_id)).order_by("pk")]


def test_create_submits_links_person_and_starts_review(card_env):
    card = services.card_create(user=card_env.clinician, data=card_input())
    card.refresh_from_db()
    assert card.status == CardStatus.SUBMITTED
    assert card.card_number.startswith("F370502H1" + f"{timezone.localdate():%Y%m%d}")
    assert card.person is not None and card.person.name == "张三"
    assert card.id_number_masked.startswith("370502") and "*" in card.id_number_masked
    assert bytes(card.id_number_encrypted) and card.id_number_index
    assert card.residence_category == "1"  # same county as the hospital: derived
    assert (card.county_code, card.township_code) == ("370502", "370502001")
    assert card.deadline_hours == 24 and card.disease_class == "C"
    assert card.report_due_at == card.diagnosis_at + timedelta(hours=24)
    assert card.reported_late is False
    assert card.review_due_at == card.reported_at + timedelta(hours=24)
    item = WorkflowInstance.objects.get(definition="notifiable.report_review",
                                        subject_id=str(card.pk))
    assert item.owner_unit.code == "F370502CDC" and item.state == "submitted"
    assert item.due_at == card.review_due_at
    assert [e.action for e in card.events.all()] == [CardAction.CREATE, CardAction.SUBMIT]
    (payload,) = _events(card.pk)
    assert payload["action"] == "submit" and payload["counted"] is True
    assert payload["township_code"] == "370502001" and payload["previous"] is None


def test_same_person_twice_is_one_person(card_env):
    a = services.card_create(user=card_env.clinician, data=card_input())
    b = services.card_create(user=card_env.clinician_gr, data=card_input(
        disease_code="mumps", reporting_unit_code="F370523H1"))
    assert a.person_id == b.person_id
    b.refresh_from_db()
    assert b.residence_category == "2"  # lives in another county of the city


def test_draft_then_update_then_submit(card_env):
    draft = services.card_create(user=card_env.clinician, data=card_input(
        case_classification="", occupation=""), submit=False)
    assert draft.status == CardStatus.DRAFT
    assert not _events(draft.pk)  # a draft moves no count
    with pytest.raises(ValidationFailed) as exc:
        services.card_submit(user=card_env.clinician, card_id=draft.pk, version=draft.version)
    assert {e.field for e in exc.value.errors} == {"case_classification", "occupation"}
    card = services.card_update(user=card_env.clinician, card_id=draft.pk,
                                version=draft.version, data=card_input(), submit=True)
    assert card.status == CardStatus.SUBMITTED and card.version == 3


def test_idempotency_key(card_env):
    data = card_input()
    first = services.card_create(user=card_env.clinician, data=data, idempotency_key="k-1")
    again = services.card_create(user=card_env.clinician, data=copy.deepcopy(data),
                                 idempotency_key="k-1")
    assert again.pk == first.pk and again.replayed is True
    assert ReportCard.objects.count() == 1 and SubmissionKey.objects.count() == 1
    with pytest.raises(Conflict) as exc:
        services.card_create(user=card_env.clinician, data=card_input(patient_name="李四"),
                             idempotency_key="k-1")
    assert exc.value.code == "idempotency_key_reused" and exc.value.status == 409
    assert ReportCard.objects.count() == 1


def test_review_and_concurrent_version(card_env):
    card = services.card_create(user=card_env.clinician, data=card_input())
    version = card.version
    reviewed = services.card_review(user=card_env.reviewer, card_id=card.pk, version=version)
    assert reviewed.status == CardStatus.REVIEWED and reviewed.reviewed_by == card_env.reviewer
    assert reviewed.reviewed_late is False
    with pytest.raises(Conflict) as exc:
        services.card_review(user=card_env.reviewer2, card_id=card.pk, version=version)
    assert exc.value.message == "该报告卡已被他人处理，请刷新后重试"
    item = WorkflowInstance.objects.get(subject_id=str(card.pk))
    assert item.state == "reviewed" and not item.is_open
    payload = _events(card.pk)[-1]
    assert payload["action"] == "review" and payload["review_date"] == str(timezone.localdate())
    assert payload["previous"]["review_date"] is None


def test_clinician_cannot_review_and_other_county_cannot_see(card_env):
    card = services.card_create(user=card_env.clinician, data=card_input())
    with pytest.raises(PermissionDenied):
        services.card_review(user=card_env.clinician, card_id=card.pk, version=card.version)
    with pytest.raises(ApplicationError) as exc:
        services.card_review(user=card_env.reviewer_gr, card_id=card.pk, version=card.version)
    assert exc.value.status == 404


def test_return_and_resubmit(card_env):
    card = services.card_create(user=card_env.clinician, data=card_input())
    with pytest.raises(ValidationFailed):
        services.card_return(user=card_env.reviewer, card_id=card.pk, version=card.version,
                             reason="")
    card = services.card_return(user=card_env.reviewer, card_id=card.pk, version=card.version,
                                reason="职业与工作单位不符")
    assert card.status == CardStatus.RETURNED and card.return_reason == "职业与工作单位不符"
    card = services.card_update(user=card_env.clinician, card_id=card.pk, version=card.version,
                                data=card_input(occupation="14"), submit=True)
    assert card.status == CardStatus.SUBMITTED and card.occupation == "14"
    items = WorkflowInstance.objects.filter(subject_id=str(card.pk)).order_by("pk")
    assert [i.state for i in items] == ["returned", "submitted"]
    assert [e.action for e in card.events.all()][-2:] == ["save_draft", "resubmit"]


def test_revise_changes_disease_and_keeps_history(card_env):
    card = services.card_create(user=card_env.clinician, data=card_input(
        disease_code="measles", case_classification="1"))
    assert card.suspected_due_at is not None
    card = services.card_review(user=card_env.reviewer, card_id=card.pk, version=card.version)
    new_diag = card.diagnosis_at + timedelta(hours=20)
    card = services.card_revise(
        user=card_env.clinician, card_id=card.pk, version=card.version,
        data=card_input(disease_code="rubella", case_classification="3",
                        diagnosis_at=min(new_diag, timezone.now())),
        reason="实验室检测风疹IgM阳性")
    card.refresh_from_db()
    assert card.card_type == CardType.CORRECTED
    assert card.original_disease_code == "measles" and card.disease_code == "rubella"
    assert card.suspected_outcome == SuspectedOutcome.CONFIRMED
    assert card.status == CardStatus.SUBMITTED  # a correction is reviewed again
    revise = card.events.get(action=CardAction.REVISE)
    assert revise.changes["disease_code"] == ["measles", "rubella"]
    assert revise.reason == "实验室检测风疹IgM阳性"
    payload = _events(card.pk)[-1]
    assert payload["disease_code"] == "rubella"
    assert payload["previous"]["disease_code"] == "measles"
    assert WorkflowInstance.objects.filter(subject_id=str(card.pk), is_open=True).count() == 1


def test_delete_duplicate_and_restore_rules(card_env):
    kept = services.card_create(user=card_env.clinician, data=card_input())
    dup = services.card_create(user=card_env.clinician, data=card_input(
        doctor_name="王医生"))
    assert dup.duplicate_candidates == [kept.pk]
    with pytest.raises(ValidationFailed) as exc:
        services.card_delete(user=card_env.reviewer, card_id=dup.pk, version=dup.version,
                             reason="重卡", reason_code="duplicate")
    assert exc.value.errors[0].field == "duplicate_of_id"
    deleted = services.card_delete(user=card_env.reviewer, card_id=dup.pk,
                                   version=dup.version, reason="重卡",
                                   duplicate_of_id=kept.pk)
    assert deleted.status == CardStatus.DELETED and deleted.duplicate_of_id == kept.pk
    assert deleted.deleted_after_review is False
    with pytest.raises(Conflict) as exc:  # deleted before review: cannot come back (§2.4)
        services.card_restore(user=card_env.reviewer, card_id=dup.pk,
                              version=deleted.version, reason="误删")
    assert exc.value.code == "not_restorable"
    kept = services.card_review(user=card_env.reviewer, card_id=kept.pk, version=kept.version)
    kept = services.card_delete(user=card_env.reviewer, card_id=kept.pk, version=kept.version,
                                reason="误诊", reason_code="misreport")
    assert kept.deleted_after_review is True
    kept = services.card_restore(user=card_env.reviewer, card_id=kept.pk,
                                 version=kept.version, reason="核实后恢复")
    assert kept.status == CardStatus.REVIEWED
    assert [e.action for e in kept.events.all()] == [
        "create", "submit", "review", "delete", "restore"]
    actions = [p["action"] for p in _events(kept.pk)]
    assert actions == ["submit", "review", "delete", "restore"]
    assert _events(kept.pk)[2]["counted"] is False


def test_suspected_excluded_by_deletion_and_overdue_selector(card_env):
    from phis.apps.notifiable.selectors import suspected_overdue_counts, suspected_overdue_for

    now = timezone.now()
    card = services.card_create(user=card_env.clinician, data=card_input(
        case_classification="1"), now=now)
    assert card.suspected_due_at == card.diagnosis_at + timedelta(days=7)
    later = now + timedelta(days=8)
    assert list(suspected_overdue_for(user=card_env.reviewer, now=later)) == [card]
    assert list(suspected_overdue_for(user=card_env.reviewer_gr, now=later)) == []
    assert suspected_overdue_counts(user=card_env.reviewer, now=later)[0]["count"] == 1
    assert suspected_overdue_counts(user=card_env.city, by="county", now=later) == [
        {"county_code": "370502", "count": 1}]
    card = services.card_delete(user=card_env.reviewer, card_id=card.pk, version=card.version,
                                reason="排除诊断", reason_code="excluded")
    assert card.suspected_outcome == SuspectedOutcome.EXCLUDED
    assert list(suspected_overdue_for(user=card_env.reviewer, now=later)) == []


def test_lab_result_attached(card_env):
    card = services.card_create(user=card_env.clinician, data=card_input(
        case_classification="1"))
    with pytest.raises(ValidationFailed) as exc:
        services.card_attach_lab_result(user=card_env.clinician, card_id=card.pk,
                                        data=services.LabResultInput(
                                            test_name="流感病毒核酸", result="阴性",
                                            interpretation="negative",
                                            resulted_at=timezone.now(), confirms=True))
    assert exc.value.errors[0].field == "confirms"
    lab = services.card_attach_lab_result(
        user=card_env.clinician, card_id=card.pk, data=services.LabResultInput(
            test_name="甲型流感病毒核酸", result="阳性", interpretation="positive",
            resulted_at=timezone.now(), confirms=True, loinc_code="94500-6"))
    assert lab.confirms and card.events.filter(action=CardAction.LAB_RESULT).exists()
    with pytest.raises(ApplicationError) as exc:
        services.card_attach_lab_result(user=card_env.clinician_gr, card_id=card.pk,
                                        data=services.LabResultInput())
    assert exc.value.status == 404


def test_class_a_two_hours_and_alert(card_env):
    from phis.core.notify.models import Notification

    diag = timezone.now() - timedelta(hours=3)
    card = services.card_create(user=card_env.clinician, data=card_input(
        disease_code="cholera", case_classification="3", diagnosis_at=diag))
    assert card.deadline_hours == 2 and card.reported_late is True
    assert card.review_due_at == card.reported_at + timedelta(hours=2)
    notified = set(Notification.objects.filter(title__contains=card.card_number)
                   .values_list("recipient__username", flat=True))
    assert notified == {"rev.dy", "rev.dy2"}


def test_covid_managed_as_class_a_only_in_its_period(card_env):
    # 乙类甲管 2020-01-20 … 2023-01-07 (surveillance.md §1.3): 2 h; afterwards 24 h.
    early = services.card_create(user=card_env.clinician, data=card_input(
        disease_code="covid-19", case_classification="3", onset_date=date(2022, 12, 1),
        diagnosis_at=aware(2022, 12, 2, 9, 0), filled_date=date(2022, 12, 2)))
    late = services.card_create(user=card_env.clinician, data=card_input(
        disease_code="covid-19", case_classification="3", onset_date=date(2023, 3, 1),
        diagnosis_at=aware(2023, 3, 2, 9, 0), filled_date=date(2023, 3, 2),
        patient_name="王五", id_number=resident_id(date(1990, 1, 1), seq=77)))
    assert early.deadline_hours == 2 and late.deadline_hours == 24
    assert early.report_due_at == aware(2022, 12, 2, 11, 0)
    with pytest.raises(ValidationFailed) as exc:  # not yet on the list in 2019
        services.card_create(user=card_env.clinician, data=card_input(
            disease_code="covid-19", onset_date=date(2019, 12, 1),
            diagnosis_at=aware(2019, 12, 2, 9, 0), filled_date=date(2019, 12, 2)))
    assert exc.value.errors[0].code == "not_listed_on_date"


def test_scoping_of_selectors(card_env):
    from phis.apps.notifiable.selectors import CardFilter, card_list, card_visible_for

    dy = services.card_create(user=card_env.clinician, data=card_input())
    gr = services.card_create(user=card_env.clinician_gr, data=card_input(
        reporting_unit_code="F370523H1", address_code="370523001001",
        patient_name="李四", id_number=resident_id(date(1975, 2, 2), area="370523")))
    draft = services.card_create(user=card_env.clinician_gr, data=card_input(
        reporting_unit_code="F370523H1", patient_name="赵六",
        id_number=resident_id(date(1985, 2, 2), seq=55)), submit=False)
    assert set(card_visible_for(user=card_env.reviewer)) == {dy}  # no drafts of others
    assert set(card_visible_for(user=card_env.reviewer_gr)) == {gr, draft}
    assert set(card_visible_for(user=card_env.city)) == {dy, gr, draft}
    assert set(card_visible_for(user=card_env.clinician)) == {dy}
    assert list(card_list(user=card_env.city, filters=CardFilter(county_code="370523"))) == [gr]
    assert list(card_list(user=card_env.city, filters=CardFilter(text="李四"))) == [gr]
    with pytest.raises(ApplicationError):
        services.card_return(user=card_env.reviewer_gr, card_id=dy.pk, version=dy.version,
                             reason="越权退卡")


def test_batch_cards_completed_after_commit_and_reviewable_before(card_env):
    rows = [card_input(patient_name=f"批{i}", id_number=resident_id(date(1990, 1, 1 + i),
                                                                    seq=i)) for i in range(3)]
    report = services.cards_import(user=card_env.clerk, rows=rows)
    assert report.created == 3
    ids = [r.card_id for r in report.rows]
    first = ReportCard.objects.get(pk=ids[0])
    assert first.person_id is None and first.status == CardStatus.SUBMITTED
    # A reviewer may act before the follow-up ran: the review item is made on the spot.
    reviewed = services.card_review(user=card_env.reviewer, card_id=first.pk,
                                    version=first.version)
    assert WorkflowInstance.objects.get(subject_id=str(first.pk)).state == "reviewed"
    assert services.cards_complete_intake(card_ids=ids) == 3
    assert not ReportCard.objects.filter(pk__in=ids, person__isnull=True).exists()
    assert WorkflowInstance.objects.filter(subject_id__in=[str(i) for i in ids]).count() == 3
    assert reviewed.status == CardStatus.REVIEWED
