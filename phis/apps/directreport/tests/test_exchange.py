"""Outbound export with batching, delivery, retry and acknowledgements; inbound import with
idempotency; reconciliation counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from phis.apps.directreport import adapters, selectors, services
from phis.apps.directreport.models import (
    BatchState,
    ExternalCard,
    InboundBatch,
    OutboundBatch,
    OutboundRecord,
    OutboundState,
)
from phis.apps.directreport.tests.conftest import card_input, drain, resident_id
from phis.apps.notifiable import services as card_services
from phis.apps.notifiable.selectors import card_list
from phis.interop import nidrs


def _ack(batch: OutboundBatch, results: dict[str, tuple[str, str]], *, key=None,
         batch_result: str = "accepted", code: str = "") -> bytes:
    """The partner's acknowledgement: ``{record_id: (result, code)}``."""
    parsed = nidrs.parse_batch(bytes(batch.content))
    records = [nidrs.AckRecord(record_id=r.record_id, version=r.version,
                               result=results.get(r.record_id, ("accepted", ""))[0],
                               code=results.get(r.record_id, ("accepted", ""))[1],
                               reason="身份证号校验位错误" if results.get(
                                   r.record_id, ("", ""))[0] == "rejected" else "",
                               reason_en="ID check digit wrong" if results.get(
                                   r.record_id, ("", ""))[0] == "rejected" else "",
                               line=line, receiver_ref=f"N-{r.record_id}")
               for r, line in zip(parsed.records, parsed.lines, strict=True)]
    if batch_result == "rejected":
        records = []
    _, data = nidrs.serialise_batch(
        kind=nidrs.KIND_ACK, sender="100000", receiver="370500", batch_id=f"A{batch.pk}",
        created_at=timezone.localtime(), records=records, ack_of=batch.batch_id,
        batch_result=batch_result, batch_code=code, batch_reason="摘要不符" if code else "",
        mac_key=key)
    return data


def test_only_reviewed_cards_are_queued_and_the_file_carries_every_field(env):
    reviewed = env.reported("370502")
    env.reported("370523", review=False)  # submitted, not reviewed: stays home
    drain()
    records = list(OutboundRecord.objects.all())
    assert [(r.card_id, r.version, r.operation) for r in records] == [
        (reviewed.pk, reviewed.version, "add")]
    assert records[0].county_code == "370502"

    batches = services.outbound_build_batches()
    assert len(batches) == 1
    report = services.outbound_deliver_due()
    assert report.delivered == 1
    files = list(env.outbox.iterdir())
    assert [f.name for f in files] == [batches[0].file_name]
    parsed = nidrs.parse_batch(files[0].read_bytes())
    assert parsed.header.sender == "370500" and parsed.header.receiver == "100000"
    card = parsed.records[0].card
    clear = card_services.card_to_input(reviewed)
    assert card.id_number == clear.id_number and len(card.id_number) == 18
    assert card.phone == "13812345678"
    assert card.address_code == "370502001011" and card.disease_code == "influenza"
    assert card.status == "reviewed" and card.reviewed_at is not None
    assert parsed.records[0].record_id == reviewed.card_number
    # the stored copy is encrypted at rest
    row = OutboundRecord.objects.get()
    assert clear.id_number.encode() not in bytes(row.payload_encrypted)
    assert clear.id_number.encode() not in bytes(batches[0].content_encrypted)
    assert row.state == OutboundState.SENT and row.send_count == 1


def test_queueing_is_idempotent_per_version(env):
    card = env.reported()
    drain()
    services.outbound_card_changed(card_id=card.pk)
    services.outbound_card_changed(card_id=card.pk)
    assert OutboundRecord.objects.count() == 1


