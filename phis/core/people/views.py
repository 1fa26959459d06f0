"""Person search and detail pages (scoped; every detail view and export is audited)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from phis.core.accounts.permissions import CorePerm
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import ApplicationError
from phis.core.people.models import IdType, Sex
from phis.core.people.selectors import person_search
from phis.core.people.services import person_address_text, person_unmask, person_view
from phis.core.ui.components import Row, Table, xlsx_response
from phis.core.ui.decorators import page_requires


def _rows(people):
    return [Row(cells=[p.name, p.get_sex_display(), p.birth_date or "", p.id_masked,
                       p.phone_masked, p.address_unit.name if p.address_unit_id else ""],
                url=reverse("people:detail", args=[p.pk])) for p in people]


HEADERS = ["姓名", "性别", "出生日期", "证件号码", "电话", "住址"]


def _search(request):
    q = {k: request.GET.get(k, "").strip() for k in ("id_number", "name", "phone")}
    q["id_type"] = request.GET.get("id_type", IdType.RESIDENT_ID)
    if not (q["id_number"] or q["name"] or q["phone"]):
        return q, None
    people = list(person_search(user=request.user, limit=200, **q))
    audit_access(object_type="people.person", object_id="", person_id=None,
                 purpose="人员检索 person search", event=AuditEventType.RECORD_SEARCHED,
                 detail={"name": q["name"], "id_number": bool(q["id_number"]),
                         "phone": bool(q["phone"]), "results": len(people)})
    return q, people


@never_cache
@login_required
@page_requires(CorePerm.VIEW_PERSONS)
def search(request):
    q, people = _search(request)
    table = Table(headers=HEADERS, rows=_rows(people or []))
    template = "people/_results.html" if request.htmx else "people/search.html"
    return render(request, template, {"q": q, "table": table, "searched": people is not None,
                                      "id_types": IdType.choices})


@never_cache
@login_required
@page_requires(CorePerm.EXPORT_PERSONS)
def export(request):
    _, people = _search(request)
    audit_access(object_type="people.person", object_id="", person_id=None,
                 purpose="人员导出 person export", event=AuditEventType.RECORD_EXPORTED,
                 detail={"rows": len(people or [])})
    rows = [[p.name, p.get_sex_display(), p.birth_date, p.id_masked, p.phone_masked,
             p.address_unit.name if p.address_unit_id else ""] for p in people or []]
    return xlsx_response(filename="persons.xlsx", headers=HEADERS, rows=rows,
                         exported_by=request.user.username, title="persons")


@never_cache
@login_required
@page_requires(CorePerm.VIEW_PERSONS)
def detail(request, person_id: int):
    person = person_view(user=request.user, person_id=person_id,
                         purpose=request.GET.get("purpose") or "页面查看 page view")
    revealed, error = None, None
    if request.method == "POST":
        try:
            revealed = person_unmask(user=request.user, person_id=person.pk,
                                     reason=request.POST.get("reason", ""))
        except ApplicationError as exc:
            error = exc
    context = {
        "person": person,
        "sex_label": Sex(person.sex).label if person.sex in Sex.values else "",
        "address_text": person_address_text(person=person) if revealed else "",
        "identifiers": person.identifiers.all(),
        "revealed": revealed,
        "error": error,
        "can_unmask": request.user.has_phis_perm(CorePerm.UNMASK_IDENTIFIERS),
    }
    return render(request, "people/detail.html", context, status=200 if not error
                  else error.status)
