"""Writes of the direct-report exchange (docs/modules/directreport.md §4–§5).

Outbound: ``outbound_card_changed`` (the ``notifiable.card.changed`` handler) queues one
``OutboundRecord`` per card version and channel; ``outbound_build_batches`` groups pending
records into immutable batch files; ``outbound_deliver_due`` hands them to the channel's
adapter, at least once, with exponential back-off; ``ack_process`` applies an
acknowledgement per record. ``outbound_redeliver_unacknowledged`` sends a batch again when
no acknowledgement came in time; the receiver de-duplicates by record id + version.

Inbound: ``inbound_import`` stores every card of a batch through
``notifiable.services.card_create(..., source="exchange")`` (or revises / deletes the card a
previous version created), one savepoint per record, and produces the acknowledgement.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from phis.apps.directreport import adapters
from phis.apps.directreport.conf import Channel, channels, enabled_channels, sender_code
from phis.apps.directreport.models import (
    BatchState,
    ExternalCard,
    InboundBatch,
    InboundRecord,
    InboundResult,
    InboundState,
    Operation,
    OutboundBatch,
    OutboundRecord,
    OutboundState,
)
from phis.apps.notifiable import selectors as card_selectors
from phis.apps.notifiable import services as card_services
from phis.apps.notifiable.inputs import CardInput
from phis.core.audit.services import audit_record
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import ApplicationError, FieldError, NotFound, ValidationFailed
from phis.core.orgunits.models import Level, OrgUnit
from phis.interop import nidrs

log = logging.getLogger(__name__)

EXCHANGE_SOURCE = "exchange"  # notifiable CardSource.EXCHANGE
DELETED = "deleted"
REVIEWED = "reviewed"
EXPORT_PURPOSE = "直报交换导出 direct-report export"
MAX_FILE_BYTES = 50 * 1024 * 1024


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _new_batch_id(prefix: str, now: datetime) -> str:
    """Sortable by time, unique without coordination: ``20260115T013000Z-1a2b3c4d``."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}{stamp}-{secrets.token_hex(4)}"


# --- the card as an exchange record --------------------------------------------------------

def _local(value: datetime | None) -> datetime | None:
    return timezone.localtime(value) if value is not None else None


def card_record(card, *, operation: str, reason: str = "") -> nidrs.CardRecord:
    """The card's current version in the layout, identifiers in clear (the batch goes over
    a secured channel to the authority entitled to them, surveillance.md §2.1)."""
    payload = card_selectors.card_payload(card)
    clear = card_services.card_to_input(card)  # decrypted; the batch export is audited
    duplicate_of = ""
    if card.duplicate_of_id:
        duplicate_of = card.duplicate_of.card_number
    fields = nidrs.CardFields(
        card_number=card.card_number, card_type=card.card_type, status=card.status,
        patient_name=card.patient_name, parent_name=card.parent_name, id_type=card.id_type,
        id_number=clear.id_number, sex=int(card.sex), birth_date=card.birth_date,
        age_value=card.age_value, age_unit=card.age_unit, work_unit=card.work_unit,
        phone=clear.phone, residence_category=card.residence_category,
        address_code=payload.get("address_code", ""),
        address_text=clear.address_text, occupation=card.occupation,
        occupation_other=card.occupation_other, disease_code=card.disease_code,
        subtype_code=card.subtype_code, icd10_code=card.icd10_code,
        disease_class=card.disease_class, other_disease_text=card.other_disease_text,
        original_disease_code=card.original_disease_code,
        case_classification=card.case_classification, acute_chronic=card.acute_chronic,
        onset_date=card.onset_date, diagnosis_at=_local(card.diagnosis_at),
        death_date=card.death_date, reporting_unit_code=card.reporting_unit.code,
        reporting_unit_name=card.reporting_unit.name, doctor_name=card.doctor_name,
        reporting_phone=card.reporting_phone, filled_date=card.filled_date,
        remarks=card.remarks, reported_at=_local(card.reported_at),
        reviewed_at=_local(card.reviewed_at), deleted_at=_local(card.deleted_at),
        delete_reason=card.delete_reason, duplicate_of=duplicate_of, extra=clear.extra)
    return nidrs.CardRecord(record_id=card.card_number, version=card.version,
                            operation=operation, card=fields, reason=reason)


