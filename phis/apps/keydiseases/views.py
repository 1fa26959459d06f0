"""A4 pages (mounted at ``/keydiseases/``): per-disease work-lists, the case page with its
timeline and forms, follow-up and contact-observation entry, ILI weekly entry and chart,
school ILI clusters, Excel exports. Every page is scoped through the selectors."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from phis.apps.keydiseases import rules, selectors, services
from phis.apps.keydiseases.models import (
    CareStatus,
    CaseStatus,
    ContactRelation,
    ContactStatus,
    DotMode,
    DrugResistance,
    FollowUpKind,
    FollowUpStatus,
    LabOutcome,
    Outcome,
    ScreeningResult,
    Severity,
)
from phis.apps.keydiseases.permissions import KeyDiseasePerm
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import ApplicationError, FieldError, ValidationFailed
from phis.core.ui.components import Row, chart_json, paged_table, xlsx_response
from phis.core.ui.decorators import page_requires

VIEWS = ("mine", "overdue", "cases", "followups", "followups_overdue", "contacts")


def _en() -> bool:
    return (get_language() or "").startswith("en")


def _disease_name(code: str) -> str:
    zh, en = rules.KEY_DISEASES.get(code, (code, code))
    return en if _en() else zh


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    try:
        return parse_date((value or "").strip()) if value else None
    except ValueError:
        return None


def _number_errors(post, names: list[str]) -> list[FieldError]:
    """Field errors for inputs that are not whole numbers (instead of silently dropping)."""
    errors = []
    for name in names:
        raw = (post.get(name) or "").strip()
        if raw and _int(raw) is None:
            errors.append(FieldError(name, "int_parsing", "应为整数", "Must be a whole number"))
    return errors


def _date_errors(post, names: list[str]) -> list[FieldError]:
    errors = []
    for name in names:
        raw = (post.get(name) or "").strip()
        if raw and _date(raw) is None:
            errors.append(FieldError(name, "date_parsing", "日期格式应为YYYY-MM-DD",
                                     "Dates are YYYY-MM-DD"))
    return errors


# --- rows of the work-lists -----------------------------------------------------------------

def _task_row(t, now):
    i = t.instance
    if i.state == "done":
        state = _("已完成")
    elif i.state == "cancelled":
        state = _("已取消")
    elif i.is_overdue(now):
        state = _("已超时")
    else:
        state = _("待办")
    target = t.case.patient_name if t.case_id else (t.cluster.unit_name if t.cluster_id else "")
    return Row([i.title, _disease_name(t.disease_code), target, i.owner_unit.name,
                _local(i.due_at), state], url=(i.data or {}).get("url", ""))


def _task_headers():
    return [_("任务"), _("病种"), _("对象"), _("责任机构"), _("办理时限"), _("状态")]


def _case_row(c):
    return Row([c.patient_name, _disease_name(c.disease_code), c.card_number,
                c.diagnosis_date, c.get_care_status_display(),
                c.treating_unit.name if c.treating_unit_id else "",
                c.managing_unit.name if c.managing_unit_id else "",
                c.get_status_display() if c.status == CaseStatus.OPEN
                else c.get_outcome_display()],
               url=reverse("keydiseases:case", args=[c.pk]))


def _case_headers():
    return [_("患者"), _("病种"), _("卡片编号"), _("诊断日期"), _("收治状态"), _("治疗医院"),
            _("基层管理机构"), _("状态/转归")]


def _followup_row(f):
    return Row([f.case.patient_name, _disease_name(f.case.disease_code), f.get_kind_display(),
                f.month or "", f.scheduled_date, f.window_end,
                f.unit.name if f.unit_id else "", f.get_status_display()],
               url=reverse("keydiseases:followup", args=[f.case_id]) + f"?followup_id={f.pk}")


def _followup_headers():
    return [_("患者"), _("病种"), _("类型"), _("治疗月"), _("计划日期"), _("最迟日期"),
            _("负责机构"), _("状态")]


def _contact_row(c):
    return Row([c.name, _disease_name(c.case.disease_code), c.get_relation_display(),
                c.address_unit.name if c.address_unit_id else "", c.last_exposure_date,
                c.observation_end or "", c.get_status_display()],
               url=reverse("keydiseases:contact", args=[c.pk]))


def _contact_headers():
    return [_("姓名"), _("病种"), _("关系"), _("现住址"), _("末次接触"), _("观察期满"),
            _("状态")]


def _case_filters(request) -> selectors.CaseFilter:
    return selectors.CaseFilter(
        disease_code=request.GET.get("disease", ""), status=request.GET.get("status", ""),
        county_code=request.GET.get("county", ""), text=request.GET.get("q", ""),
        care_status=request.GET.get("care_status", ""))


def _view_items(request, view: str, disease: str):
    user, now = request.user, timezone.now()
    if view == "mine":
        return _task_headers(), selectors.task_mine(user=user, disease_code=disease), \
            lambda t: _task_row(t, now)
    if view == "overdue":
        return _task_headers(), selectors.task_overdue(
            user=user, disease_code=disease,
            owner_unit_code=request.GET.get("unit", "")), lambda t: _task_row(t, now)
    if view == "followups":
        return _followup_headers(), selectors.followups_due(
            user=user, disease_code=disease, until=timezone.localdate() + timedelta(days=7)), \
            _followup_row
    if view == "followups_overdue":
        return _followup_headers(), selectors.followups_due(
            user=user, disease_code=disease, overdue=True), _followup_row
    if view == "contacts":
        return _contact_headers(), selectors.contacts_due_today(
            user=user, disease_code=disease), _contact_row
    return _case_headers(), selectors.case_list(user=user, filters=_case_filters(request)), \
        _case_row


@login_required
@page_requires(KeyDiseasePerm.VIEW_CASES)
def home(request):
    disease = request.GET.get("disease", "")
    if disease and disease not in rules.KEY_DISEASES:
        disease = ""
    view = request.GET.get("view", "mine")
    view = view if view in VIEWS else "mine"
    headers, items, to_row = _view_items(request, view, disease)
    table = paged_table(request, headers=headers, items=items, to_row=to_row)
    user = request.user
    counts = {
        "mine": selectors.task_mine(user=user, disease_code=disease).count(),
        "overdue": selectors.task_overdue(user=user, disease_code=disease).count(),
        "followups_overdue": selectors.followups_due(user=user, disease_code=disease,
                                                     overdue=True).count(),
        "contacts": selectors.contacts_due_today(user=user, disease_code=disease).count(),
    }
    if view == "cases":
        audit_access(object_type="keydiseases.case", object_id="", person_id=None,
                     purpose="case work-list", event=AuditEventType.RECORD_SEARCHED)
    diseases = [(code, en if _en() else zh) for code, (zh, en) in rules.KEY_DISEASES.items()
                if code in rules.PLANS]
    return render(request, "keydiseases/home.html", {
        "table": table, "view": view, "disease": disease, "diseases": diseases,
        "counts": counts, "views": VIEWS, "q": request.GET,
        "overdue_units": selectors.overdue_by_unit(user=user, disease_code=disease)[:20],
        "statuses": CaseStatus.choices, "care_statuses": CareStatus.choices,
        "counties": selectors.visible_units(user=user, level=3),
        "export_url": reverse("keydiseases:export"),
        "can_export": user.has_phis_perm(KeyDiseasePerm.EXPORT),
    })


@login_required
@page_requires(KeyDiseasePerm.EXPORT)
def export(request):
    disease = request.GET.get("disease", "")
    view = request.GET.get("view", "cases")
    view = view if view in VIEWS else "cases"
    headers, items, to_row = _view_items(request, view, disease)
    rows = [to_row(i).cells for i in items[:20000]]
    audit_access(object_type="keydiseases.case", object_id="", person_id=None,
                 purpose=f"export {view}", event=AuditEventType.RECORD_EXPORTED,
                 detail={"rows": len(rows), "disease": disease, "view": view})
    stamp = timezone.localdate().isoformat()
    return xlsx_response(filename=f"keydiseases-{view}-{stamp}.xlsx", headers=headers,
                         rows=rows, exported_by=request.user.display_name, title=view)


# --- the case page --------------------------------------------------------------------------

def _timeline(case, follow_ups, contacts, tasks, cards):
    """One chronological list: cards, follow-ups done, contacts listed, task steps."""
    items = []
    for link in cards:
        items.append((link.linked_at, "card", _("报告卡纳入管理"), link.card_number))
    for f in follow_ups:
        if f.status == FollowUpStatus.DONE and f.done_date:
            at = timezone.make_aware(datetime.combine(f.done_date, time(12)))
            detail = _followup_summary(f)
            items.append((at, "followup", f.get_kind_display(), detail))
    for c in contacts:
        items.append((c.created_at, "contact", _("登记密切接触者"), c.name))
    for t in tasks:
        for h in t.instance.history.all():
            label = {"start": _("任务下达"), "complete": _("任务完成"),
                     "cancel": _("任务取消"), "escalate": _("超时升级"),
                     "reassign": _("任务转办")}.get(h.action, h.action)
            items.append((h.at, "task", label, t.instance.title))
    if case.closed_at:
        items.append((case.closed_at, "outcome", _("结案"), case.get_outcome_display()))
    items.sort(key=lambda x: x[0], reverse=True)
    return [{"at": at, "kind": kind, "label": label, "detail": detail}
            for at, kind, label, detail in items]


def _followup_summary(f) -> str:
    parts = []
    if f.kind == FollowUpKind.VISIT and f.doses_planned is not None:
        parts.append(_("督导服药 %(o)s/%(p)s 次") % {"o": f.doses_observed or 0,
                                               "p": f.doses_planned})
    if f.smear_result:
        parts.append(_("涂片") + f.get_smear_result_display())
    if f.culture_result:
        parts.append(_("培养") + f.get_culture_result_display())
    if f.care_status:
        parts.append(f.get_care_status_display())
    if f.note:
        parts.append(f.note)
    return " · ".join(str(p) for p in parts)


def _case_context(request, case, *, error=None, form=None):
    follow_ups = list(selectors.case_follow_ups(case=case))
    contacts = list(selectors.case_contacts(case=case))
    tasks = list(selectors.case_tasks(case=case).prefetch_related("instance__history"))
    cards = list(selectors.case_cards(case=case))
    suggestion = None
    if case.is_tb:
        suggestion = rules.tb_outcome_suggest(services.tb_facts(case),
                                              today=timezone.localdate())
    outcomes = [(v, label) for v, label in Outcome.choices
                if v in (rules.TB_OUTCOMES if case.is_tb else rules.ACUTE_OUTCOMES)]
    now = timezone.now()
    return {
        "case": case, "follow_ups": follow_ups, "contacts": contacts, "cards": cards,
        "tasks": [{"task": t, "overdue": t.instance.is_overdue(now)} for t in tasks],
        "timeline": _timeline(case, follow_ups, contacts, tasks, cards),
        "disease_name": _disease_name(case.disease_code), "suggestion": suggestion,
        "outcomes": outcomes, "regimens": [(k, v["label_en"] if _en() else v["label"])
                                           for k, v in rules.REGIMENS.items()],
        "resistances": DrugResistance.choices, "dot_modes": DotMode.choices,
        "relations": ContactRelation.choices, "error": error,
        "errors": error.errors if error else [], "form": form or {},
        "observation_days": rules.observation_days(case.disease_code, case.diagnosis_date),
        "can_manage": request.user.has_phis_perm(KeyDiseasePerm.MANAGE_CASES),
        "can_follow": request.user.has_phis_perm(KeyDiseasePerm.FOLLOW_UP),
        "today": timezone.localdate(),
    }


@login_required
@page_requires(KeyDiseasePerm.VIEW_CASES)
@require_http_methods(["GET", "POST"])
def case_detail(request, case_id: int):
    case = selectors.case_get_visible(user=request.user, case_id=case_id)
    error, form = None, None
    if request.method == "POST":
        action = request.POST.get("action", "")
        form = request.POST
        try:
            _case_action(request, case, action)
            return redirect("keydiseases:case", case_id=case.pk)
        except ApplicationError as exc:
            error = exc
        case = selectors.case_get_visible(user=request.user, case_id=case_id)
    else:
        audit_access(object_type="keydiseases.case", object_id=case.pk,
                     person_id=case.person_id, purpose="case management")
    return render(request, "keydiseases/case.html", _case_context(request, case, error=error,
                                                                  form=form),
                  status=422 if error is not None and isinstance(error, ValidationFailed)
                  else (error.status if error else 200))


def _case_action(request, case, action: str) -> None:
    p, user = request.POST, request.user
    version = _int(p.get("version"))
    if action == "treatment":
        _raise(_date_errors(p, ["start_date"]))
        services.treatment_start(user=user, case_id=case.pk, version=version,
                                 data=services.TreatmentInput(
                                     start_date=_date(p.get("start_date")),
                                     regimen=p.get("regimen", rules.REGIMEN_DS),
                                     drug_resistance=p.get("drug_resistance", ""),
                                     dot_mode=p.get("dot_mode", DotMode.MEDICAL_STAFF),
                                     dot_supervisor=p.get("dot_supervisor", "")))
    elif action == "outcome":
        _raise(_date_errors(p, ["outcome_date"]))
        services.case_outcome_record(user=user, case_id=case.pk, version=version,
                                     data=services.OutcomeInput(
                                         outcome=p.get("outcome", ""),
                                         outcome_date=_date(p.get("outcome_date")),
                                         note=p.get("note", "")))
    elif action == "contact":
        _raise(_number_errors(p, ["age_years", "sex"])
               + _date_errors(p, ["last_exposure_date"]))
        services.contact_add(user=user, case_id=case.pk, data=services.ContactInput(
            name=p.get("name", ""), relation=p.get("relation", ""),
            sex=_int(p.get("sex")) or 0, age_years=_int(p.get("age_years")),
            phone=p.get("phone", ""), address_code=p.get("address_code", ""),
            last_exposure_date=_date(p.get("last_exposure_date")), note=p.get("note", "")))
    elif action in ("task_complete", "task_cancel"):
        task_id = _int(p.get("task_id")) or 0
        fn = services.task_complete if action == "task_complete" else services.task_cancel
        fn(user=user, task_id=task_id, comment=p.get("comment", ""),
           expected_version=_int(p.get("task_version")))
    else:
        raise ValidationFailed([FieldError("action", "invalid_choice", "未知操作",
                                           "Unknown action")])


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(errors)


_FOLLOWUP_NUMBERS = ["doses_planned", "doses_observed", "doses_missed", "month"]


@login_required
@page_requires(KeyDiseasePerm.FOLLOW_UP)
@require_http_methods(["GET", "POST"])
def followup_entry(request, case_id: int):
    """The fast follow-up form: one scheduled item (``followup_id``) or an unscheduled one."""
    case = selectors.case_get_visible(user=request.user, case_id=case_id)
    followup_id = _int(request.GET.get("followup_id") or request.POST.get("followup_id"))
    item = selectors.followup_get(case=case, followup_id=followup_id) if followup_id else None
    error, form = None, {}
    if request.method == "POST":
        p = form = request.POST
        try:
            _raise(_number_errors(p, _FOLLOWUP_NUMBERS)
                   + _date_errors(p, ["done_date", "last_dose_date"]))
            services.followup_record(
                user=request.user, case_id=case.pk, data=services.FollowUpInput(
                followup_id=followup_id, kind=p.get("kind", ""), month=_int(p.get("month")),
                done_date=_date(p.get("done_date")),
                doses_planned=_int(p.get("doses_planned")),
                doses_observed=_int(p.get("doses_observed")),
                doses_missed=_int(p.get("doses_missed")),
                last_dose_date=_date(p.get("last_dose_date")),
                adverse_reaction=p.get("adverse_reaction", ""),
                smear_result=p.get("smear_result", ""),
                culture_result=p.get("culture_result", ""),
                care_status=p.get("care_status", ""), severity=p.get("severity", ""),
                temperature=p.get("temperature") or None, note=p.get("note", "")))
            if p.get("next") == "worklist":
                return redirect(reverse("keydiseases:home") + "?view=followups")
            return redirect("keydiseases:case", case_id=case.pk)
        except ApplicationError as exc:
            error = exc
    kind = item.kind if item else (request.GET.get("kind") or (
        FollowUpKind.VISIT if case.is_tb else FollowUpKind.CLINICAL))
    kinds = [(k, label) for k, label in FollowUpKind.choices
             if (k != FollowUpKind.CLINICAL) == case.is_tb]
    return render(request, "keydiseases/followup_form.html", {
        "case": case, "item": item, "kind": kind, "kinds": kinds, "form": form,
        "error": error, "errors": error.errors if error else [],
        "lab_outcomes": LabOutcome.choices, "care_statuses": CareStatus.choices,
        "severities": Severity.choices, "today": timezone.localdate(),
        "disease_name": _disease_name(case.disease_code),
    }, status=422 if error is not None else 200)


# --- contacts ---------------------------------------------------------------------------------

@login_required
@page_requires(KeyDiseasePerm.VIEW_CASES)
@require_http_methods(["GET", "POST"])
def contact_detail(request, contact_id: int):
    contact = selectors.contact_get_visible(user=request.user, contact_id=contact_id)
    error, form = None, {}
    if request.method == "POST":
        p = form = request.POST
        action = p.get("action", "check")
        try:
            if action == "check":
                _raise(_date_errors(p, ["check_date"]))
                services.contact_check_record(
                    user=request.user, contact_id=contact.pk, data=services.CheckInput(
                        check_date=_date(p.get("check_date")),
                        temperature=p.get("temperature") or None,
                        symptoms=p.getlist("symptoms"), note=p.get("note", "")))
            elif action == "screening":
                _raise(_date_errors(p, ["screening_date"]))
                services.contact_screening_record(
                    user=request.user, contact_id=contact.pk,
                    screening_date=_date(p.get("screening_date")),
                    result=p.get("result", ""), note=p.get("note", ""))
            else:
                services.contact_status_set(user=request.user, contact_id=contact.pk,
                                            status=p.get("status", ""), note=p.get("note", ""))
            if p.get("next") == "worklist":
                return redirect(reverse("keydiseases:home") + "?view=contacts")
            return redirect("keydiseases:contact", contact_id=contact.pk)
        except ApplicationError as exc:
            error = exc
            contact = selectors.contact_get_visible(user=request.user, contact_id=contact_id)
    else:
        audit_access(object_type="keydiseases.contact", object_id=contact.pk,
                     person_id=contact.person_id, purpose="contact follow-up")
    symptoms = [(k, en if _en() else zh) for k, (zh, en) in rules.CONTACT_SYMPTOMS.items()]
    return render(request, "keydiseases/contact.html", {
        "contact": contact, "checks": selectors.contact_checks(contact=contact),
        "symptoms": symptoms, "form": form, "error": error,
        "errors": error.errors if error else [], "today": timezone.localdate(),
        "screening_results": [c for c in ScreeningResult.choices if c[0]],
        "end_states": [c for c in ContactStatus.choices
                       if c[0] in ("released", "case", "lost")],
        "observing": contact.status in (ContactStatus.OBSERVING, ContactStatus.SYMPTOMATIC),
        "can_follow": request.user.has_phis_perm(KeyDiseasePerm.FOLLOW_UP),
        "selected_symptoms": form.getlist("symptoms") if form else [],
    }, status=422 if error is not None else 200)


# --- ILI sentinel -----------------------------------------------------------------------------

_ILI_NUMBERS = ([f"ili_{k}" for k, _zh, _en in rules.ILI_AGE_GROUPS] + ["visits_total",
                "specimens_collected", "specimens_tested"]
                + [f"pos_{k}" for k, _zh, _en in rules.FLU_SUBTYPES])


@login_required
@page_requires(KeyDiseasePerm.REPORT_ILI)
@require_http_methods(["GET", "POST"])
def ili_entry(request):
    sites = list(selectors.ili_sites_for(user=request.user).filter(active=True))
    if not sites:
        return render(request, "keydiseases/ili_entry.html", {"sites": [], "no_site": True})
    site_id = _int(request.GET.get("site") or request.POST.get("site"))
    own = next((s for s in sites if s.org_unit_id == request.user.org_unit_id), sites[0])
    site = next((s for s in sites if s.pk == site_id), own)
    last_week = rules.week_monday(timezone.localdate()) - timedelta(days=7)
    week_start = _date(request.GET.get("week") or request.POST.get("week_start")) or last_week
    week_start = rules.week_monday(week_start)
    existing = selectors.ili_week_get(site=site, week_start=week_start)
    error, form, saved = None, {}, request.GET.get("saved") == "1"
    if request.method == "POST":
        p = form = request.POST
        try:
            _raise(_number_errors(p, _ILI_NUMBERS))
            data = services.IliWeekInput(week_start=week_start, **{
                name: (_int(p.get(name)) if name == "visits_total" else _int(p.get(name)) or 0)
                for name in _ILI_NUMBERS})
            services.ili_week_submit(user=request.user, site_id=site.pk, data=data,
                                     version=_int(p.get("version")))
            return redirect(reverse("keydiseases:ili_entry")
                            + f"?site={site.pk}&week={week_start.isoformat()}&saved=1")
        except ApplicationError as exc:
            error = exc
    values = {name: (form.get(name) if form else
                     (getattr(existing, name) if existing else "")) for name in _ILI_NUMBERS}
    recent = selectors.ili_weeks(user=request.user, site_id=site.pk)[:12]
    return render(request, "keydiseases/ili_entry.html", {
        "sites": sites, "site": site, "week_start": week_start,
        "week_end": week_start + timedelta(days=6), "iso_week": week_start.isocalendar()[1],
        "existing": existing, "values": values, "form": form, "error": error,
        "errors": error.errors if error else [], "saved": saved,
        "age_groups": [(f"ili_{k}", en if _en() else zh) for k, zh, en in rules.ILI_AGE_GROUPS],
        "subtypes": [(f"pos_{k}", en if _en() else zh) for k, zh, en in rules.FLU_SUBTYPES],
        "due": rules.ili_due_at_local(week_start), "recent": recent,
        "specimen_target": rules.specimen_target(week_start), "last_week": last_week,
    }, status=422 if error is not None else 200)


@login_required
@page_requires(KeyDiseasePerm.VIEW_ILI)
def ili_chart(request):
    county = request.GET.get("county", "")
    counties = list(selectors.visible_units(user=request.user, level=3))
    if county and county not in {c.code for c in counties}:
        county = ""
    chart = selectors.ili_chart(user=request.user, county_code=county)
    labels = [f"W{w}" for w in chart["weeks"]]
    season_label = _("%(y)s–%(n)s年度")
    series = [{"name": season_label % {"y": s, "n": int(s) + 1}, "type": "line",
               "data": values, "connectNulls": False, "smooth": True}
              for s, values in chart["seasons"].items()]
    option = {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 48, "right": 24, "top": 40, "bottom": 40},
        "xAxis": {"type": "category", "data": labels, "name": _("监测周")},
        "yAxis": {"type": "value", "name": "ILI%"},
        "series": series,
    }
    seasons = sorted(chart["seasons"], reverse=True)
    subtype_option = None
    if seasons:
        sums = selectors.ili_subtypes(user=request.user, season=int(seasons[0]),
                                      county_code=county)
        names = {k: (en if _en() else zh) for k, zh, en in rules.FLU_SUBTYPES}
        subtype_option = {"tooltip": {"trigger": "item"},
                          "series": [{"type": "pie", "radius": "65%",
                                      "data": [{"name": names[k], "value": v}
                                               for k, v in sums.items() if v]}]}
    last_week = rules.week_monday(timezone.localdate()) - timedelta(days=7)
    weeks = selectors.ili_weeks(user=request.user, county_code=county)
    latest = list(weeks.filter(week_start=last_week))
    visible_site_ids = set(selectors.ili_sites_for(user=request.user).values_list("pk",
                                                                                  flat=True))
    missing = [s for s in selectors.ili_sites_missing(week_start=last_week)
               if s.pk in visible_site_ids
               and (not county or f"/{county}/" in s.org_unit.path)]
    return render(request, "keydiseases/ili_chart.html", {
        "with_charts": True, "chart": chart_json(option),
        "subtype_chart": chart_json(subtype_option) if subtype_option else "",
        "counties": counties, "county": county, "latest": latest, "missing": missing,
        "last_week": last_week, "last_iso_week": last_week.isocalendar()[1],
        "can_report": request.user.has_phis_perm(KeyDiseasePerm.REPORT_ILI),
        "can_export": request.user.has_phis_perm(KeyDiseasePerm.EXPORT),
        "current_season": seasons[0] if seasons else "",
    })


@login_required
@page_requires(KeyDiseasePerm.VIEW_ILI, KeyDiseasePerm.EXPORT)
def ili_export(request):
    county = request.GET.get("county", "")
    weeks = selectors.ili_weeks(user=request.user, county_code=county)[:20000]
    headers = [_("哨点医院"), _("监测年度"), _("周"), _("周一日期")] + [
        zh if not _en() else en for _k, zh, en in rules.ILI_AGE_GROUPS] + [
        _("流感样病例数"), _("门急诊就诊总数"), "ILI%", _("检测标本数"), _("阳性数"), _("迟报")]
    rows = [[w.site.org_unit.name, w.season, w.iso_week, w.week_start, w.ili_0_4, w.ili_5_14,
             w.ili_15_24, w.ili_25_59, w.ili_60p, w.ili_total, w.visits_total, w.ili_percent,
             w.specimens_tested, w.positive_total, _("是") if w.late else _("否")]
            for w in weeks]
    return xlsx_response(filename=f"ili-weeks-{timezone.localdate().isoformat()}.xlsx",
                         headers=headers, rows=rows, exported_by=request.user.display_name,
                         title="ILI")


# --- school ILI clusters ---------------------------------------------------------------------

@login_required
@page_requires(KeyDiseasePerm.VIEW_ILI)
@require_http_methods(["GET", "POST"])
def clusters(request):
    error, form = None, {}
    if request.method == "POST":
        p = form = request.POST
        try:
            _raise(_number_errors(p, ["ili_cases", "hospitalised", "deaths"])
                   + _date_errors(p, ["week_end", "first_onset_date"]))
            cluster = services.cluster_report(user=request.user, data=services.ClusterInput(
                unit_code=p.get("unit_code", ""), week_end=_date(p.get("week_end")),
                first_onset_date=_date(p.get("first_onset_date")),
                ili_cases=_int(p.get("ili_cases")), hospitalised=_int(p.get("hospitalised")) or 0,
                deaths=_int(p.get("deaths")) or 0, note=p.get("note", "")))
            return redirect("keydiseases:cluster", cluster_id=cluster.pk)
        except ApplicationError as exc:
            error = exc
    items = selectors.cluster_visible_for(user=request.user)
    table = paged_table(request, headers=[_("单位"), _("统计截止日期"), _("流感样病例数"),
                                          _("住院数"), _("死亡数"), _("级别")],
                        items=items, to_row=lambda c: Row(
                            [c.unit_name, c.week_end, c.ili_cases, c.hospitalised, c.deaths,
                             c.get_level_display()],
                            url=reverse("keydiseases:cluster", args=[c.pk])))
    units = selectors.visible_units(user=request.user).filter(
        facility_type__in=("school", "kindergarten"))[:500]
    default_unit = request.user.org_unit.code if request.user.org_unit_id else ""
    return render(request, "keydiseases/clusters.html", {
        "table": table, "form": form, "error": error, "errors": error.errors if error else [],
        "units": units, "default_unit": default_unit, "today": timezone.localdate(),
        "can_report": request.user.has_phis_perm(KeyDiseasePerm.REPORT_CLUSTER),
        "thresholds": {"report": rules.ILI_CLUSTER_REPORT,
                       "emergency": rules.ILI_EMERGENCY_CASES,
                       "hospitalised": rules.ILI_EMERGENCY_HOSPITALISED,
                       "deaths": rules.ILI_EMERGENCY_DEATHS},
    }, status=422 if error is not None else 200)


@login_required
@page_requires(KeyDiseasePerm.VIEW_ILI)
def cluster_detail(request, cluster_id: int):
    cluster = selectors.cluster_get_visible(user=request.user, cluster_id=cluster_id)
    tasks = cluster.tasks.select_related("instance", "instance__owner_unit")
    return render(request, "keydiseases/cluster.html", {"cluster": cluster, "tasks": tasks,
                                                        "now": timezone.now()})


@login_required
@page_requires(KeyDiseasePerm.FOLLOW_UP)
@require_POST
def cluster_task(request, cluster_id: int):
    cluster = selectors.cluster_get_visible(user=request.user, cluster_id=cluster_id)
    task_id = _int(request.POST.get("task_id")) or 0
    if not cluster.tasks.filter(pk=task_id).exists():
        raise Http404
    try:
        services.task_complete(user=request.user, task_id=task_id,
                               comment=request.POST.get("comment", ""))
    except ApplicationError as exc:
        return render(request, "keydiseases/cluster.html", {
            "cluster": cluster, "error": exc, "now": timezone.now(),
            "tasks": cluster.tasks.select_related("instance", "instance__owner_unit")},
            status=exc.status)
    return redirect("keydiseases:cluster", cluster_id=cluster.pk)