def test_ack_marks_records_and_is_idempotent(env):
    a, b = env.reported(), env.reported("370523")
    drain()
    services.outbound_build_batches()
    services.outbound_deliver_due()
    batch = OutboundBatch.objects.get()
    assert batch.record_count == 2
    data = _ack(batch, {b.card_number: ("rejected", "id_invalid")})
    report = services.ack_process(content=data)
    assert report.applied == 2 and report.unknown == []
    ok = OutboundRecord.objects.get(card=a)
    bad = OutboundRecord.objects.get(card=b)
    assert ok.state == OutboundState.ACKNOWLEDGED and ok.receiver_ref == f"N-{a.card_number}"
    assert bad.state == OutboundState.REJECTED and bad.ack_code == "id_invalid"
    assert bad.ack_reason == "身份证号校验位错误"
    again = services.ack_process(content=data)
    assert again.applied == 2
    assert OutboundRecord.objects.get(card=b).state == OutboundState.REJECTED
    assert OutboundBatch.objects.get().state == BatchState.ACKNOWLEDGED


def test_tampered_ack_is_refused(env):
    env.reported()
    drain()
    services.outbound_build_batches()
    services.outbound_deliver_due()
    data = _ack(OutboundBatch.objects.get(), {})
    tampered = data.replace(b'"accepted","version"', b'"rejected","version"')
    assert tampered != data
    with pytest.raises(services.ValidationFailed) as exc:
        services.ack_process(content=tampered)
    assert exc.value.errors[0].code == "digest_mismatch"
    assert OutboundRecord.objects.get().state == OutboundState.SENT


def test_failing_adapter_backs_off_and_loses_nothing(env, monkeypatch):
    cards = [env.reported() for _ in range(3)]
    drain()
    real = adapters.deliver
    calls = []

    def broken(channel, **kwargs):
        calls.append(kwargs["batch_id"])
        raise adapters.DeliveryError("connection refused")

    monkeypatch.setattr(adapters, "deliver", broken)
    now = timezone.now()
    services.outbound_build_batches(now=now)
    report = services.outbound_deliver_due(now=now)
    batch = OutboundBatch.objects.get()
    assert report.failed == 1 and batch.state == BatchState.FAILED
    assert batch.last_error == "connection refused"
    assert batch.next_attempt_at == now + timedelta(seconds=60)
    # not due yet: no attempt
    assert services.outbound_deliver_due(now=now + timedelta(seconds=30)).failed == 0
    services.outbound_deliver_due(now=now + timedelta(seconds=61))
    batch.refresh_from_db()
    assert batch.attempts == 2
    assert batch.next_attempt_at == now + timedelta(seconds=61 + 120)  # doubled
    assert list(selectors.outbound_failing()) == [batch]
    assert OutboundRecord.objects.filter(state=OutboundState.PENDING).count() == 3

    monkeypatch.setattr(adapters, "deliver", real)
    assert services.outbound_deliver_due(now=now + timedelta(seconds=200)).delivered == 1
    batch.refresh_from_db()
    assert batch.state == BatchState.DELIVERED and batch.attempts == 3
    parsed = nidrs.parse_batch((env.outbox / batch.file_name).read_bytes())
    assert sorted(r.record_id for r in parsed.records) == sorted(c.card_number for c in cards)
    assert set(OutboundRecord.objects.values_list("state", flat=True)) == {"sent"}


def test_missing_ack_triggers_identical_redelivery(env):
    env.reported()
    drain()
    now = timezone.now()
    services.outbound_build_batches(now=now)
    services.outbound_deliver_due(now=now)
    batch = OutboundBatch.objects.get()
    first = (env.outbox / batch.file_name).read_bytes()
    (env.outbox / batch.file_name).unlink()  # the partner lost it
    assert services.outbound_redeliver_unacknowledged(now=now + timedelta(hours=1)) == 0
    assert services.outbound_redeliver_unacknowledged(now=now + timedelta(hours=25)) == 1
    assert (env.outbox / batch.file_name).read_bytes() == first
    record = OutboundRecord.objects.get()
    assert record.send_count == 2
    batch.refresh_from_db()
    assert batch.redeliveries == 1