# --- outbound: queue ---------------------------------------------------------------------

def _card_for_exchange(card_id: int):
    """The card by id, whatever its status (a system read: the exchange sends what the
    county reviewed, to the authority that receives every card)."""
    card = (card_selectors.counted_cards().filter(pk=card_id)
            .select_related("reporting_unit", "address_unit", "duplicate_of").first())
    if card is not None:
        return card
    sent = (OutboundRecord.objects.filter(card_id=card_id)
            .select_related("card", "card__reporting_unit", "card__address_unit",
                            "card__duplicate_of").first())
    return sent.card if sent is not None else None


def _operation_for(card, *, sent_before: bool) -> str | None:
    """Which record, if any, a change of the card produces on a channel:
    reviewed and never sent → add; sent before → update (or delete when deleted);
    not reviewed and never sent → nothing (only reviewed cards leave the city)."""
    if card.status == DELETED:
        return Operation.DELETE if sent_before else None
    if sent_before:
        return Operation.UPDATE
    return Operation.ADD if card.status == REVIEWED else None


def outbound_card_changed(*, card_id: int, reason: str = "") -> list[OutboundRecord]:
    """Queue the card's current version on every enabled channel (idempotent: the same
    version is queued once; a newer one supersedes an older one not yet in a batch)."""
    card = _card_for_exchange(card_id)
    if card is None or card.source == EXCHANGE_SOURCE:
        # Cards received from the national/provincial system are theirs: never echoed back.
        return []
    queued = []
    for channel in enabled_channels():
        existing = OutboundRecord.objects.filter(channel=channel.code, card=card)
        if existing.filter(version=card.version).exists():
            continue
        sent_before = existing.filter(send_count__gte=1).exists()
        operation = _operation_for(card, sent_before=sent_before)
        if operation is None:
            continue
        if operation == Operation.UPDATE and not sent_before:
            operation = Operation.ADD
        record = card_record(card, operation=operation,
                             reason=reason or (card.delete_reason
                                               if operation == Operation.DELETE else ""))
        try:
            with transaction.atomic():
                row = OutboundRecord.objects.create(
                    channel=channel.code, card=card, record_id=card.card_number,
                    version=card.version, operation=operation, county_code=card.county_code,
                    disease_code=card.disease_code, payload=nidrs.record_to_dict(record))
        except IntegrityError:
            continue  # queued meanwhile by another delivery of the same event
        # Older versions still waiting for a batch need not travel any more.
        existing.filter(state=OutboundState.PENDING, batch__isnull=True,
                        version__lt=card.version).update(state=OutboundState.SUPERSEDED)
        queued.append(row)
    return queued


def outbound_requeue(*, user, record_pks: list[int]) -> int:
    """Send rejected or long-unacknowledged records again in the next batch (an operator's
    decision after the cause was fixed at the partner's side)."""
    from phis.apps.directreport.selectors import outbound_records

    qs = outbound_records(user=user).filter(
        pk__in=record_pks[:1000], state__in=(OutboundState.REJECTED, OutboundState.SENT))
    count = 0
    with transaction.atomic():
        for record in qs:
            record.state = OutboundState.PENDING
            record.batch = None
            record.save(update_fields=["state", "batch", "updated_at"])
            count += 1
        if count:
            audit_record(event=AuditEventType.RECORD_UPDATED, object_type="directreport.outbound",
                         object_id=",".join(str(p) for p in record_pks[:50]),
                         detail={"action": "requeue", "count": count})
    return count


# --- outbound: batch and deliver ------------------------------------------------------

def outbound_build_batches(*, channel_code: str = "", now: datetime | None = None
                           ) -> list[OutboundBatch]:
    """Group pending records into batch files of at most ``batch_size`` records."""
    now = _now(now)
    built = []
    for channel in enabled_channels():
        if channel_code and channel.code != channel_code:
            continue
        while True:
            with transaction.atomic():
                pending = list(OutboundRecord.objects.select_for_update()
                               .filter(channel=channel.code, state=OutboundState.PENDING,
                                       batch__isnull=True)
                               .order_by("created_at", "pk")[:channel.batch_size])
                if not pending:
                    break
                built.append(_batch_create(channel, pending, now))
    return built


