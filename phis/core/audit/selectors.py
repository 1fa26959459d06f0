"""Reads of the audit log: the auditor's search and the chain verification."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from phis.core.audit.chain import GENESIS, ChainReport, verify_rows
from phis.core.audit.models import AuditChainHead, AuditLog


def audit_search(*, actor: str = "", object_type: str = "", object_id: str = "",
                 person_id: int | None = None, category: str = "",
                 event_type: int | None = None, since: datetime | None = None,
                 until: datetime | None = None) -> QuerySet[AuditLog]:
    qs = AuditLog.objects.all()
    if actor:
        qs = qs.filter(actor_username=actor)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if category:
        qs = qs.filter(category=category)
    if event_type is not None:
        qs = qs.filter(event_type=event_type)
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    return qs.order_by("-id")


def audit_chain_verify(*, batch_size: int = 5000) -> ChainReport:
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        empty = not AuditLog.objects.exists()
        return ChainReport(empty, 0, None if empty else 1,
                           "" if empty else "rows exist but the chain head is missing")
    start_prev = head.purged_anchor_hash if head.purged_through_id else GENESIS

    def rows():
        last = head.purged_through_id
        while True:
            batch = list(AuditLog.objects.filter(id__gt=last, id__lte=head.last_id)
                         .order_by("id").values()[:batch_size])
            if not batch:
                return
            yield from batch
            last = batch[-1]["id"]

    report = verify_rows(rows(), start_prev_hash=start_prev,
                         expect_first_id=head.purged_through_id + 1,
                         head_last_id=head.last_id, head_last_hash=head.last_hash)
    if not report.ok:
        return report
    # Rows are appended together with the head in one transaction, so any committed row
    # beyond the (re-read) head was inserted behind the chain's back.
    newest_head = AuditChainHead.objects.get(pk=1).last_id
    stray = AuditLog.objects.filter(id__gt=newest_head).order_by("id").first()
    if stray is not None:
        return ChainReport(False, report.rows_checked, stray.id, "row outside the chain")
    return report
