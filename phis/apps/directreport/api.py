"""A3 direct-report API (mounted at ``/api/directreport/``): the three-level grid, the
reconciliation report, the exchange records, and the partner-facing endpoints that take a
card batch (answered with its acknowledgement file) or an acknowledgement of ours."""

from datetime import date
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import Field

from phis.apps.directreport import selectors, services
from phis.apps.directreport.permissions import DirectReportPerm
from phis.core.api import requires
from phis.core.exceptions import FieldError, ValidationFailed

router = Router(tags=["A3 direct-report exchange"])

MAX_BODY = 50 * 1024 * 1024


class GridRowOut(Schema):
    code: str
    name: str
    cards: int
    reported_on_time: int
    reported_late: int
    report_timed: int
    reviewed_in_limit: int
    review_timed: int
    complete: int
    valid_id: int
    address_coded: int
    report_timeliness: float | None
    review_timeliness: float | None
    completeness: float | None
    valid_id_rate: float | None
    address_rate: float | None
    url: str
    late_url: str

    @staticmethod
    def of(row: selectors.GridRow) -> dict:
        return {"code": row.code, "name": row.name, **{k: row.values.get(k, 0) for k in (
            "cards", "reported_on_time", "reported_late", "report_timed", "reviewed_in_limit",
            "review_timed", "complete", "valid_id", "address_coded")},
            "report_timeliness": row.report_timeliness,
            "review_timeliness": row.review_timeliness, "completeness": row.completeness,
            "valid_id_rate": row.valid_id_rate, "address_rate": row.address_rate,
            "url": row.url, "late_url": row.late_url}


class GridOut(Schema):
    unit_code: str
    unit_name: str
    level: int
    basis: str
    date_from: date
    date_to: date
    disease_code: str
    total: GridRowOut
    areas: list[GridRowOut]
    diseases: list[GridRowOut]


@router.get("/grid", response=GridOut, summary="Three-level grid of one division")
@requires(DirectReportPerm.VIEW_GRID)
def grid_api(request, unit: str = "", date_from: str = "", date_to: str = "",
             basis: str = "", disease_code: str = ""):
    division = selectors.grid_unit(user=request.user, code=unit)
    query = selectors.grid_query_from(unit=division, date_from=date_from, date_to=date_to,
                                      basis=basis, disease_code=disease_code)
    grid = selectors.grid_build(user=request.user, query=query)
    return {"unit_code": division.code, "unit_name": division.name, "level": division.level,
            "basis": query.basis, "date_from": query.date_from, "date_to": query.date_to,
            "disease_code": query.disease_code, "total": GridRowOut.of(grid.total),
            "areas": [GridRowOut.of(r) for r in grid.areas],
            "diseases": [GridRowOut.of(r) for r in grid.diseases]}


class ReconRowOut(Schema):
    county_code: str
    name: str
    queued: int
    pending: int
    sent: int
    awaiting_ack: int
    acknowledged: int
    rejected: int
    superseded: int
    resent: int


class ReasonOut(Schema):
    ack_code: str
    ack_reason: str
    ack_reason_en: str
    count: int


class InboundRowOut(Schema):
    county_code: str
    received: int
    accepted: int
    duplicate: int
    rejected: int


class ReconciliationOut(Schema):
    date_from: date
    date_to: date
    rows: list[ReconRowOut]
    total: dict[str, int]
    reasons: list[ReasonOut]
    inbound: list[InboundRowOut]


@router.get("/reconciliation", response=ReconciliationOut,
            summary="Sent / acknowledged / rejected / pending / re-sent per county")
@requires(DirectReportPerm.VIEW_EXCHANGE)
def reconciliation_api(request, date_from: str = "", date_to: str = "", channel: str = ""):
    start, end = selectors.period_from(date_from=date_from, date_to=date_to)
    return selectors.reconciliation(user=request.user, date_from=start, date_to=end,
                                    channel=channel[:32])


class RecordOut(Schema):
    id: int
    channel: str
    card_id: int
    record_id: str
    version: int
    operation: str
    county_code: str
    state: str
    batch_id: str | None
    send_count: int
    ack_result: str
    ack_code: str
    ack_reason: str
    ack_reason_en: str
    ack_errors: list

    @staticmethod
    def of(r) -> dict:
        return {"id": r.pk, "channel": r.channel, "card_id": r.card_id,
                "record_id": r.record_id, "version": r.version, "operation": r.operation,
                "county_code": r.county_code, "state": r.state,
                "batch_id": r.batch.batch_id if r.batch_id else None,
                "send_count": r.send_count, "ack_result": r.ack_result,
                "ack_code": r.ack_code, "ack_reason": r.ack_reason,
                "ack_reason_en": r.ack_reason_en, "ack_errors": r.ack_errors}