def _batch_create(channel: Channel, records: list[OutboundRecord], now: datetime
                  ) -> OutboundBatch:
    batch_id = _new_batch_id("", now)
    parsed = [nidrs.record_from_dict(r.payload) for r in records]
    header, content = nidrs.serialise_batch(
        kind=nidrs.KIND_CARDS, sender=channel.sender, receiver=channel.receiver,
        batch_id=batch_id, created_at=timezone.localtime(now), records=parsed,
        digest_algorithm=channel.digest_algorithm, mac_key=channel.mac_key)
    batch = OutboundBatch.objects.create(
        channel=channel.code, batch_id=batch_id, receiver=channel.receiver,
        file_name=nidrs.file_name(header), content=content,
        digest_algorithm=header.digest_algorithm, body_digest=header.body_digest,
        record_count=len(records), next_attempt_at=now)
    OutboundRecord.objects.filter(pk__in=[r.pk for r in records]).update(batch=batch)
    # Identifiers leave the platform in this file: one export row per batch (SECURITY.md
    # §8 item 27), naming the cards.
    audit_record(event=AuditEventType.RECORD_EXPORTED, object_type="directreport.batch",
                 object_id=batch_id, purpose=EXPORT_PURPOSE,
                 detail={"channel": channel.code, "receiver": channel.receiver,
                         "records": len(records),
                         "cards": [r.record_id for r in records[:200]]})
    return batch


def _backoff(channel: Channel, attempts: int) -> timedelta:
    seconds = min(channel.backoff_max_seconds,
                  channel.backoff_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds)


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    redelivered: int = 0
    errors: list[str] = field(default_factory=list)


def _deliver_one(batch: OutboundBatch, channel: Channel, now: datetime, *,
                 redelivery: bool = False) -> bool:
    attempts = batch.attempts + 1
    try:
        result = adapters.deliver(channel, file_name=batch.file_name,
                                  content=bytes(batch.content), batch_id=batch.batch_id)
    except adapters.DeliveryError as exc:
        OutboundBatch.objects.filter(pk=batch.pk).update(
            attempts=attempts, state=BatchState.FAILED if batch.state in (
                BatchState.BUILT, BatchState.FAILED) else batch.state,
            last_error=str(exc)[:2000], next_attempt_at=now + _backoff(channel, attempts))
        log.warning("directreport: delivery of %s failed: %s", batch.batch_id, exc)
        return False
    with transaction.atomic():
        OutboundBatch.objects.filter(pk=batch.pk).update(
            attempts=attempts, state=BatchState.DELIVERED, last_error="",
            delivered_at=now, delivery_receipt=result.receipt[:300], next_attempt_at=None,
            redeliveries=F("redeliveries") + (1 if redelivery else 0))
        records = OutboundRecord.objects.filter(batch=batch)
        records.filter(first_sent_at__isnull=True).update(first_sent_at=now)
        records.update(send_count=F("send_count") + 1, last_sent_at=now)
        records.filter(state=OutboundState.PENDING).update(state=OutboundState.SENT)
    if result.response.strip():
        try:
            ack_process(content=result.response, channel_code=channel.code, now=now)
        except ApplicationError as exc:
            log.warning("directreport: synchronous ack of %s unusable: %s", batch.batch_id,
                        exc.message_en)
    return True


def outbound_deliver_due(*, now: datetime | None = None) -> DeliveryReport:
    """Deliver every batch that is due (new, or failed and past its back-off)."""
    now = _now(now)
    report = DeliveryReport()
    configured = channels()
    due = (OutboundBatch.objects.filter(state__in=(BatchState.BUILT, BatchState.FAILED),
                                        next_attempt_at__lte=now)
           .order_by("next_attempt_at", "pk"))
    for batch in due:
        channel = configured.get(batch.channel)
        if channel is None or not channel.enabled:
            continue
        if _deliver_one(batch, channel, now):
            report.delivered += 1
        else:
            report.failed += 1
            report.errors.append(batch.batch_id)
    return report


