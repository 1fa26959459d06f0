"""Outbreak-event pages (mounted at ``/outbreaks/``): the list, opening an event (from a
signal), the event's workspace (cases, steps, contacts, closing), the observers' daily
follow-up list and the printable closing report. Scoped; contact lists are access-audited."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from phis.apps.outbreaks import selectors, services
from phis.apps.outbreaks.models import Conclusion, ContactStatus, OutbreakStatus
from phis.apps.outbreaks.permissions import OutbreakPerm
from phis.apps.outbreaks.rules import EXPOSURE_KINDS, SETTINGS, STEP_KINDS
from phis.core.audit.services import audit_access
from phis.core.codes.selectors import notifiable_diseases
from phis.core.exceptions import ApplicationError, FieldError, ValidationFailed
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import user_scope_paths
from phis.core.ui.components import Row, paged_table, xlsx_response
from phis.core.ui.decorators import page_requires


def _disease_names() -> dict[str, str]:
    return {d.code: d.name_zh for d in notifiable_diseases()}


def _int(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed([FieldError(field, "invalid", "请填写整数",
                                           "Enter a whole number")]) from None


def _date(value, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed([FieldError(field, "invalid_date", "日期格式应为YYYY-MM-DD",
                                           "Dates are written YYYY-MM-DD")]) from None


def _datetime(value, field: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed([FieldError(field, "invalid_datetime", "时间格式无效",
                                           "Invalid date and time")]) from None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _counties(user) -> list[OrgUnit]:
    """The counties the user works in (or, for a city user, every county)."""
    paths = user_scope_paths(user)
    return [c for c in OrgUnit.objects.filter(level=Level.COUNTY).order_by("code")
            if any(c.path.startswith(p) or p.startswith(c.path) for p in paths)]


@never_cache
@login_required
@page_requires(OutbreakPerm.VIEW)
def outbreak_list(request):
    f = selectors.OutbreakFilter(status=request.GET.get("status", ""),
                                 disease_code=request.GET.get("disease_code", ""),
                                 county_code=request.GET.get("county_code", ""),
                                 text=request.GET.get("text", "").strip()[:64])
    names = _disease_names()
    headers = [_("事件编号"), _("事件名称"), _("病种"), _("县区"), _("状态"), _("病例数"),
               _("密接数"), _("立案时间")]
    table = paged_table(request, headers=headers,
                        items=selectors.outbreak_list(user=request.user, filters=f),
                        to_row=lambda o: Row(cells=[
                            o.number, o.title, names.get(o.disease_code, o.disease_code),
                            o.county.name, o.get_status_display(), o.case_count,
                            o.contact_count, timezone.localtime(o.opened_at)
                            .strftime("%Y-%m-%d %H:%M")],
                            url=reverse("outbreaks:detail", args=[o.pk])))
    return render(request, "outbreaks/list.html", {
        "table": table, "f": f, "statuses": OutbreakStatus.choices, "diseases": names,
        "counties": _counties(request.user),
        "can_manage": request.user.has_phis_perm(OutbreakPerm.MANAGE),
        "due_count": selectors.contacts_due(user=request.user).count()
        if request.user.has_phis_perm(OutbreakPerm.FOLLOW_UP) else 0,
    })


@never_cache
@login_required
@page_requires(OutbreakPerm.EXPORT)
def outbreak_export(request):
    f = selectors.OutbreakFilter(status=request.GET.get("status", ""),
                                 disease_code=request.GET.get("disease_code", ""),
                                 county_code=request.GET.get("county_code", ""),
                                 text=request.GET.get("text", "").strip()[:64])
    names = _disease_names()
    rows = [[o.number, o.title, names.get(o.disease_code, o.disease_code), o.county.name,
             o.get_status_display(), o.case_count, o.contact_count,
             timezone.localtime(o.opened_at).replace(tzinfo=None),
             timezone.localtime(o.closed_at).replace(tzinfo=None) if o.closed_at else "",
             o.get_conclusion_display() if o.conclusion else ""]
            for o in selectors.outbreak_list(user=request.user, filters=f)[:10_000]]
    audit_access(object_type="outbreaks.outbreak", object_id="", person_id=None,
                 purpose="暴发事件导出 outbreak export", detail={"rows": len(rows)})
    return xlsx_response(filename="outbreaks.xlsx", exported_by=request.user.username,
                         headers=[_("事件编号"), _("事件名称"), _("病种"), _("县区"), _("状态"),
                                  _("病例数"), _("密接数"), _("立案时间"), _("结案时间"),
                                  _("调查结论")], rows=rows, title="outbreaks")


@never_cache
@login_required
@page_requires(OutbreakPerm.MANAGE)
@require_http_methods(["GET", "POST"])
def outbreak_open(request):
    error = None
    values = {k: request.POST.get(k, request.GET.get(k, "")) for k in
              ("title", "disease_code", "county_code", "place_code", "setting", "place_text",
               "summary", "signal_id")}
    if request.method == "POST":
        try:
            outbreak = services.outbreak_open(user=request.user, data=services.OutbreakInput(
                title=values["title"], disease_code=values["disease_code"],
                county_code=values["county_code"], place_code=values["place_code"],
                setting=values["setting"], place_text=values["place_text"],
                summary=values["summary"], signal_id=_int(values["signal_id"], "signal_id")))
            return redirect("outbreaks:detail", outbreak.pk)
        except ApplicationError as exc:
            error = exc
    return render(request, "outbreaks/open.html", {
        "v": values, "error": error, "errors": error.errors if error else [],
        "diseases": _disease_names(), "counties": _counties(request.user),
        "settings": SETTINGS}, status=422 if error else 200)


def _detail_context(request, outbreak, **extra) -> dict:
    user = request.user
    manageable = selectors.outbreak_manageable(user=user, outbreak=outbreak)
    contacts = list(selectors.contacts_visible(user=user, outbreak=outbreak))
    cases = list(selectors.outbreak_cases(outbreak=outbreak))
    audit_access(object_type="outbreaks.outbreak", object_id=outbreak.pk, person_id=None,
                 purpose=request.GET.get("purpose") or "暴发事件页面 outbreak page",
                 detail={"cases": len(cases), "contacts": len(contacts)})
    signatures = []
    try:
        from phis.apps.esign.services import signatures_with_status

        signatures = signatures_with_status(outbreak, by=user)
    except ImportError:  # pragma: no cover - e-signatures not installed
        pass
    open_ = outbreak.status != OutbreakStatus.CLOSED
    return {
        "o": outbreak, "manageable": manageable and open_, "open": open_,
        "figures": selectors.outbreak_figures(outbreak=outbreak), "cases": cases,
        "candidates": list(selectors.link_candidates(user=user, outbreak=outbreak))
        if manageable and open_ else [],
        "steps": list(outbreak.steps.select_related("by")), "contacts": contacts,
        "disease_name": _disease_names().get(outbreak.disease_code, outbreak.disease_code),
        "step_kinds": STEP_KINDS, "exposure_kinds": EXPOSURE_KINDS,
        "next_statuses": services.TRANSITIONS.get(outbreak.status, ()),
        "status_labels": dict(OutbreakStatus.choices), "conclusions": Conclusion.choices,
        "signatures": signatures, "today": timezone.localdate(), "errors": [], "error": None,
        "tab": request.GET.get("tab", "cases"), **extra}


_ACTIONS = ("status", "link", "unlink", "step", "contact", "close")


@never_cache
@login_required
@page_requires(OutbreakPerm.VIEW)
@require_http_methods(["GET", "POST"])
def outbreak_detail(request, outbreak_id: int):
    outbreak = selectors.outbreak_get_visible(user=request.user, outbreak_id=outbreak_id)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in _ACTIONS or not request.user.has_phis_perm(OutbreakPerm.MANAGE):
            return redirect("outbreaks:detail", outbreak.pk)
        try:
            _apply(request, outbreak, action)
            return redirect(f"{reverse('outbreaks:detail', args=[outbreak.pk])}"
                            f"?tab={_TAB_OF[action]}")
        except ApplicationError as exc:
            outbreak = selectors.outbreak_get_visible(user=request.user, outbreak_id=outbreak_id)
            return render(request, "outbreaks/detail.html", _detail_context(
                request, outbreak, error=exc, errors=exc.errors, posted=request.POST,
                tab=_TAB_OF[action]), status=409 if exc.status == 409 else 422)
    return render(request, "outbreaks/detail.html", _detail_context(request, outbreak))


_TAB_OF = {"status": "cases", "link": "cases", "unlink": "cases", "step": "steps",
           "contact": "contacts", "close": "close"}


def _apply(request, outbreak, action: str) -> None:
    p, user = request.POST, request.user
    if action == "status":
        services.outbreak_set_status(user=user, outbreak_id=outbreak.pk,
                                     version=_int(p.get("version"), "version") or 0,
                                     status=p.get("status", ""), note=p.get("note", ""))
    elif action == "link":
        ids = [_int(v, "card_ids") for v in p.getlist("card_ids")]
        services.outbreak_link_cases(user=user, outbreak_id=outbreak.pk,
                                     card_ids=[i for i in ids if i],
                                     index_card_id=_int(p.get("index_card_id"), "index_card_id"))
    elif action == "unlink":
        services.outbreak_unlink_case(user=user, outbreak_id=outbreak.pk,
                                      card_id=_int(p.get("card_id"), "card_id") or 0,
                                      reason=p.get("reason", ""))
    elif action == "step":
        services.step_add(user=user, outbreak_id=outbreak.pk, data=services.StepInput(
            kind=p.get("kind", ""), summary=p.get("summary", ""), details=p.get("details", ""),
            at=_datetime(p.get("at"), "at")))
    elif action == "contact":
        services.contact_add(user=user, outbreak_id=outbreak.pk, data=services.ContactInput(
            name=p.get("name", ""), sex=_int(p.get("sex"), "sex") or 0,
            age=_int(p.get("age"), "age"), id_number=p.get("id_number", ""),
            phone=p.get("phone", ""), address_code=p.get("address_code", ""),
            exposure_kind=p.get("exposure_kind", ""),
            source_card_id=_int(p.get("source_card_id"), "source_card_id"),
            last_exposure=_date(p.get("last_exposure"), "last_exposure"),
            observer_unit_code=p.get("observer_unit_code", "")))
    elif action == "close":
        services.outbreak_close(user=user, outbreak_id=outbreak.pk,
                                version=_int(p.get("version"), "version") or 0,
                                data=services.ClosingInput(
                                    conclusion=p.get("conclusion", ""),
                                    source_of_infection=p.get("source_of_infection", ""),
                                    transmission_route=p.get("transmission_route", ""),
                                    measures=p.get("measures", ""),
                                    closing_summary=p.get("closing_summary", ""),
                                    close_early_reason=p.get("close_early_reason", ""),
                                    pin=p.get("pin") or None))


@never_cache
@login_required
@page_requires(OutbreakPerm.FOLLOW_UP)
@require_http_methods(["GET", "POST"])
def contacts_due(request):
    error, error_contact = None, None
    if request.method == "POST":
        contact_id = _int(request.POST.get("contact_id"), "contact_id") or 0
        try:
            services.contact_follow_up(user=request.user, contact_id=contact_id,
                                       data=_follow_up_input(request.POST))
            return redirect("outbreaks:due")
        except ApplicationError as exc:
            error, error_contact = exc, contact_id
    contacts = list(selectors.contacts_due(user=request.user)[:500])
    audit_access(object_type="outbreaks.contact", object_id="", person_id=None,
                 purpose="密接随访清单 contacts due", detail={"rows": len(contacts)})
    return render(request, "outbreaks/due.html", {
        "contacts": contacts, "error": error, "errors": error.errors if error else [],
        "error_contact": error_contact, "today": timezone.localdate()},
        status=422 if error else 200)


def _follow_up_input(p) -> services.FollowUpInput:
    return services.FollowUpInput(
        day=_date(p.get("day"), "day"), reached=p.get("reached", "1") == "1",
        symptomatic=p.get("symptomatic") == "1", temperature=p.get("temperature") or None,
        symptoms=p.get("symptoms", ""), note=p.get("note", ""))


@never_cache
@login_required
@page_requires(OutbreakPerm.VIEW)
@require_http_methods(["GET", "POST"])
def contact_detail(request, contact_id: int):
    contact = selectors.contact_get_visible(user=request.user, contact_id=contact_id)
    error = None
    if request.method == "POST" and request.user.has_phis_perm(OutbreakPerm.FOLLOW_UP):
        try:
            if request.POST.get("action") == "status":
                services.contact_set_status(
                    user=request.user, contact_id=contact.pk,
                    version=_int(request.POST.get("version"), "version") or 0,
                    status=request.POST.get("status", ""), note=request.POST.get("note", ""),
                    card_id=_int(request.POST.get("card_id"), "card_id"))
            else:
                services.contact_follow_up(user=request.user, contact_id=contact.pk,
                                           data=_follow_up_input(request.POST))
            return redirect("outbreaks:contact", contact.pk)
        except ApplicationError as exc:
            error = exc
            contact = selectors.contact_get_visible(user=request.user, contact_id=contact_id)
    audit_access(object_type="outbreaks.contact", object_id=contact.pk,
                 person_id=contact.person_id, purpose="密接详情 contact page")
    return render(request, "outbreaks/contact.html", {
        "c": contact, "follow_ups": list(contact.follow_ups.select_related("by")),
        "gaps": selectors.follow_up_gaps(contact=contact), "error": error,
        "errors": error.errors if error else [], "statuses": ContactStatus.choices,
        "today": timezone.localdate(),
        "open": contact.outbreak.status != OutbreakStatus.CLOSED,
        "can_follow_up": request.user.has_phis_perm(OutbreakPerm.FOLLOW_UP)},
        status=422 if error else 200)


@never_cache
@login_required
@page_requires(OutbreakPerm.VIEW)
def closing_report(request, outbreak_id: int):
    outbreak = selectors.outbreak_get_visible(user=request.user, outbreak_id=outbreak_id)
    return render(request, "outbreaks/report.html", _detail_context(request, outbreak))
