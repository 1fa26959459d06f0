"""Every audit write goes through ``audit_record``; it appends to the chain inside the
caller's transaction, so a business change and its audit row commit or fail together
(SECURITY.md §8 item 23)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from phis.core.audit.chain import GENESIS, row_mac
from phis.core.audit.context import AuditActor, current_actor
from phis.core.audit.models import AuditChainHead, AuditLog
from phis.core.audit.types import AuditEventType, category_of

MIN_RETENTION_DAYS = 180  # Cybersecurity Law Art. 21: logs kept at least six months


def _head_for_update() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def audit_record(*, event: AuditEventType, object_type: str = "", object_id: Any = "",
                 person_id: int | None = None, purpose: str = "", outcome: str = "ok",
                 detail: dict | None = None, actor: AuditActor | None = None) -> AuditLog:
    actor = actor or current_actor()
    with transaction.atomic():
        head = _head_for_update()
        row = {
            "id": head.last_id + 1,
            "occurred_at": timezone.now(),
            "event_type": int(event),
            "category": category_of(int(event)),
            "actor_id": actor.user_id,
            "actor_username": actor.username,
            "actor_org_code": actor.org_code,
            "ip_address": actor.ip_address,
            "request_id": actor.request_id,
            "channel": actor.channel,
            "object_type": object_type,
            "object_id": str(object_id) if object_id not in (None, "") else "",
            "person_id": person_id,
            "purpose": purpose[:200],
            "outcome": outcome,
            "detail": _jsonable(detail or {}),
        }
        row_hash = row_mac(head.last_hash, row)
        entry = AuditLog.objects.create(prev_hash=head.last_hash, row_hash=row_hash, **row)
        head.last_id = entry.id
        head.last_hash = row_hash
        head.save(update_fields=["last_id", "last_hash"])
        return entry


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | memoryview):
        return "<binary>"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def audit_access(*, object_type: str, object_id: Any, person_id: int | None, purpose: str,
                 event: AuditEventType = AuditEventType.RECORD_VIEWED,
                 detail: dict | None = None) -> AuditLog:
    """One access row per read of personal data (page, API, export)."""
    return audit_record(event=event, object_type=object_type, object_id=object_id,
                        person_id=person_id, purpose=purpose, detail=detail)


def audit_security(*, event: AuditEventType, username: str = "", outcome: str = "ok",
                   detail: dict | None = None, actor: AuditActor | None = None) -> AuditLog:
    actor = actor or current_actor()
    if username and not actor.username:
        actor = AuditActor(user_id=actor.user_id, username=username, org_code=actor.org_code,
                           ip_address=actor.ip_address, request_id=actor.request_id,
                           channel=actor.channel)
    return audit_record(event=event, outcome=outcome, detail=detail, actor=actor,
                        object_type="accounts.user", object_id=actor.user_id or "")


# --- change history of business models ------------------------------------------------------

_AUDITED: dict[type[models.Model], frozenset[str]] = {}


def register_audited(model: type[models.Model], *, mask: tuple[str, ...] = (),
                     exclude: tuple[str, ...] = ("updated_at",)) -> None:
    """Keep who/when/before/after of every save and delete of ``model``. Fields in ``mask``
    (encrypted identifiers and the like) appear as ``"***"`` in the diff (SECURITY.md §8
    item 19)."""
    from django.db.models.signals import post_delete, post_save, pre_save

    _AUDITED[model] = frozenset(mask)
    excluded = frozenset(exclude)

    def snapshot(instance) -> dict:
        data = {}
        for f in instance._meta.concrete_fields:
            if f.name in excluded:
                continue
            value = getattr(instance, f.attname)
            data[f.name] = "***" if f.name in _AUDITED[model] and value not in (None, b"", "") \
                else _jsonable(value)
        return data

    def before_save(sender, instance, **kwargs):
        if instance.pk is None or kwargs.get("raw"):
            instance._audit_before = None
            return
        old = sender._base_manager.filter(pk=instance.pk).first()
        instance._audit_before = snapshot(old) if old is not None else None

    def after_save(sender, instance, created, **kwargs):
        if kwargs.get("raw"):
            return
        after = snapshot(instance)
        before = getattr(instance, "_audit_before", None)
        if before is not None:
            changed = {k for k in after if before.get(k) != after.get(k)}
            if not changed:
                return
            before = {k: before.get(k) for k in changed}
            after = {k: after[k] for k in changed}
        audit_record(event=AuditEventType.RECORD_CREATED if created
                     else AuditEventType.RECORD_UPDATED,
                     object_type=sender._meta.label_lower, object_id=instance.pk,
                     person_id=_person_id_of(instance),
                     detail={"before": before, "after": after})

    def after_delete(sender, instance, **kwargs):
        audit_record(event=AuditEventType.RECORD_DELETED, object_type=sender._meta.label_lower,
                     object_id=instance.pk, person_id=_person_id_of(instance),
                     detail={"before": snapshot(instance), "after": None})

    uid = f"phis-audit-{model._meta.label_lower}"
    pre_save.connect(before_save, sender=model, weak=False, dispatch_uid=uid + "-pre")
    post_save.connect(after_save, sender=model, weak=False, dispatch_uid=uid + "-post")
    post_delete.connect(after_delete, sender=model, weak=False, dispatch_uid=uid + "-del")


def audited_models() -> list[type[models.Model]]:
    return list(_AUDITED)


def _person_id_of(instance) -> int | None:
    if instance._meta.label_lower == "people.person":
        return instance.pk
    return getattr(instance, "person_id", None)


# --- retention --------------------------------------------------------------------------------

@transaction.atomic
def audit_purge_expired(*, now=None) -> int:
    """Delete rows older than the retention setting (never under 180 days), leaving an anchor
    so the remaining chain still verifies."""
    days = max(MIN_RETENTION_DAYS, settings.PHIS_AUDIT_RETENTION_DAYS)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    head = _head_for_update()
    last_old = (AuditLog.objects.filter(occurred_at__lt=cutoff, id__gt=head.purged_through_id)
                .order_by("-id").values("id", "row_hash").first())
    if last_old is None:
        return 0
    deleted, _ = AuditLog.objects.filter(id__lte=last_old["id"]).delete()
    head.purged_through_id = last_old["id"]
    head.purged_anchor_hash = last_old["row_hash"]
    head.save(update_fields=["purged_through_id", "purged_anchor_hash"])
    audit_record(event=AuditEventType.AUDIT_PURGED,
                 detail={"through_id": last_old["id"], "rows": deleted, "cutoff": cutoff,
                         "anchor_hash": last_old["row_hash"]})
    return deleted


def chain_genesis() -> str:
    return GENESIS