def outbound_redeliver_unacknowledged(*, now: datetime | None = None) -> int:
    """Deliver again the batches whose acknowledgement is overdue (the partner may have lost
    the file); the same bytes, so the receiver recognises every record as a duplicate."""
    now = _now(now)
    count = 0
    for channel in enabled_channels():
        limit = now - timedelta(hours=channel.ack_timeout_hours)
        stale = OutboundBatch.objects.filter(channel=channel.code,
                                             state=BatchState.DELIVERED,
                                             delivered_at__lte=limit)
        for batch in stale:
            if _deliver_one(batch, channel, now, redelivery=True):
                count += 1
    return count


# --- acknowledgements ----------------------------------------------------------------

@dataclass
class AckReport:
    batch_id: str
    batch_result: str
    applied: int = 0
    unknown: list[str] = field(default_factory=list)


def _bad_file(exc: nidrs.BatchError) -> ValidationFailed:
    return ValidationFailed([FieldError("file", exc.code, exc.message, exc.message_en)],
                            message=exc.message, message_en=exc.message_en)


def ack_process(*, content: bytes, channel_code: str = "", now: datetime | None = None
                ) -> AckReport:
    """Apply an acknowledgement of one of our batches: each record becomes acknowledged
    (accepted / duplicate) or rejected with the partner's code and reason. Idempotent: the
    same acknowledgement twice changes nothing the second time."""
    now = _now(now)
    if len(content) > MAX_FILE_BYTES:
        raise ValidationFailed([FieldError("file", "too_large", "文件过大(上限50MB)",
                                           "File too large (50 MB maximum)")])
    mac_key = None
    configured = channels()
    if channel_code and channel_code in configured:
        mac_key = configured[channel_code].mac_key
    try:
        parsed = nidrs.parse_batch(content, mac_key=mac_key)
    except nidrs.BatchError as exc:
        raise _bad_file(exc) from None
    header = parsed.header
    if header.kind != nidrs.KIND_ACK:
        raise ValidationFailed([FieldError("file", "not_ack", "该文件不是回执",
                                           "The file is not an acknowledgement")])
    with transaction.atomic():
        batch = (OutboundBatch.objects.select_for_update()
                 .filter(batch_id=header.ack_of).first())
        if batch is None:
            raise NotFound("回执对应的上报批次", "batch this acknowledgement refers to")
        if mac_key is None and configured.get(batch.channel) and \
                configured[batch.channel].mac_key:
            try:
                nidrs.parse_batch(content, mac_key=configured[batch.channel].mac_key)
            except nidrs.BatchError as exc:
                raise _bad_file(exc) from None
        report = AckReport(batch_id=batch.batch_id, batch_result=header.batch_result)
        batch.ack_received_at = now
        batch.ack_batch_id = header.batch_id
        batch.ack_content = content
        if header.batch_result == nidrs.BATCH_REJECTED:
            # The partner could not read the batch: every record goes out again in a new
            # batch (nothing is lost; the send counts show the re-sending).
            batch.state = BatchState.REJECTED
            batch.batch_code = header.batch_code[:40]
            batch.batch_reason = (header.batch_reason or header.batch_reason_en)[:500]
            batch.save()
            OutboundRecord.objects.filter(batch=batch, state__in=(
                OutboundState.SENT, OutboundState.PENDING)).update(
                state=OutboundState.PENDING, batch=None)
            return report
        by_key = {(r.record_id, r.version): r for r in OutboundRecord.objects.filter(
            batch=batch)}
        for ack in parsed.records:
            record = by_key.get((ack.record_id, ack.version))
            if record is None:
                report.unknown.append(f"{ack.record_id}v{ack.version}")
                continue
            record.ack_result = ack.result
            record.ack_code = ack.code[:40]
            record.ack_reason = ack.reason[:500]
            record.ack_reason_en = ack.reason_en[:500]
            record.ack_errors = [e.__dict__ for e in ack.errors]
            record.receiver_ref = ack.receiver_ref[:64]
            record.acknowledged_at = now
            if record.state != OutboundState.SUPERSEDED:
                record.state = (OutboundState.REJECTED if ack.result == nidrs.RESULT_REJECTED
                                else OutboundState.ACKNOWLEDGED)
            record.save()
            report.applied += 1
        batch.state = BatchState.ACKNOWLEDGED
        batch.save()
        audit_record(event=AuditEventType.RECORD_UPDATED, object_type="directreport.batch",
                     object_id=batch.batch_id,
                     detail={"action": "ack", "ack_batch": header.batch_id,
                             "applied": report.applied, "unknown": report.unknown[:20]})
    return report