@router.get("/records", response=list[RecordOut], summary="Card versions sent (scoped)")
@requires(DirectReportPerm.VIEW_EXCHANGE)
def records_api(request, date_from: str = "", date_to: str = "", county_code: str = "",
                state: str = "", channel: str = "", ack_code: str = "", limit: int = 100,
                offset: int = 0):
    start, end = selectors.period_from(date_from=date_from, date_to=date_to)
    qs = selectors.outbound_records(user=request.user, date_from=start, date_to=end,
                                    county_code=county_code[:12], state=state[:16],
                                    channel=channel[:32], ack_code=ack_code[:40])
    offset = max(0, min(offset, 10**9))
    return [RecordOut.of(r) for r in qs[offset:offset + max(1, min(limit, 500))]]


class RequeueIn(Schema):
    record_ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(..., min_length=1,
                                                                    max_length=10_000)


class CountOut(Schema):
    count: int


@router.post("/records/requeue", response=CountOut, summary="Send records again")
@requires(DirectReportPerm.OPERATE)
def requeue_api(request, payload: RequeueIn):
    return {"count": services.outbound_requeue(user=request.user,
                                               record_pks=payload.record_ids)}


class DeliveryOut(Schema):
    delivered: int
    failed: int
    errors: list[str]


@router.post("/export", response=DeliveryOut, summary="Batch and deliver pending cards now")
@requires(DirectReportPerm.OPERATE)
def export_api(request, channel: str = ""):
    report = services.outbound_export_now(channel_code=channel[:32])
    return {"delivered": report.delivered, "failed": report.failed, "errors": report.errors}


def _body(request: HttpRequest) -> bytes:
    if len(request.body) > MAX_BODY:
        raise ValidationFailed([FieldError("body", "too_large", "文件过大(上限50MB)",
                                           "Body too large (50 MB maximum)")])
    if not request.body:
        raise ValidationFailed([FieldError("body", "required", "请求体为空，应为批次文件",
                                           "Empty body: send the batch file")])
    return request.body


@router.post("/inbound", summary="Receive a card batch (phis-nidrs/1); answers its ack file",
             openapi_extra={"requestBody": {"content": {"application/x-ndjson": {
                 "schema": {"type": "string", "format": "binary"}}}}})
@requires(DirectReportPerm.OPERATE)
def inbound_api(request, channel: str = ""):
    batch = services.inbound_import(user=request.user, content=_body(request),
                                    file_name=request.headers.get("X-File-Name", "")[:200],
                                    channel_code=channel[:32])
    response = HttpResponse(bytes(batch.ack_content or b""),
                            content_type="application/x-ndjson; charset=utf-8",
                            status=200 if batch.state == "processed" else 422)
    response["X-Ack-Batch-Id"] = batch.ack_batch_id
    return response


class AckOut(Schema):
    batch_id: str
    batch_result: str
    applied: int
    unknown: list[str]


@router.post("/ack", response=AckOut,
             summary="Acknowledgement of one of our batches (callback / upload)",
             openapi_extra={"requestBody": {"content": {"application/x-ndjson": {
                 "schema": {"type": "string", "format": "binary"}}}}})
@requires(DirectReportPerm.OPERATE)
def ack_api(request, channel: str = ""):
    report = services.ack_process(content=_body(request), channel_code=channel[:32])
    return {"batch_id": report.batch_id, "batch_result": report.batch_result,
            "applied": report.applied, "unknown": report.unknown}


class BatchOut(Schema):
    batch_id: str
    channel: str
    receiver: str
    file_name: str
    record_count: int
    state: str
    attempts: int
    last_error: str
    delivered_at: str | None
    redeliveries: int
    ack_received_at: str | None
    batch_code: str
    batch_reason: str

    @staticmethod
    def of(b) -> dict:
        return {"batch_id": b.batch_id, "channel": b.channel, "receiver": b.receiver,
                "file_name": b.file_name, "record_count": b.record_count, "state": b.state,
                "attempts": b.attempts, "last_error": b.last_error,
                "delivered_at": b.delivered_at.isoformat() if b.delivered_at else None,
                "redeliveries": b.redeliveries,
                "ack_received_at": b.ack_received_at.isoformat() if b.ack_received_at
                else None, "batch_code": b.batch_code, "batch_reason": b.batch_reason}


@router.get("/batches", response=list[BatchOut], summary="Outbound batches (files)")
@requires(DirectReportPerm.OPERATE)
def batches_api(request, channel: str = "", state: str = "", limit: int = 100):
    qs = selectors.outbound_batches(channel=channel[:32], state=state[:16])
    return [BatchOut.of(b) for b in qs[:max(1, min(limit, 500))]]
