"""Workflow API under /api/workflow/: my queue, overdue items, one item with its possible
actions, its history, and taking an action (409 when someone else acted first)."""

from django.utils import timezone
from ninja import Query, Router

from phis.core.accounts.permissions import CorePerm
from phis.core.api import requires
from phis.core.workflow.definitions import definition_get
from phis.core.workflow.schemas import (
    HistoryOut,
    InstanceDetailOut,
    InstancePageOut,
    ListQuery,
    TransitionIn,
)
from phis.core.workflow.selectors import (
    workflow_actions_for,
    workflow_get,
    workflow_history,
    workflow_overdue,
    workflow_queue_for,
)
from phis.core.workflow.services import workflow_transition

router = Router(tags=["C1 workflow 工作流"])


def instance_out(i, now=None) -> dict:
    try:
        defn = definition_get(i.definition)
        d_label, d_label_en = defn.label, defn.label_en
        st = defn.state(i.state)
        s_label, s_label_en = st.label, st.label_en
    except (LookupError, KeyError):  # definition removed from the code
        d_label = d_label_en = i.definition
        s_label = s_label_en = i.state
    return {
        "id": i.pk, "definition": i.definition, "definition_label": d_label,
        "definition_label_en": d_label_en, "title": i.title, "state": i.state,
        "state_label": s_label, "state_label_en": s_label_en, "subject_key": i.subject_key,
        "subject_type": (f"{i.subject_type.app_label}.{i.subject_type.model}"
                         if i.subject_type_id else ""),
        "subject_id": i.subject_id, "owner_unit_code": i.owner_unit.code,
        "owner_unit_name": i.owner_unit.name,
        "owner_username": i.owner_user.get_username() if i.owner_user_id else None,
        "state_entered_at": i.state_entered_at, "due_at": i.due_at,
        "overdue": i.is_overdue(now), "escalated_at": i.escalated_at, "version": i.version,
    }


def _page(qs, q: ListQuery) -> dict:
    start = (q.page - 1) * q.page_size
    now = timezone.now()
    items = [instance_out(i, now) for i in qs.select_related("subject_type")
             [start:start + q.page_size]]
    return {"items": items, "count": qs.count(), "page": q.page, "page_size": q.page_size}


@router.get("/queue", response=InstancePageOut, summary="My work queue, soonest deadline first")
@requires(CorePerm.VIEW_WORKFLOW)
def workflow_queue_api(request, q: Query[ListQuery]):
    return _page(workflow_queue_for(user=request.user, definition=q.definition or None), q)


@router.get("/overdue", response=InstancePageOut,
            summary="Overdue open items in my jurisdiction, most overdue first")
@requires(CorePerm.VIEW_WORKFLOW)
def workflow_overdue_api(request, q: Query[ListQuery]):
    return _page(workflow_overdue(user=request.user, definition=q.definition or None), q)


def _detail(instance, user) -> dict:
    out = instance_out(instance)
    out["actions"] = [{"action": t.action, "label": t.label, "label_en": t.label_en}
                      for t in workflow_actions_for(instance=instance, user=user)]
    return out


@router.get("/instances/{instance_id}", response=InstanceDetailOut,
            summary="One item with the actions I may take")
@requires(CorePerm.VIEW_WORKFLOW)
def workflow_detail_api(request, instance_id: int):
    return _detail(workflow_get(instance_id=instance_id, user=request.user), request.user)


@router.get("/instances/{instance_id}/history", response=list[HistoryOut],
            summary="History of one item")
@requires(CorePerm.VIEW_WORKFLOW)
def workflow_history_api(request, instance_id: int):
    return [{"action": h.action, "from_state": h.from_state, "to_state": h.to_state,
             "by_username": h.by.get_username() if h.by_id else None, "at": h.at,
             "comment": h.comment, "data": h.data, "version": h.version}
            for h in workflow_history(instance_id=instance_id, user=request.user)]


@router.post("/instances/{instance_id}/transitions", response=InstanceDetailOut,
             summary="Take an action (409 if the item changed since expected_version)")
@requires(CorePerm.VIEW_WORKFLOW)
def workflow_transition_api(request, instance_id: int, payload: TransitionIn):
    instance = workflow_transition(instance_id=instance_id, action=payload.action,
                                   user=request.user, comment=payload.comment,
                                   expected_version=payload.expected_version)
    return _detail(instance, request.user)