# --- inbound -------------------------------------------------------------------------

def _card_input(card: nidrs.CardFields, *, reporting_unit_code: str, remarks: str,
                sender: str, record_id: str) -> CardInput:
    return CardInput(
        patient_name=card.patient_name, parent_name=card.parent_name,
        id_type=card.id_type or "01", id_number=card.id_number, sex=card.sex,
        birth_date=card.birth_date, age_value=card.age_value, age_unit=card.age_unit,
        work_unit=card.work_unit, phone=card.phone,
        residence_category=card.residence_category, address_code=card.address_code,
        address_text=card.address_text, occupation=card.occupation,
        occupation_other=card.occupation_other,
        disease_code=card.subtype_code or card.disease_code,
        subtype_code=card.subtype_code, icd10_code=card.icd10_code,
        other_disease_text=card.other_disease_text,
        case_classification=card.case_classification, acute_chronic=card.acute_chronic,
        onset_date=card.onset_date, diagnosis_at=card.diagnosis_at,
        death_date=card.death_date, reporting_unit_code=reporting_unit_code,
        doctor_name=card.doctor_name, reporting_phone=card.reporting_phone,
        filled_date=card.filled_date, remarks=remarks[:500], external_id=record_id,
        source_system=sender, extra=dict(card.extra))


def _reporting_unit(card: nidrs.CardFields, *, channel: Channel | None, user
                    ) -> tuple[str, str]:
    """The local reporting unit of an imported card, and the remark that keeps the original
    one when it lies outside the city. Reporting is territorial and a county CDC enters the
    cards of units without direct reporting (surveillance.md §2.2), so the proxy is the CDC
    of the patient's county, else the channel's ``proxy_unit_code``, else the importer's
    own facility."""
    known = OrgUnit.objects.filter(code=card.reporting_unit_code,
                                   level=Level.FACILITY).first()
    remarks = card.remarks
    if known is not None:
        return known.code, remarks
    proxy = ""
    address = OrgUnit.objects.filter(code=card.address_code).first()
    if address is not None:
        cdc = card_selectors.county_cdc_of(card_selectors.county_of(address))
        proxy = cdc.code if cdc is not None else ""
    if not proxy and channel is not None:
        proxy = channel.proxy_unit_code
    if not proxy and getattr(user, "org_unit_id", None) and user.org_unit.level == \
            Level.FACILITY:
        proxy = user.org_unit.code
    origin = f"原报告单位: {card.reporting_unit_name or '-'} ({card.reporting_unit_code})"
    return proxy, f"{origin}; {remarks}" if remarks else origin


@dataclass
class _Outcome:
    result: str
    code: str = ""
    reason: str = ""
    reason_en: str = ""
    errors: list[nidrs.FieldProblem] = field(default_factory=list)
    card: Any = None


def _from_error(exc: ApplicationError) -> _Outcome:
    return _Outcome(result=InboundResult.REJECTED, code=exc.code[:40], reason=exc.message,
                    reason_en=exc.message_en,
                    errors=[nidrs.FieldProblem(field=f"card.{e.field}", code=e.code,
                                               message=e.message, message_en=e.message_en)
                            for e in exc.errors])