def test_revision_and_deletion_of_a_sent_card_are_exported(env):
    card = env.reported()
    drain()
    services.outbound_build_batches()
    services.outbound_deliver_due()
    revised = card_services.card_revise(
        user=env.clinician, card_id=card.pk, version=card.version,
        data=card_input(id_number=card_services.card_to_input(card).id_number,
                        case_classification="3"), reason="实验室确诊")
    drain()
    update = OutboundRecord.objects.get(card=card, version=revised.version)
    assert update.operation == "update" and update.payload["card"]["case_classification"] == "3"
    assert update.payload["card"]["card_type"] == "2"
    deleted = card_services.card_delete(user=env.reviewer, card_id=card.pk,
                                        version=revised.version, reason="误报")
    drain()
    deletion = OutboundRecord.objects.get(card=card, version=deleted.version)
    assert deletion.operation == "delete" and deletion.payload["reason"] == "误报"
    # the update still waiting for a batch is superseded by the deletion
    assert OutboundRecord.objects.get(pk=update.pk).state == OutboundState.SUPERSEDED
    services.outbound_build_batches()
    services.outbound_deliver_due()
    newest = OutboundBatch.objects.order_by("-pk").first()
    ops = [r.operation for r in nidrs.parse_batch(bytes(newest.content)).records]
    assert ops == ["delete"]


def test_deleting_a_never_sent_card_sends_nothing(env):
    card = env.reported(review=False)
    card_services.card_delete(user=env.reviewer, card_id=card.pk, version=card.version,
                              reason="误报")
    drain()
    assert not OutboundRecord.objects.exists()


def test_rejected_batch_is_resent_in_a_new_batch(env):
    env.reported()
    drain()
    services.outbound_build_batches()
    services.outbound_deliver_due()
    first = OutboundBatch.objects.get()
    services.ack_process(content=_ack(first, {}, batch_result="rejected",
                                      code="digest_mismatch"))
    first.refresh_from_db()
    assert first.state == BatchState.REJECTED and first.batch_code == "digest_mismatch"
    record = OutboundRecord.objects.get()
    assert record.state == OutboundState.PENDING and record.batch is None
    services.outbound_build_batches()
    services.outbound_deliver_due()
    record.refresh_from_db()
    assert record.batch_id != first.pk and record.send_count == 2
    assert record.state == OutboundState.SENT


def test_mac_key_signs_our_batches(env, settings):
    settings.PHIS_DIRECTREPORT["channels"]["nidrs"]["mac_key"] = "00112233445566778899"
    env.reported()
    drain()
    services.outbound_build_batches()
    services.outbound_deliver_due()
    batch = OutboundBatch.objects.get()
    parsed = nidrs.parse_batch(bytes(batch.content), mac_key=bytes.fromhex(
        "00112233445566778899"))
    assert parsed.header.mac
    with pytest.raises(services.ValidationFailed):  # an ack without the MAC is refused
        services.ack_process(content=_ack(batch, {}), channel_code="nidrs")
    assert services.ack_process(content=_ack(batch, {}, key=bytes.fromhex(
        "00112233445566778899")), channel_code="nidrs").applied == 1


def test_exchanged_cards_are_not_echoed_back(env):
    data = _inbound_batch([_external_record("X1", 1)])
    batch = services.inbound_import(user=env.city, content=data)
    drain()
    assert batch.accepted_count == 1
    card = ExternalCard.objects.get().card
    card_services.card_review(user=env.reviewer_gr, card_id=card.pk, version=card.version)
    drain()
    assert not OutboundRecord.objects.exists()


# --- inbound ---------------------------------------------------------------------------

