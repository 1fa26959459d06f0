"""Inbox API under /api/notifications/: my messages, unread count, mark read."""

from ninja import Query, Router

from phis.core.accounts.permissions import CorePerm
from phis.core.api import requires
from phis.core.notify.schemas import (
    InboxPageOut,
    MarkedOut,
    NotificationOut,
    PageQuery,
    UnreadOut,
)
from phis.core.notify.selectors import inbox_list, inbox_unread_count
from phis.core.notify.services import notification_mark_all_read, notification_mark_read

router = Router(tags=["C1 notifications 通知"])


@router.get("", response=InboxPageOut, summary="My inbox, newest first (paginated)")
@requires(CorePerm.VIEW_INBOX)
def inbox_list_api(request, q: Query[PageQuery]):
    qs = inbox_list(user=request.user, unread_only=q.unread)
    start = (q.page - 1) * q.page_size
    return {"items": list(qs[start:start + q.page_size]), "count": qs.count(),
            "page": q.page, "page_size": q.page_size}


@router.get("/unread-count", response=UnreadOut, summary="Number of unread messages")
@requires(CorePerm.VIEW_INBOX)
def inbox_unread_count_api(request):
    return {"unread": inbox_unread_count(user=request.user)}


@router.post("/read-all", response=MarkedOut, summary="Mark all my messages read")
@requires(CorePerm.VIEW_INBOX)
def notification_mark_all_read_api(request):
    return {"marked": notification_mark_all_read(user=request.user)}


@router.post("/{notification_id}/read", response=NotificationOut,
             summary="Mark one of my messages read")
@requires(CorePerm.VIEW_INBOX)
def notification_mark_read_api(request, notification_id: int):
    return notification_mark_read(user=request.user, notification_id=notification_id)