def _apply_record(record: nidrs.CardRecord, *, sender: str, channel: Channel | None,
                  user) -> _Outcome:
    problems = nidrs.validate_card_record(record)
    if problems:
        return _Outcome(result=InboundResult.REJECTED, code="invalid",
                        reason="记录内容有误", reason_en="The record has invalid fields",
                        errors=problems)
    link = (ExternalCard.objects.select_for_update()
            .filter(source_system=sender, record_id=record.record_id)
            .select_related("card").first())
    if link is not None and record.version <= link.version:
        return _Outcome(result=InboundResult.DUPLICATE, code="duplicate",
                        reason="该版本已接收", reason_en="This version was received before",
                        card=link.card)
    if record.operation == nidrs.OP_DELETE:
        if link is None:
            return _Outcome(result=InboundResult.REJECTED, code="unknown_record",
                            reason="未接收过该报告卡，无法删除",
                            reason_en="No such card was received; nothing to delete")
        reason = (record.reason or record.card.delete_reason)[:500]
        card = link.card
        if card.status != DELETED:
            card = card_services.card_delete(user=user, card_id=card.pk, version=card.version,
                                             reason=reason)
        link.version, link.deleted = record.version, True
        link.save(update_fields=["version", "deleted", "updated_at"])
        return _Outcome(result=InboundResult.ACCEPTED, card=card)
    unit_code, remarks = _reporting_unit(record.card, channel=channel, user=user)
    data = _card_input(record.card, reporting_unit_code=unit_code, remarks=remarks,
                       sender=sender, record_id=record.record_id)
    if unit_code != record.card.reporting_unit_code:
        # "patient belongs to" is relative to the reporting unit (§2.1): derive it anew
        # for the proxy unit.
        data.residence_category = ""
    if link is None:
        card = card_services.card_create(
            user=user, data=data, submit=True, source=EXCHANGE_SOURCE,
            idempotency_key=f"{sender}:{record.record_id}:{record.version}"[:128])
        ExternalCard.objects.create(source_system=sender, record_id=record.record_id,
                                    card=card, version=record.version, created_by=user)
        return _Outcome(result=InboundResult.ACCEPTED, card=card)
    card = link.card
    reason = (record.reason or "直报系统订正 / revised in the direct-report system")[:500]
    if card.status == DELETED:
        card = card_services.card_restore(user=user, card_id=card.pk, version=card.version,
                                          reason=reason)
    if card.status in ("draft", "returned"):
        card = card_services.card_update(user=user, card_id=card.pk, version=card.version,
                                         data=data, submit=True)
    else:
        card = card_services.card_revise(user=user, card_id=card.pk, version=card.version,
                                         data=data, reason=reason)
    link.version, link.deleted = record.version, False
    link.save(update_fields=["version", "deleted", "updated_at"])
    return _Outcome(result=InboundResult.ACCEPTED, card=card)


def _channel_for_sender(sender: str, channel_code: str) -> Channel | None:
    configured = channels()
    if channel_code:
        return configured.get(channel_code)
    return next((c for c in configured.values() if c.receiver == sender), None)