def _external_record(record_id: str, version: int, *, op: str = "add", **card_overrides
                     ) -> nidrs.CardRecord:
    base = card_input(county="370523", seq=555)
    fields = nidrs.CardFields(
        card_number=record_id, card_type="1", status="reviewed", patient_name="王五",
        id_type="01", id_number=base.id_number, sex=1, birth_date=None,
        address_code="370523001001", address_text="广饶街道", occupation="09",
        phone="13900000000", disease_code="influenza", case_classification="2",
        onset_date=base.onset_date, diagnosis_at=timezone.localtime(base.diagnosis_at),
        reporting_unit_code="H3701020001", reporting_unit_name="济南市某医院",
        doctor_name="赵医生", filled_date=timezone.localdate(), residence_category="2")
    if card_overrides:
        from dataclasses import replace

        fields = replace(fields, **card_overrides)
    return nidrs.CardRecord(record_id=record_id, version=version, operation=op, card=fields,
                            reason="")


def _inbound_batch(records, batch_id: str = "IN-1") -> bytes:
    _, data = nidrs.serialise_batch(kind=nidrs.KIND_CARDS, sender="100000",
                                    receiver="370500", batch_id=batch_id,
                                    created_at=timezone.localtime(), records=records)
    return data


def test_inbound_import_is_idempotent_and_acknowledged(env):
    data = _inbound_batch([_external_record("N1", 1),
                           _external_record("N2", 1, patient_name="", sex=7)])
    batch = services.inbound_import(user=env.city, content=data, file_name="CARDS.jsonl")
    assert (batch.accepted_count, batch.rejected_count) == (1, 1)
    link = ExternalCard.objects.get()
    card = link.card
    assert (card.source, card.source_system, card.external_id) == ("exchange", "100000", "N1")
    assert card.county_code == "370523" and card.reporting_unit.code == "F370523CDC"
    assert "济南市某医院" in card.remarks
    ack = nidrs.parse_batch(bytes(batch.ack_content))
    assert ack.header.kind == "ack" and ack.header.ack_of == "IN-1"
    results = {r.record_id: r for r in ack.records}
    assert results["N1"].result == "accepted" and results["N1"].receiver_ref == card.card_number
    assert results["N2"].result == "rejected"
    assert {e.field for e in results["N2"].errors} >= {"card.patient_name", "card.sex"}
    assert (env.outbox / batch.ack_file_name).exists()

    # the same file again: the same batch, nothing stored twice
    again = services.inbound_import(user=env.city, content=data)
    assert again.pk == batch.pk
    # the same card version in another batch: a duplicate
    other = services.inbound_import(user=env.city, content=_inbound_batch(
        [_external_record("N1", 1)], batch_id="IN-2"))
    assert other.duplicate_count == 1
    assert card_list(user=env.city).filter(external_id="N1").count() == 1


def test_inbound_later_version_revises_then_deletes(env):
    services.inbound_import(user=env.city, content=_inbound_batch(
        [_external_record("N7", 1)]))
    card = ExternalCard.objects.get().card
    services.inbound_import(user=env.city, content=_inbound_batch(
        [_external_record("N7", 3, op="update", case_classification="3")], batch_id="IN-2"))
    card.refresh_from_db()
    assert card.case_classification == "3" and card.card_type == "2"
    # an older version arriving late changes nothing
    late = services.inbound_import(user=env.city, content=_inbound_batch(
        [_external_record("N7", 2, op="update", case_classification="1")], batch_id="IN-3"))
    assert late.duplicate_count == 1
    card.refresh_from_db()
    assert card.case_classification == "3"
    gone = services.inbound_import(user=env.city, content=_inbound_batch(
        [nidrs.CardRecord(record_id="N7", version=4, operation="delete",
                          card=nidrs.CardFields(), reason="重卡")], batch_id="IN-4"))
    assert gone.accepted_count == 1
    card.refresh_from_db()
    assert card.status == "deleted"
    assert ExternalCard.objects.get().deleted


