"""Person search, detail and patient-360 pages, and the stewards' MPI review queue (scoped;
every detail view and export is audited)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from phis.core.accounts.permissions import CorePerm
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import ApplicationError
from phis.core.people.fhir import person_fhir_bundle
from phis.core.people.models import IdType, Sex
from phis.core.people.mpi_models import ReviewState
from phis.core.people.mpi_rules import MpiPerm
from phis.core.people.mpi_selectors import review_get_visible, review_list
from phis.core.people.mpi_services import (
    person_360,
    person_unmerge,
    review_accept,
    review_reject,
)
from phis.core.people.selectors import person_search
from phis.core.people.services import person_address_text, person_unmask, person_view
from phis.core.ui.components import Row, Table, paged_table, xlsx_response
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


# --- patient 360 ------------------------------------------------------------------------------

def _sex_label(value: int) -> str:
    return Sex(value).label if value in Sex.values else ""


@never_cache
@login_required
@page_requires(CorePerm.VIEW_PERSONS)
def person_360_page(request, person_id: int):
    view = person_360(user=request.user, person_id=person_id,
                      purpose=request.GET.get("purpose") or "患者360页面 patient 360 page")
    context = {
        **view,
        "sex_label": _sex_label(view["person"].sex),
        "can_unmask": request.user.has_phis_perm(CorePerm.UNMASK_IDENTIFIERS),
        "can_steward": request.user.has_phis_perm(MpiPerm.REVIEW_MATCHES),
        "error": None,
    }
    return render(request, "people/person_360.html", context)


@never_cache
@login_required
@page_requires(CorePerm.VIEW_PERSONS)
def person_fhir_download(request, person_id: int):
    """GET: the masked bundle; POST with a reason: the full one, for roles that may unmask."""
    reason = request.POST.get("reason", "") if request.method == "POST" else ""
    if request.method == "POST" and not reason.strip():
        raise ApplicationError(code="validation_failed", message="请说明导出完整信息的理由",
                               message_en="Give a reason for exporting full identifiers",
                               status=422)
    bundle = person_fhir_bundle(user=request.user, person_id=person_id, reason=reason,
                                base_url=request.build_absolute_uri("/fhir/"))
    response = HttpResponse(json.dumps(bundle, ensure_ascii=False, indent=1),
                            content_type="application/fhir+json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, f"person-{person_id}-fhir.json")
    return response


# --- steward review queue ------------------------------------------------------------------

QUEUE_HEADERS = ["来源记录", "候选人员", "匹配概率", "来源", "区划", "创建时间"]


def _review_row(r) -> Row:
    rec = r.link.record or {}
    return Row(cells=[f"{rec.get('name', '')} {rec.get('birth_date', '')}",
                      f"{r.candidate.name} #{r.candidate_id}", f"{r.probability:.3f}",
                      f"{r.link.source}:{r.link.source_key}", r.org_unit.name,
                      timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M")],
               url=reverse("people:review_detail", args=[r.pk]))


@never_cache
@login_required
@page_requires(MpiPerm.REVIEW_MATCHES)
def review_queue(request):
    state = request.GET.get("state", ReviewState.OPEN)
    if state not in ReviewState.values:
        state = ReviewState.OPEN
    table = paged_table(request, headers=QUEUE_HEADERS,
                        items=review_list(user=request.user, state=state), to_row=_review_row)
    audit_access(object_type="people.matchreview", object_id="", person_id=None,
                 purpose="主索引审核队列 MPI review queue", event=AuditEventType.RECORD_SEARCHED,
                 detail={"state": state, "page": table.page.number if table.page else 1})
    return render(request, "people/review_queue.html",
                  {"table": table, "state": state, "states": ReviewState.choices})


@never_cache
@login_required
@page_requires(MpiPerm.REVIEW_MATCHES)
def review_detail(request, review_id: int):
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                review_accept(user=request.user, review_id=review_id,
                              reason=request.POST.get("reason", ""))
            elif action == "reject":
                review_reject(user=request.user, review_id=review_id,
                              reason=request.POST.get("reason", ""))
            else:
                raise ApplicationError(code="invalid_action", message="无效的操作",
                                       message_en="Unknown action")
            return redirect("people:review_detail", review_id=review_id)
        except ApplicationError as exc:
            error = exc
    review = review_get_visible(user=request.user, review_id=review_id)
    audit_access(object_type="people.matchreview", object_id=review.pk,
                 person_id=review.candidate_id, purpose="主索引匹配审核 MPI review")
    rec = review.link.record or {}
    rows = [
        (_("姓名"), rec.get("name", ""), review.candidate.name),
        (_("性别"), _sex_label(int(rec.get("sex") or 0)), _sex_label(review.candidate.sex)),
        (_("出生日期"), rec.get("birth_date", ""), review.candidate.birth_date or ""),
        (_("证件号码"), rec.get("id_masked", ""), review.candidate.id_masked),
        (_("联系电话"), rec.get("phone_masked", ""), review.candidate.phone_masked),
        (_("现住址"), rec.get("address_unit_name", ""),
         review.candidate.address_unit.name if review.candidate.address_unit_id else ""),
    ]
    return render(request, "people/review_detail.html",
                  {"review": review, "record": rec, "rows": rows, "error": error,
                   "comparison": sorted((review.comparison or {}).items()),
                   "is_open": review.state == ReviewState.OPEN},
                  status=error.status if error else 200)


@never_cache
@login_required
@page_requires(MpiPerm.REVIEW_MATCHES)
@require_POST
def merge_undo(request, merge_id: int):
    record = person_unmerge(user=request.user, merge_id=merge_id,
                            reason=request.POST.get("reason", ""))
    return redirect("people:person_360", person_id=record.survivor_id)