def inbound_import(*, user, content: bytes, file_name: str = "", channel_code: str = "",
                   now: datetime | None = None) -> InboundBatch:
    """Import a batch of cards reported elsewhere for the city's residents and produce its
    acknowledgement (``batch.ack_content``). The same batch twice is processed once; the
    same card version twice is stored once; a later version revises or deletes the card."""
    now = _now(now)
    if len(content) > MAX_FILE_BYTES:
        raise ValidationFailed([FieldError("file", "too_large", "文件过大(上限50MB)",
                                           "File too large (50 MB maximum)")])
    content_sha = hashlib.sha256(content).hexdigest()
    channel = channels().get(channel_code) if channel_code else None
    try:
        parsed = nidrs.parse_batch(content, mac_key=channel.mac_key if channel else None)
    except nidrs.BatchError as exc:
        return _inbound_reject(content=content, content_sha=content_sha, file_name=file_name,
                               channel=channel, exc=exc, now=now, user=user)
    header = parsed.header
    if header.kind != nidrs.KIND_CARDS:
        exc = nidrs.BatchError("not_cards", "该文件不是报告卡批次",
                               "The file is not a card batch", header=header)
        return _inbound_reject(content=content, content_sha=content_sha, file_name=file_name,
                               channel=channel, exc=exc, now=now, user=user)
    channel = channel or _channel_for_sender(header.sender, "")
    if channel is not None and channel.mac_key and not channel_code:
        try:
            nidrs.parse_batch(content, mac_key=channel.mac_key)
        except nidrs.BatchError as exc:
            return _inbound_reject(content=content, content_sha=content_sha,
                                   file_name=file_name, channel=channel, exc=exc, now=now,
                                   user=user)
    seen = (InboundBatch.objects.filter(sender=header.sender, batch_id=header.batch_id,
                                        state=InboundState.PROCESSED).first())
    if seen is not None:
        if seen.content_sha256 == content_sha:
            return seen  # a re-delivery: same result, same acknowledgement
        exc = nidrs.BatchError("batch_id_reused", "批次号已用于另一内容的批次",
                               "This batch id was already used for different content",
                               header=header)
        return _inbound_reject(content=content, content_sha=content_sha, file_name=file_name,
                               channel=channel, exc=exc, now=now, user=user)
    with transaction.atomic():
        batch = InboundBatch.objects.create(
            channel=channel.code if channel else "", sender=header.sender,
            receiver=header.receiver, batch_id=header.batch_id, file_name=file_name[:200],
            content=content, content_sha256=content_sha, state=InboundState.PROCESSED,
            record_count=header.record_count, created_by=user)
        acks: list[nidrs.AckRecord] = []
        rows: list[InboundRecord] = []
        for problem in parsed.problems:
            acks.append(nidrs.AckRecord(
                record_id=problem.record_id, version=problem.version or 1,
                result=nidrs.RESULT_REJECTED, code="unreadable", reason="记录无法读取",
                reason_en="The record could not be read", line=problem.line,
                errors=problem.errors) if problem.record_id else nidrs.AckRecord(
                record_id="-", version=1, result=nidrs.RESULT_REJECTED, code="unreadable",
                reason="记录无法读取", reason_en="The record could not be read",
                line=problem.line, errors=problem.errors))
            rows.append(InboundRecord(batch=batch, line=problem.line,
                                      record_id=problem.record_id, version=problem.version,
                                      result=InboundResult.REJECTED, code="unreadable",
                                      reason="记录无法读取",
                                      reason_en="The record could not be read",
                                      errors=[e.__dict__ for e in problem.errors]))
        for record, line in zip(parsed.records, parsed.lines, strict=True):
            try:
                with transaction.atomic():
                    outcome = _apply_record(record, sender=header.sender, channel=channel,
                                            user=user)
            except ApplicationError as exc:
                outcome = _from_error(exc)
            card = outcome.card
            acks.append(nidrs.AckRecord(
                record_id=record.record_id, version=record.version, result=outcome.result,
                code=outcome.code, reason=outcome.reason, reason_en=outcome.reason_en,
                line=line, receiver_ref=card.card_number if card is not None else "",
                errors=tuple(outcome.errors)))
            rows.append(InboundRecord(
                batch=batch, line=line, record_id=record.record_id, version=record.version,
                operation=record.operation, result=outcome.result, code=outcome.code,
                reason=outcome.reason[:500], reason_en=outcome.reason_en[:500],
                errors=[e.__dict__ for e in outcome.errors], card=card,
                county_code=card.county_code if card is not None else ""))
        acks.sort(key=lambda a: a.line)
        rows.sort(key=lambda r: r.line)
        InboundRecord.objects.bulk_create(rows)
        batch.accepted_count = sum(r.result == InboundResult.ACCEPTED for r in rows)
        batch.duplicate_count = sum(r.result == InboundResult.DUPLICATE for r in rows)
        batch.rejected_count = sum(r.result == InboundResult.REJECTED for r in rows)
        _attach_ack(batch, channel=channel, records=acks, header=header, now=now,
                    result=nidrs.BATCH_ACCEPTED)
        audit_record(event=AuditEventType.RECORD_CREATED, object_type="directreport.inbound",
                     object_id=batch.pk,
                     detail={"batch": header.batch_id, "sender": header.sender,
                             "accepted": batch.accepted_count,
                             "duplicate": batch.duplicate_count,
                             "rejected": batch.rejected_count})
    return batch


def _attach_ack(batch: InboundBatch, *, channel: Channel | None, records, header, now,
                result: str, code: str = "", reason: str = "", reason_en: str = "") -> None:
    receiver = header.sender if header is not None else (channel.receiver if channel
                                                         else "unknown")
    ack_header, ack = nidrs.serialise_batch(
        kind=nidrs.KIND_ACK, sender=sender_code(), receiver=receiver,
        batch_id=_new_batch_id("ACK-", now), created_at=timezone.localtime(now),
        records=records, digest_algorithm=nidrs.default_digest(),
        mac_key=channel.mac_key if channel else None,
        ack_of=header.batch_id if header is not None else "unknown",
        batch_result=result, batch_code=code, batch_reason=reason, batch_reason_en=reason_en)
    batch.ack_batch_id = ack_header.batch_id
    batch.ack_file_name = nidrs.file_name(ack_header)
    batch.ack_content = ack
    batch.save()
    if channel is not None and channel.adapter == "file":
        try:
            adapters.write_ack(channel, file_name=batch.ack_file_name, content=ack)
        except OSError as exc:  # the acknowledgement stays downloadable from the page
            log.warning("directreport: could not write ack %s: %s", batch.ack_file_name, exc)


