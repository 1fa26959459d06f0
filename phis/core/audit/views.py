from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date

from phis.core.accounts.permissions import CorePerm
from phis.core.audit.selectors import audit_search
from phis.core.audit.types import AuditEventType
from phis.core.ui.components import Row, paged_table
from phis.core.ui.decorators import page_requires


def _day(value: str, end: bool = False):
    day = parse_date(value or "")
    if day is None:
        return None
    moment = datetime.combine(day, time.max if end else time.min)
    return timezone.make_aware(moment)


@login_required
@page_requires(CorePerm.VIEW_AUDIT)
def search(request):
    g = request.GET
    person = g.get("person_id", "").strip()
    rows = audit_search(actor=g.get("actor", "").strip(), category=g.get("category", ""),
                        object_type=g.get("object_type", "").strip(),
                        object_id=g.get("object_id", "").strip(),
                        person_id=int(person) if person.isdigit() else None,
                        since=_day(g.get("since", "")), until=_day(g.get("until", ""), True))
    names = {e.value: e.name for e in AuditEventType}
    table = paged_table(request, headers=["#", "时间", "事件", "用户", "机构", "IP", "对象",
                                          "人员", "目的", "结果"], items=rows,
                        to_row=lambda r: Row(cells=[
                            r.id, timezone.localtime(r.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                            names.get(r.event_type, r.event_type), r.actor_username,
                            r.actor_org_code, r.ip_address, f"{r.object_type} {r.object_id}",
                            r.person_id or "", r.purpose, r.outcome]))
    return render(request, "audit/search.html", {"table": table, "q": g})