def test_tampered_inbound_batch_is_rejected_whole(env):
    data = _inbound_batch([_external_record("N9", 1)])
    tampered = data.replace("王五".encode(), "王六".encode())
    batch = services.inbound_import(user=env.city, content=tampered)
    assert batch.state == "rejected" and batch.batch_code == "digest_mismatch"
    assert not ExternalCard.objects.exists()
    ack = nidrs.parse_batch(bytes(batch.ack_content))
    assert ack.header.batch_result == "rejected" and ack.header.batch_code == "digest_mismatch"
    # the corrected file under the same batch id is then accepted
    assert services.inbound_import(user=env.city, content=data).accepted_count == 1


def test_batch_id_reused_for_other_content_is_rejected(env):
    services.inbound_import(user=env.city, content=_inbound_batch(
        [_external_record("N1", 1)]))
    other = services.inbound_import(user=env.city, content=_inbound_batch(
        [_external_record("N2", 1, id_number=resident_id(
            timezone.localdate().replace(year=1990), area="370523", seq=9))]))
    assert other.state == "rejected" and other.batch_code == "batch_id_reused"


def test_inbox_poll_reads_acks_and_card_batches(env):
    env.reported()
    drain()
    services.outbound_build_batches()
    services.outbound_deliver_due()
    batch = OutboundBatch.objects.get()
    env.inbox.mkdir(parents=True)
    (env.inbox / f"ACK_100000_370500_A{batch.pk}.jsonl").write_bytes(_ack(batch, {}))
    (env.inbox / "CARDS_100000_370500_IN-1.jsonl").write_bytes(
        _inbound_batch([_external_record("N1", 1)]))
    report = services.exchange_cycle()
    assert (report.acks, report.inbound) == (1, 1)
    assert OutboundRecord.objects.get().state == OutboundState.ACKNOWLEDGED
    assert InboundBatch.objects.get().accepted_count == 1
    assert sorted(p.name for p in (env.inbox / "processed").iterdir()) == [
        f"ACK_100000_370500_A{batch.pk}.jsonl", "CARDS_100000_370500_IN-1.jsonl"]


# --- reconciliation --------------------------------------------------------------------

def test_reconciliation_counts_per_county_and_scope(env):
    dy1, dy2, gr1 = env.reported(), env.reported(), env.reported("370523")
    drain()
    services.outbound_build_batches()
    services.outbound_deliver_due()
    batch = OutboundBatch.objects.get()
    services.ack_process(content=_ack(batch, {dy2.card_number: ("rejected", "id_invalid")}))
    env.reported()  # queued, not sent
    drain()
    services.outbound_redeliver_unacknowledged(now=timezone.now() + timedelta(days=2))
    today = timezone.localdate()
    report = selectors.reconciliation(user=env.city, date_from=today, date_to=today)
    rows = {r["county_code"]: r for r in report["rows"]}
    assert rows["370502"]["queued"] == 3 and rows["370502"]["sent"] == 2
    assert rows["370502"]["acknowledged"] == 1 and rows["370502"]["rejected"] == 1
    assert rows["370502"]["pending"] == 1
    assert rows["370523"]["acknowledged"] == 1 and rows["370523"]["queued"] == 1
    assert report["total"]["queued"] == 4 and report["total"]["resent"] == 0
    assert report["reasons"] == [{"ack_code": "id_invalid", "ack_reason": "身份证号校验位错误",
                                  "ack_reason_en": "ID check digit wrong", "count": 1}]
    county = selectors.reconciliation(user=env.reviewer_gr, date_from=today, date_to=today)
    assert [r["county_code"] for r in county["rows"]] == ["370523"]
    assert gr1.pk in set(selectors.outbound_records(user=env.reviewer_gr)
                         .values_list("card_id", flat=True))
    assert dy1.pk not in set(selectors.outbound_records(user=env.reviewer_gr)
                             .values_list("card_id", flat=True))