def _inbound_reject(*, content, content_sha, file_name, channel, exc: nidrs.BatchError, now,
                    user) -> InboundBatch:
    header = exc.header
    with transaction.atomic():
        batch = InboundBatch.objects.create(
            channel=channel.code if channel else "",
            sender=header.sender if header else "", receiver=header.receiver if header
            else "", batch_id=header.batch_id if header else "", file_name=file_name[:200],
            content=content, content_sha256=content_sha, state=InboundState.REJECTED,
            batch_code=exc.code[:40], batch_reason=exc.message[:500],
            batch_reason_en=exc.message_en[:500],
            record_count=header.record_count if header else 0, created_by=user)
        _attach_ack(batch, channel=channel, records=[], header=header, now=now,
                    result=nidrs.BATCH_REJECTED, code=exc.code, reason=exc.message,
                    reason_en=exc.message_en)
        audit_record(event=AuditEventType.RECORD_CREATED, object_type="directreport.inbound",
                     object_id=batch.pk, outcome="rejected",
                     detail={"code": exc.code, "file": file_name[:200]})
    return batch


# --- the periodic cycle -----------------------------------------------------------------

@dataclass
class CycleReport:
    batches_built: int = 0
    delivered: int = 0
    failed: int = 0
    redelivered: int = 0
    acks: int = 0
    inbound: int = 0
    errors: list[str] = field(default_factory=list)


def _import_user(channel: Channel):
    if not channel.import_username:
        return None
    return get_user_model().objects.filter(username=channel.import_username,
                                           is_active=True).first()


def inbox_poll(*, now: datetime | None = None) -> CycleReport:
    """Read the file channels' inboxes: acknowledgements of our batches, and card batches
    from the partner (imported as the channel's ``import_username``)."""
    now = _now(now)
    report = CycleReport()
    for channel in enabled_channels():
        for path in adapters.inbox_files(channel, prefix="ACK_"):
            try:
                ack_process(content=path.read_bytes(), channel_code=channel.code, now=now)
                adapters.inbox_done(path, ok=True)
                report.acks += 1
            except ApplicationError as exc:
                adapters.inbox_done(path, ok=False)
                report.errors.append(f"{path.name}: {exc.message_en}")
        user = _import_user(channel)
        files = adapters.inbox_files(channel, prefix="CARDS_")
        if files and user is None:
            report.errors.append(f"{channel.code}: inbound files wait for import_username")
            continue
        for path in files:
            batch = inbound_import(user=user, content=path.read_bytes(), file_name=path.name,
                                   channel_code=channel.code, now=now)
            adapters.inbox_done(path, ok=batch.state == InboundState.PROCESSED)
            report.inbound += 1
    return report


def exchange_cycle(*, now: datetime | None = None) -> CycleReport:
    """One turn of the exchange: batch, deliver, re-deliver overdue, read the inboxes."""
    now = _now(now)
    report = inbox_poll(now=now)
    report.batches_built = len(outbound_build_batches(now=now))
    delivery = outbound_deliver_due(now=now)
    report.delivered, report.failed = delivery.delivered, delivery.failed
    report.errors += delivery.errors
    report.redelivered = outbound_redeliver_unacknowledged(now=now)
    return report


def outbound_export_now(*, channel_code: str = "", now: datetime | None = None
                        ) -> DeliveryReport:
    """Operator's ``phis directreport export``: batch what is pending and deliver now,
    including failed batches whose back-off has not ended."""
    now = _now(now)
    outbound_build_batches(channel_code=channel_code, now=now)
    qs = OutboundBatch.objects.filter(state__in=(BatchState.BUILT, BatchState.FAILED))
    if channel_code:
        qs = qs.filter(channel=channel_code)
    qs.update(next_attempt_at=now)
    return outbound_deliver_due(now=now)
