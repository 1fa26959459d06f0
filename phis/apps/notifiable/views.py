"""A3/A9 pages (mounted at ``/notifiable/``): the work-list, the fast card entry form with
live checks, the card list (drill-down target of every dashboard number) with Excel export,
the card page with its history, lab results, signatures and actions, the county review
queue, suspected cases (A9) and the batch import.

Pages only read through ``selectors`` and write through ``services``; every read of a card
(detail page, export) is access-audited; errors come back from the services in Chinese and
English and are shown next to the fields, with everything the user typed kept.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from phis.apps.esign.services import signatures_with_status
from phis.apps.notifiable import rules, selectors, services
from phis.apps.notifiable.forms import (
    IMPORT_COLUMNS,
    LAB_INTERPRETATIONS,
    LABELS,
    MAX_IMPORT_BYTES,
    CardForm,
    LabForm,
    card_filter_from_query,
    code_choices,
    disease_groups,
    disease_names,
    disease_options,
    import_row,
    reason_from,
    version_from,
)
from phis.apps.notifiable.models import (
    CardAction,
    CardStatus,
    CaseClassification,
    ReportCard,
    Sex,
)
from phis.apps.notifiable.permissions import NotifiablePerm
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import ApplicationError, Conflict, FieldError
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import user_scope_paths
from phis.core.orgunits.selectors import counties, orgunit_children, orgunit_get, townships
from phis.core.people.identifiers import normalise_identifier
from phis.core.people.models import IdType
from phis.core.people.selectors import person_search
from phis.core.ui.components import Row, paged_table, xlsx_response
from phis.core.ui.decorators import page_requires

OBJECT_TYPE = "notifiable.reportcard"
EXPORT_LIMIT = 50_000
WORKLIST_LIMIT = 50
NEAR_DEADLINE = timedelta(hours=6)
DEFAULT_LIST_DAYS = timedelta(days=30)  # drafts this close to their report deadline are flagged


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _message(exc: ApplicationError) -> str:
    return exc.message_en if _english() else exc.message


# --- clocks ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Clock:
    """Time left to a deadline (negative: overdue), for the clocks on every list."""

    due: datetime
    seconds: int
    urgent: bool  # a 2-hour card: "soon" starts at 30 minutes

    @property
    def overdue(self) -> bool:
        return self.seconds < 0

    @property
    def soon(self) -> bool:
        return 0 <= self.seconds < (1800 if self.urgent else 2 * 3600)

    @property
    def css(self) -> str:
        return "clock-overdue" if self.overdue else "clock-soon" if self.soon else "clock-ok"

    @property
    def text(self) -> str:
        span = _duration(abs(self.seconds))
        return _("超时 %(span)s") % {"span": span} if self.overdue \
            else _("剩余 %(span)s") % {"span": span}


def _duration(seconds: int) -> str:
    minutes = seconds // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d天%(h)d小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d小时%(m)02d分") % {"h": hours, "m": mins}
    return _("%(m)d分钟") % {"m": mins}


def clock(due: datetime | None, *, now: datetime, hours: int = 24) -> Clock | None:
    if due is None:
        return None
    return Clock(due=due, seconds=int((due - now).total_seconds()),
                 urgent=hours <= rules.URGENT_DEADLINE_HOURS)


@dataclass
class CardLine:
    """One card on a work-list, queue or list page with its names resolved."""

    card: object
    disease: str
    clock: Clock | None = None
    duplicates: int = 0

    @property
    def clean(self) -> bool:
        """Approvable in one click from the queue: an initial report without possible
        duplicates (§2.4); anything else is opened and read first."""
        return self.duplicates == 0 and self.card.card_type == "1"


def _disease_label(card, names: dict[str, str]) -> str:
    name = names.get(card.disease_code, card.disease_code)
    if card.subtype_code:
        name = f"{name}（{names.get(card.subtype_code, card.subtype_code)}）"
    return name


def _lines(cards, *, names, now, due_field: str = "", with_duplicates: bool = False):
    lines = []
    for card in cards:
        due = getattr(card, due_field) if due_field else None
        line = CardLine(card=card, disease=_disease_label(card, names),
                        clock=clock(due, now=now, hours=card.deadline_hours))
        if with_duplicates:
            line.duplicates = _duplicate_count(card)
        lines.append(line)
    return lines


def _duplicate_count(card) -> int:
    """Other reported cards of the same patient and disease in the same episode (§2.4)."""
    candidates = selectors.duplicate_candidates(
        disease_code=card.disease_code,
        diagnosis_year=timezone.localtime(card.diagnosis_at).year,
        id_number_index=card.id_number_index, patient_name=card.patient_name, sex=card.sex,
        occupation=card.occupation, birth_date=card.birth_date, age_value=card.age_value,
        age_unit=card.age_unit, address_unit_id=card.address_unit_id, exclude_id=card.pk)
    return sum(1 for other in candidates[:20]
               if rules.same_episode(card.disease_code, card.onset_date, other.onset_date))


def _list_url(**params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items() if v not in ("", None))
    return f"{reverse('notifiable:card_list')}?{query}" if query \
        else reverse("notifiable:card_list")


# --- home: the user's work-list ----------------------------------------------------------

@never_cache
@login_required
@page_requires(NotifiablePerm.VIEW_CARDS)
def home(request):
    user, now = request.user, timezone.now()
    names = disease_names()
    can_report = user.has_phis_perm(NotifiablePerm.REPORT)
    can_review = user.has_phis_perm(NotifiablePerm.REVIEW)
    context = {"can_report": can_report, "can_review": can_review, "now": now}
    visible = selectors.card_visible_for(user=user).select_related("reporting_unit")
    if can_report:
        own = visible.filter(_own_unit_q(user))
        drafts = own.filter(status=CardStatus.DRAFT).order_by("report_due_at", "pk")
        context["drafts"] = _lines(drafts[:WORKLIST_LIMIT], names=names, now=now,
                                   due_field="report_due_at")
        context["returned"] = _lines(own.filter(status=CardStatus.RETURNED)
                                     .order_by("report_due_at", "pk")[:WORKLIST_LIMIT],
                                     names=names, now=now, due_field="report_due_at")
        context["near_deadline"] = [line for line in context["drafts"]
                                    if line.clock and line.clock.seconds
                                    < NEAR_DEADLINE.total_seconds()]
        context["own_suspected_overdue"] = _lines(
            selectors.suspected_overdue_for(user=user, now=now).filter(_own_unit_q(user))
            [:WORKLIST_LIMIT], names=names, now=now, due_field="suspected_due_at")
    if can_review:
        queue = selectors.card_review_queue(user=user, now=now)
        context["queue_total"] = queue.count()
        context["queue_overdue"] = queue.filter(review_due_at__lte=now).count()
        context["queue"] = _lines(queue[:WORKLIST_LIMIT], names=names, now=now,
                                  due_field="review_due_at")
        context["suspected_by_facility"] = selectors.suspected_overdue_counts(
            user=user, by="facility", now=now)
    return render(request, "notifiable/home.html", context)


def _own_unit_q(user) -> Q:
    """The reporting side of a user's work-list: the cards they filled and those of their
    own unit (the hospital's epidemic-management staff follow every card of the hospital,
    §2.3), not every unit of a county they may oversee."""
    own = Q(reporting_doctor=user)
    if user.org_unit_id:
        own |= Q(reporting_unit_id=user.org_unit_id)
    return own


# --- the entry form ----------------------------------------------------------------------

def _reporting_units(user) -> list[OrgUnit]:
    """Facilities the user may report for: their own first, then any other facility in
    their subtrees (a county CDC enters cards for units without network reporting, §2.2)."""
    paths = user_scope_paths(user)
    units: list[OrgUnit] = []
    if user.org_unit_id and user.org_unit.level == Level.FACILITY:
        units.append(user.org_unit)
    if paths:
        others = OrgUnit.objects.filter(level=Level.FACILITY, is_active=True).filter(
            reduce(or_, (Q(path__startswith=p) for p in paths))).order_by("code")[:500]
        units.extend(u for u in others if u.pk != user.org_unit_id)
    return units


def _township_groups() -> list[tuple[str, list[OrgUnit]]]:
    return [(county.name, list(townships(county=county))) for county in counties()]


def _entry_context(request, form: CardForm, *, card=None, mode: str = "new",
                   error: ApplicationError | None = None, reason: str = "") -> dict:
    keep = tuple(c for c in (form.values.get("disease_code"),
                             form.values.get("subtype_code")) if c)
    diseases, subtypes = disease_options(keep=keep)
    township = form.values.get("address_township", "")
    communities = []
    if township:
        try:
            communities = list(orgunit_children(parent=orgunit_get(code=township)))
        except ApplicationError:
            communities = []
    return {
        "form": form, "v": form.values, "errors": form.errors,
        "error_items": _error_items(form.errors), "error_fields": form.error_fields,
        "error": error, "card": card, "mode": mode, "reason": reason,
        "idempotency_key": (request.POST.get("idempotency_key") if request.method == "POST"
                            else "") or uuid.uuid4().hex,
        "disease_groups": disease_groups(diseases), "subtypes": subtypes,
        "township_groups": _township_groups(), "communities": communities,
        "reporting_units": _reporting_units(request.user),
        "id_types": code_choices("id-document-type"),
        "sexes": [(str(Sex.MALE.value), Sex.MALE.label),
                  (str(Sex.FEMALE.value), Sex.FEMALE.label)],
        "age_units": code_choices("age-unit"),
        "residence_categories": code_choices("patient-residence"),
        "occupations": code_choices("occupation"),
        "classifications": code_choices("case-classification"),
        "acute_chronic_choices": code_choices("acute-chronic"),
    }


def _render_entry(request, form, *, status: int = 200, **kwargs):
    return render(request, "notifiable/card_form.html",
                  _entry_context(request, form, **kwargs), status=status)


def _failed(form: CardForm, exc: ApplicationError) -> int:
    form.add_errors(exc.errors)
    return exc.status if exc.status >= 400 else 422


def _check_errors(request, form: CardForm) -> None:
    """Field errors the services would give, added to the form's own reading errors, so one
    round trip shows every problem."""
    try:
        checked = services.card_check(user=request.user, data=form.data,
                                      card_id=_int_or_none(request.POST.get("card_id")))
    except ApplicationError as exc:
        form.add_errors(exc.errors)
        return
    form.add_errors([FieldError(name, "invalid", zh, en)
                     for name, (zh, en) in checked.errors.items()])


@never_cache
@login_required
@page_requires(NotifiablePerm.REPORT)
@require_http_methods(["GET", "POST"])
def card_new(request):
    if request.method == "GET":
        return _render_entry(request, CardForm.initial(user=request.user))
    submit = request.POST.get("action") != "draft"
    form = CardForm.from_post(request.POST, draft=not submit)
    if form.errors:
        _check_errors(request, form)
        return _render_entry(request, form, status=422)
    try:
        card = services.card_create(user=request.user, data=form.data, submit=submit,
                                    source="web",
                                    idempotency_key=request.POST.get("idempotency_key", ""))
    except ApplicationError as exc:
        status = _failed(form, exc)
        return _render_entry(request, form, status=status, error=exc)
    if submit:
        messages.success(request, _("报告卡 %(number)s 已网络报告，等待县区疾控审核。")
                         % {"number": card.card_number})
        return redirect("notifiable:card_detail", card_id=card.pk)
    messages.success(request, _("草稿 %(number)s 已保存，可稍后继续填写。")
                     % {"number": card.card_number})
    return redirect("notifiable:card_edit", card_id=card.pk)


def _form_from_card(request, card) -> CardForm:
    """The stored card in the form. Its identifiers are decrypted for this form only, and
    that read is access-audited."""
    data = services.card_to_input(card)
    audit_access(object_type=OBJECT_TYPE, object_id=card.pk, person_id=card.person_id,
                 purpose="报告卡修改/订正 card edit or correction")
    return CardForm.from_card(card, id_number=data.id_number, phone=data.phone,
                              address_text=data.address_text)


@never_cache
@login_required
@page_requires(NotifiablePerm.REPORT)
@require_http_methods(["GET", "POST"])
def card_edit(request, card_id: int):
    """Continue a draft, or fix a returned card and report it again."""
    card = selectors.card_get_visible(user=request.user, card_id=card_id)
    if card.status not in rules.EDITABLE_STATUSES:
        messages.info(request, _("该报告卡已报告，修改请使用“订正”。"))
        return redirect("notifiable:card_detail", card_id=card.pk)
    if request.method == "GET":
        return _render_entry(request, _form_from_card(request, card), card=card, mode="edit")
    submit = request.POST.get("action") != "draft"
    form = CardForm.from_post(request.POST, draft=not submit)
    version = version_from(request.POST)
    if form.errors:
        _check_errors(request, form)
        return _render_entry(request, form, card=card, mode="edit", status=422)
    try:
        card = services.card_update(user=request.user, card_id=card.pk, version=version,
                                    data=form.data, submit=submit)
    except Conflict as exc:
        return _stale(request, card.pk, exc)
    except ApplicationError as exc:
        status = _failed(form, exc)
        return _render_entry(request, form, card=card, mode="edit", status=status, error=exc)
    if submit:
        messages.success(request, _("报告卡 %(number)s 已网络报告，等待县区疾控审核。")
                         % {"number": card.card_number})
        return redirect("notifiable:card_detail", card_id=card.pk)
    messages.success(request, _("草稿 %(number)s 已保存，可稍后继续填写。")
                     % {"number": card.card_number})
    return redirect("notifiable:card_edit", card_id=card.pk)


@never_cache
@login_required
@page_requires(NotifiablePerm.REPORT)
@require_http_methods(["GET", "POST"])
def card_revise(request, card_id: int):
    """订正 (§2.4): a corrected report of a reported card, with its reason."""
    card = selectors.card_get_visible(user=request.user, card_id=card_id)
    if card.status not in rules.REVISABLE_STATUSES:
        messages.info(request, _("只有已报告的报告卡可以订正。"))
        return redirect("notifiable:card_detail", card_id=card.pk)
    if request.method == "GET":
        return _render_entry(request, _form_from_card(request, card), card=card,
                             mode="revise")
    form = CardForm.from_post(request.POST)
    reason, reason_errors = reason_from(request.POST, label=("订正原因", "reason for the "
                                                                        "correction"))
    form.errors.extend(reason_errors)
    if form.errors:
        _check_errors(request, form)
        return _render_entry(request, form, card=card, mode="revise", status=422,
                             reason=reason)
    try:
        card = services.card_revise(user=request.user, card_id=card.pk,
                                    version=version_from(request.POST), data=form.data,
                                    reason=reason)
    except Conflict as exc:
        return _stale(request, card.pk, exc)
    except ApplicationError as exc:
        status = _failed(form, exc)
        return _render_entry(request, form, card=card, mode="revise", status=status,
                             error=exc, reason=reason)
    messages.success(request, _("订正报告已提交：%(number)s") % {"number": card.card_number})
    return redirect("notifiable:card_detail", card_id=card.pk)


@never_cache
@login_required
@page_requires(NotifiablePerm.REPORT)
@require_POST
def card_check(request):
    """Live check of the entry form (HTMX partial): field errors and possible duplicates,
    nothing stored."""
    form = CardForm.from_post(request.POST)
    duplicates = []
    try:
        checked = services.card_check(user=request.user, data=form.data,
                                      card_id=_int_or_none(request.POST.get("card_id")))
    except ApplicationError as exc:
        form.add_errors(exc.errors)
    else:
        form.add_errors([FieldError(name, "invalid", zh, en)
                         for name, (zh, en) in checked.errors.items()])
        duplicates = checked.duplicates
    names = disease_names()
    return render(request, "notifiable/_check.html", {
        "errors": form.errors, "error_items": _error_items(form.errors),
        "duplicates": duplicates, "names": names,
    })


def _int_or_none(text) -> int | None:
    return int(text) if text and str(text).isdigit() else None


def _error_items(errors: list[FieldError]) -> list[dict[str, str]]:
    """Errors with the label of their field, for the summaries (links focus the field)."""
    english = _english()
    labels = {name: en if english else zh for name, (zh, en) in LABELS.items()}
    labels.update(reason=_("原因"), reason_code=_("删除原因"), duplicate_of=_("保留卡片编号"),
                  pin=_("签名PIN码"))
    return [{"field": e.field, "label": labels.get(e.field, e.field),
             "message": e.message_en if english else e.message} for e in errors]


@never_cache
@login_required
@page_requires(NotifiablePerm.REPORT)
@require_GET
def person_lookup(request):
    """Resident ID → sex and birth date from the number itself, and matching persons of the
    registry (scoped to the user; the search is access-audited)."""
    id_type = request.GET.get("id_type", IdType.RESIDENT_ID)
    number = (request.GET.get("id_number") or "").strip()[:40]
    english = _english()
    parsed = normalise_identifier(id_type, number)
    if isinstance(parsed, FieldError):
        return JsonResponse({"error": parsed.message_en if english else parsed.message,
                             "persons": []})
    people = list(person_search(user=request.user, id_number=number, id_type=id_type,
                                limit=5))
    audit_access(object_type="people.person", object_id="", person_id=None,
                 purpose="报告卡填报人员查找 card entry look-up",
                 event=AuditEventType.RECORD_SEARCHED,
                 detail={"id_number": True, "results": len(people)})
    persons = []
    for p in people:
        unit = p.address_unit
        persons.append({
            "id": p.pk, "name": p.name, "sex": p.sex,
            "birth_date": p.birth_date.isoformat() if p.birth_date else "",
            "phone_masked": p.phone_masked,
            "address_unit_code": unit.code if unit else "",
            "address_unit_name": unit.name if unit else "",
            "township_code": (unit.code if unit and unit.level == Level.TOWNSHIP
                              else unit.code[:9] if unit and unit.level == Level.COMMUNITY
                              else ""),
        })
    if persons:
        p = persons[0]
        message = _("人员库中找到：%(name)s %(birth)s %(place)s") % {
            "name": p["name"], "birth": p["birth_date"], "place": p["address_unit_name"]}
    else:
        message = _("人员库中未找到此人，已按证件号码填写性别和出生日期。") \
            if parsed.birth_date else _("人员库中未找到此人。")
    return JsonResponse({
        "birth_date": parsed.birth_date.isoformat() if parsed.birth_date else "",
        "sex": parsed.sex or "", "persons": persons, "message": message})


@login_required
@page_requires(NotifiablePerm.VIEW_CARDS)
@require_GET
def communities(request):
    """``<option>``s of the villages/communities of a township (address picker)."""
    code = (request.GET.get("township") or request.GET.get("address_township") or "")[:12]
    units = []
    if code:
        try:
            units = list(orgunit_children(parent=orgunit_get(code=code)))
        except ApplicationError:
            units = []
    return render(request, "notifiable/_community_options.html",
                  {"communities": [u for u in units if u.level == Level.COMMUNITY]})


# --- card list, export, detail ----------------------------------------------------------

LIST_HEADERS = (
    N_("卡片编号"), N_("患者姓名"), N_("性别"), N_("病种"), N_("病例分类"), N_("发病日期"),
    N_("诊断时间"), N_("现住址"), N_("报告单位"), N_("状态"),
)


def _headers(headers) -> list[str]:
    return [_(h) for h in headers]


@never_cache
@login_required
@page_requires(NotifiablePerm.VIEW_CARDS)
def card_list(request):
    if not request.GET:
        # A bare list opens on the last month (a 10-year history is never counted whole);
        # drill-down links always carry their own filters.
        since = timezone.localdate() - DEFAULT_LIST_DAYS
        return redirect(_list_url(date_basis="diagnosis", date_from=since.isoformat()))
    filters, filter_errors = card_filter_from_query(request.GET)
    names = disease_names()
    qs = selectors.card_list(user=request.user, filters=filters).select_related(
        "address_unit")
    sex_labels = dict(Sex.choices)
    cls_labels = dict(CaseClassification.choices)
    status_labels = dict(CardStatus.choices)

    def to_row(card):
        return Row(cells=[
            card.card_number, card.patient_name, sex_labels.get(card.sex, ""),
            _disease_label(card, names), cls_labels.get(card.case_classification, ""),
            card.onset_date, timezone.localtime(card.diagnosis_at).strftime("%Y-%m-%d %H:%M"),
            card.address_unit.name if card.address_unit_id else "",
            card.reporting_unit.name, status_labels.get(card.status, card.status)],
            url=reverse("notifiable:card_detail", args=[card.pk]))

    table = paged_table(request, headers=_headers(LIST_HEADERS), items=qs, to_row=to_row)
    diseases, _subtypes = disease_options()
    return render(request, "notifiable/card_list.html", {
        "table": table, "f": filters, "filter_errors": filter_errors,
        "error": ApplicationError(message="部分筛选条件无效，已忽略",
                                  message_en="Some filters were invalid and were ignored",
                                  errors=filter_errors) if filter_errors else None,
        "diseases": diseases, "counties": counties(),
        "townships": townships(), "statuses": CardStatus.choices,
        "classifications": CaseClassification.choices,
        "date_bases": [("onset", _("发病日期")), ("diagnosis", _("诊断日期")),
                       ("report", _("报告日期")), ("review", _("审核日期"))],
        "selected_statuses": filters.status if isinstance(filters.status, list)
        else [filters.status],
        "can_export": request.user.has_phis_perm(NotifiablePerm.EXPORT),
        "extra_params": [(k, request.GET.get(k)) for k in
                         ("card_ids", "review_overdue", "reported_late", "card_type", "source")
                         if request.GET.get(k)],
    })


EXPORT_HEADERS = (
    N_("卡片编号"), N_("报卡类别"), N_("状态"), N_("患者姓名"), N_("患儿家长姓名"),
    N_("有效证件号"), N_("性别"), N_("出生日期"), N_("年龄"), N_("工作单位(学校)"),
    N_("联系电话"), N_("病人属于"), N_("现住址"), N_("现住址县区"), N_("现住址乡镇街道"),
    N_("人群分类"), N_("病种"), N_("病种分型"), N_("ICD-10编码"), N_("病例分类"),
    N_("急性/慢性"), N_("发病日期"), N_("诊断时间"), N_("死亡日期"), N_("报告单位"),
    N_("填卡医生"), N_("填卡日期"), N_("网络报告时间"), N_("迟报"), N_("审核时间"),
    N_("审核超时"), N_("退卡原因"), N_("删除原因"), N_("备注"),
)


def _export_rows(cards, names):
    labels = {k: dict(code_choices(k)) for k in
              ("patient-residence", "occupation", "acute-chronic", "report-card-type")}
    sex_labels, status_labels = dict(Sex.choices), dict(CardStatus.choices)
    cls_labels = dict(CaseClassification.choices)
    yes, no = _("是"), _("否")

    def flag(value):
        return "" if value is None else yes if value else no

    def local(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

    for c in cards:
        age = f"{c.age_value}{c.age_unit}" if c.age_value is not None else ""
        yield [c.card_number, labels["report-card-type"].get(c.card_type, c.card_type),
               status_labels.get(c.status, c.status), c.patient_name, c.parent_name,
               c.id_number_masked, sex_labels.get(c.sex, ""), c.birth_date, age,
               c.work_unit, c.phone_masked,
               labels["patient-residence"].get(c.residence_category, ""),
               c.address_unit.name if c.address_unit_id else "", c.county_code,
               c.township_code, labels["occupation"].get(c.occupation, c.occupation),
               names.get(c.disease_code, c.disease_code), names.get(c.subtype_code, ""),
               c.icd10_code, cls_labels.get(c.case_classification, ""),
               labels["acute-chronic"].get(c.acute_chronic, ""), c.onset_date,
               local(c.diagnosis_at), c.death_date, c.reporting_unit.name, c.doctor_name,
               c.filled_date, local(c.reported_at), flag(c.reported_late),
               local(c.reviewed_at), flag(c.reviewed_late), c.return_reason,
               c.delete_reason, c.remarks]


@never_cache
@login_required
@page_requires(NotifiablePerm.VIEW_CARDS, NotifiablePerm.EXPORT)
def card_export(request):
    filters, _errors = card_filter_from_query(request.GET)
    cards = list(selectors.card_list(user=request.user, filters=filters)
                 .select_related("address_unit")[:EXPORT_LIMIT])
    audit_access(object_type=OBJECT_TYPE, object_id="", person_id=None,
                 purpose="报告卡导出 card export", event=AuditEventType.RECORD_EXPORTED,
                 detail={"rows": len(cards), "filters": request.GET.urlencode()[:500]})
    return xlsx_response(filename="notifiable-cards.xlsx", headers=_headers(EXPORT_HEADERS),
                         rows=_export_rows(cards, disease_names()),
                         exported_by=request.user.username, title="cards")


def _field_label(name: str) -> str:
    """The card field's own label for the history ("发病日期" rather than onset_date)."""
    try:
        return str(ReportCard._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


# service field names → the inputs of the card page's action forms
DETAIL_FIELD_ALIASES = {"duplicate_of_id": "duplicate_of"}


def _detail_context(request, card, *, error: ApplicationError | None = None,
                    form_values: dict | None = None) -> dict:
    user, now = request.user, timezone.now()
    names = disease_names()
    can_report = user.has_phis_perm(NotifiablePerm.REPORT)
    can_review = user.has_phis_perm(NotifiablePerm.REVIEW)
    status = card.status
    labels = {k: dict(code_choices(k)) for k in
              ("patient-residence", "occupation", "acute-chronic", "report-card-type",
               "id-document-type", "age-unit")}
    history = list(selectors.card_history(user=user, card_id=card.pk))
    errors = [FieldError(DETAIL_FIELD_ALIASES.get(e.field, e.field), e.code, e.message,
                         e.message_en) for e in (error.errors if error else [])]
    action_labels = dict(CardAction.choices)
    status_labels = dict(CardStatus.choices)
    return {
        "card": card, "error": error, "errors": errors,
        "error_items": _error_items(errors), "error_fields": {e.field for e in errors},
        "v": form_values or {},
        "disease": _disease_label(card, names),
        "original_disease": names.get(card.original_disease_code,
                                      card.original_disease_code),
        "sex_label": dict(Sex.choices).get(card.sex, ""),
        "classification_label": dict(CaseClassification.choices).get(
            card.case_classification, ""),
        "labels": {k: v.get(getattr(card, f), "") for k, (v, f) in {
            "residence": (labels["patient-residence"], "residence_category"),
            "occupation": (labels["occupation"], "occupation"),
            "acute_chronic": (labels["acute-chronic"], "acute_chronic"),
            "card_type": (labels["report-card-type"], "card_type"),
            "id_type": (labels["id-document-type"], "id_type"),
            "age_unit": (labels["age-unit"], "age_unit")}.items()},
        "report_clock": clock(card.report_due_at, now=now, hours=card.deadline_hours)
        if status == CardStatus.DRAFT else None,
        "review_clock": clock(card.review_due_at, now=now, hours=card.deadline_hours)
        if status == CardStatus.SUBMITTED else None,
        "suspected_clock": clock(card.suspected_due_at, now=now, hours=24)
        if card.suspected_due_at and not card.suspected_outcome
        and status in selectors.COUNTED_STATUSES else None,
        "history": [{"event": e, "action": action_labels.get(e.action, e.action),
                     "from": status_labels.get(e.from_status, e.from_status),
                     "to": status_labels.get(e.to_status, e.to_status),
                     "changed": [_field_label(k) for k in (e.changes or {})]}
                    for e in history],
        "lab_results": list(selectors.card_lab_results(user=user, card_id=card.pk)),
        "signatures": signatures_with_status(card, by=user),
        "duplicate_count": _duplicate_count(card) if status == CardStatus.SUBMITTED else 0,
        "can_edit": can_report and status in rules.EDITABLE_STATUSES,
        "can_revise": can_report and status in rules.REVISABLE_STATUSES,
        "can_review": can_review and status == CardStatus.SUBMITTED,
        "can_delete": (can_review and status in (CardStatus.SUBMITTED, CardStatus.REVIEWED,
                                                 CardStatus.RETURNED))
        or (can_report and status == CardStatus.DRAFT),
        "can_restore": can_review and status == CardStatus.DELETED
        and card.deleted_after_review,
        "can_attach_lab": (can_report or can_review) and status != CardStatus.DELETED,
        "delete_reasons": [(k, en if _english() else zh)
                           for k, (zh, en) in rules.DeleteReason.LABELS.items()],
        "lab_interpretations": [(k, en if _english() else zh)
                                for k, zh, en in LAB_INTERPRETATIONS],
        "person_url": reverse("people:detail", args=[card.person_id])
        if card.person_id else "",
        "duplicate_of": card.duplicate_of if card.duplicate_of_id else None,
    }


@never_cache
@login_required
@page_requires(NotifiablePerm.VIEW_CARDS)
def card_detail(request, card_id: int):
    card = selectors.card_get_visible(user=request.user, card_id=card_id)
    audit_access(object_type=OBJECT_TYPE, object_id=card.pk, person_id=card.person_id,
                 purpose=(request.GET.get("purpose") or "报告卡查看 card view")[:100])
    return render(request, "notifiable/card_detail.html", _detail_context(request, card))


def _stale(request, card_id: int, exc: ApplicationError):
    """409: someone else changed the card first; show the fresh card and what happened."""
    card = selectors.card_get_visible(user=request.user, card_id=card_id)
    audit_access(object_type=OBJECT_TYPE, object_id=card.pk, person_id=card.person_id,
                 purpose="报告卡查看 card view (conflict)")
    context = _detail_context(request, card, error=exc)
    context["conflict"] = True
    return render(request, "notifiable/card_detail.html", context, status=409)


ACTIONS = ("submit", "review", "return", "delete", "restore")


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


@never_cache
@login_required
@page_requires(NotifiablePerm.VIEW_CARDS)
@require_POST
def card_action(request, card_id: int, action: str):
    """The buttons of the card page: report a draft, approve (with the signing PIN), return
    with a reason, delete with a reason (and the kept card for a duplicate), restore."""
    if action not in ACTIONS:
        return HttpResponse(status=404)
    card = selectors.card_get_visible(user=request.user, card_id=card_id)
    version = version_from(request.POST)
    post = request.POST
    try:
        if action == "submit":
            card = services.card_submit(user=request.user, card_id=card.pk, version=version)
            done = _("报告卡 %(number)s 已网络报告，等待县区疾控审核。")
        elif action == "review":
            card = services.card_review(user=request.user, card_id=card.pk, version=version,
                                        pin=post.get("pin") or None)
            done = _("报告卡 %(number)s 已审核通过。")
        elif action == "return":
            reason = _reason_or_raise(post, ("退卡原因", "reason for returning"))
            card = services.card_return(user=request.user, card_id=card.pk, version=version,
                                        reason=reason)
            done = _("报告卡 %(number)s 已退回报告单位。")
        elif action == "delete":
            reason = _delete_reason(post)
            card = services.card_delete(user=request.user, card_id=card.pk, version=version,
                                        reason=reason, reason_code=post.get("reason_code", ""),
                                        duplicate_of_id=_kept_card_id(request, post))
            done = _("报告卡 %(number)s 已删除。")
        else:
            reason = _reason_or_raise(post, ("恢复原因", "reason for restoring"))
            card = services.card_restore(user=request.user, card_id=card.pk, version=version,
                                         reason=reason)
            done = _("报告卡 %(number)s 已恢复。")
    except Conflict as exc:
        return _stale(request, card.pk, exc)
    except ApplicationError as exc:
        if exc.status == 404:
            raise
        fresh = selectors.card_get_visible(user=request.user, card_id=card.pk)
        context = _detail_context(request, fresh, error=exc,
                                  form_values={k: post.get(k, "") for k in
                                               ("reason", "reason_code", "duplicate_of",
                                                "action")} | {"action": action})
        return render(request, "notifiable/card_detail.html", context,
                      status=exc.status if exc.status >= 400 else 422)
    messages.success(request, done % {"number": card.card_number})
    return redirect(_safe_next(request, reverse("notifiable:card_detail", args=[card.pk])))


def _reason_or_raise(post, label: tuple[str, str]) -> str:
    reason, errors = reason_from(post, label=label)
    if errors:
        raise ApplicationError(code="validation_failed", message="请填写原因",
                               message_en="Please give a reason", errors=errors, status=422)
    return reason


def _delete_reason(post) -> str:
    """The reason code's label plus the free text: "重复报告：…" (§2.4)."""
    code = post.get("reason_code", "")
    label = rules.DeleteReason.LABELS.get(code)
    text = (post.get("reason") or "").strip()
    if label is None:
        raise ApplicationError(code="validation_failed", message="请选择删除原因",
                               message_en="Choose the reason for deleting", status=422,
                               errors=[FieldError("reason_code", "required", "请选择删除原因",
                                                  "Choose the reason for deleting")])
    if code == rules.DeleteReason.OTHER and not text:
        raise ApplicationError(code="validation_failed", message="请说明删除原因",
                               message_en="Explain the reason for deleting", status=422,
                               errors=[FieldError("reason", "required", "请说明删除原因",
                                                  "Explain the reason for deleting")])
    return f"{label[0]}：{text}"[:500] if text else label[0]


def _kept_card_id(request, post) -> int | None:
    """The card kept when a duplicate is deleted, given by its card number (§2.4)."""
    number = (post.get("duplicate_of") or "").strip()
    if post.get("reason_code") != rules.DeleteReason.DUPLICATE:
        return None
    if not number:
        raise ApplicationError(code="validation_failed", message="请填写保留卡片的编号",
                               message_en="Give the number of the card that is kept",
                               status=422,
                               errors=[FieldError("duplicate_of", "required",
                                                  "删除重复卡须填写保留卡片的编号",
                                                  "Deleting a duplicate needs the number of "
                                                  "the card that is kept")])
    try:
        kept = selectors.card_get_by_number(user=request.user, card_number=number)
    except ApplicationError:
        raise ApplicationError(code="validation_failed", message="保留卡片不存在或无权查看",
                               message_en="The kept card does not exist or is outside your "
                               "scope", status=422,
                               errors=[FieldError("duplicate_of", "not_found",
                                                  "保留卡片不存在或无权查看",
                                                  "The kept card does not exist or is "
                                                  "outside your scope")]) from None
    return kept.pk


@never_cache
@login_required
@page_requires(NotifiablePerm.VIEW_CARDS)
@require_POST
def card_lab_result(request, card_id: int):
    card = selectors.card_get_visible(user=request.user, card_id=card_id)
    form = LabForm.from_post(request.POST)
    try:
        if form.errors:
            raise ApplicationError(code="validation_failed", message="检验结果有误",
                                   message_en="The lab result has errors", errors=form.errors,
                                   status=422)
        services.card_attach_lab_result(user=request.user, card_id=card.pk,
                                        data=services.LabResultInput(**form.data))
    except ApplicationError as exc:
        if exc.status == 404:
            raise
        context = _detail_context(request, card, error=exc,
                                  form_values=form.values | {"action": "lab"})
        return render(request, "notifiable/card_detail.html", context,
                      status=exc.status if exc.status >= 400 else 422)
    messages.success(request, _("检验结果已附加到报告卡 %(number)s。")
                     % {"number": card.card_number})
    return redirect("notifiable:card_detail", card_id=card.pk)


# --- review queue -------------------------------------------------------------------------

@never_cache
@login_required
@page_requires(NotifiablePerm.REVIEW)
@require_http_methods(["GET", "POST"])
def review_queue(request):
    """Cards awaiting review, most urgent first (2-hour cards lead because their deadline is
    nearest); a clean card is approved in one click, with the signing PIN given once."""
    now, error = timezone.now(), None
    if request.method == "POST":
        card_id, _sep, version = (request.POST.get("approve") or "").partition(":")
        try:
            if not card_id.isdigit():
                raise ApplicationError(code="invalid", message="请选择报告卡",
                                       message_en="Choose a card")
            card = services.card_review(user=request.user, card_id=int(card_id),
                                        version=int(version) if version.isdigit() else None,
                                        pin=request.POST.get("pin") or None)
        except ApplicationError as exc:
            if exc.status == 404:
                raise
            error = exc
        else:
            messages.success(request, _("报告卡 %(number)s 已审核通过。")
                             % {"number": card.card_number})
            return redirect("notifiable:review_queue")
    queue = selectors.card_review_queue(user=request.user, now=now)
    total = queue.count()
    lines = _lines(queue[:200], names=disease_names(), now=now, due_field="review_due_at",
                   with_duplicates=True)
    lines.sort(key=lambda line: (line.card.deadline_hours > rules.URGENT_DEADLINE_HOURS,
                                 line.card.review_due_at or now, line.card.pk))
    return render(request, "notifiable/review_queue.html", {
        "lines": lines, "total": total, "error": error,
        "overdue": sum(1 for line in lines if line.clock and line.clock.overdue),
    }, status=error.status if error else 200)


# --- suspected cases (A9) -------------------------------------------------------------------

def _open_suspected(user):
    """Suspected cases not yet confirmed or excluded, soonest deadline first."""
    filters = selectors.CardFilter(case_classification=CaseClassification.SUSPECTED,
                                   status=list(selectors.COUNTED_STATUSES))
    return (selectors.card_list(user=user, filters=filters).filter(suspected_outcome="")
            .order_by("suspected_due_at", "pk"))


@never_cache
@login_required
@page_requires(NotifiablePerm.VIEW_CARDS)
def suspected(request):
    user, now = request.user, timezone.now()
    names = disease_names()
    open_cases = _open_suspected(user)
    county_names = {c.code: c.name for c in counties()}
    by_county = [dict(row, name=county_names.get(row["county_code"], row["county_code"]
                                                 or _("外地"))) for row in
                 selectors.suspected_overdue_counts(user=user, by="county", now=now)]
    return render(request, "notifiable/suspected.html", {
        "open_lines": _lines(open_cases[:300], names=names, now=now,
                             due_field="suspected_due_at"),
        "open_total": open_cases.count(),
        "overdue_lines": _lines(selectors.suspected_overdue_for(user=user, now=now)[:300],
                                names=names, now=now, due_field="suspected_due_at"),
        "by_facility": selectors.suspected_overdue_counts(user=user, by="facility", now=now),
        "by_county": by_county,
        "can_export": user.has_phis_perm(NotifiablePerm.EXPORT),
    })


SUSPECTED_HEADERS = (
    N_("卡片编号"), N_("患者姓名"), N_("病种"), N_("报告单位"), N_("现住址县区"),
    N_("诊断时间"), N_("订正时限"), N_("是否超时"),
)


@never_cache
@login_required
@page_requires(NotifiablePerm.VIEW_CARDS, NotifiablePerm.EXPORT)
def suspected_export(request):
    now = timezone.now()
    cards = list(_open_suspected(request.user).select_related("reporting_unit")
                 [:EXPORT_LIMIT])
    audit_access(object_type=OBJECT_TYPE, object_id="", person_id=None,
                 purpose="疑似病例导出 suspected export", event=AuditEventType.RECORD_EXPORTED,
                 detail={"rows": len(cards), "list": "suspected"})
    names = disease_names()
    yes, no = _("是"), _("否")
    rows = [[c.card_number, c.patient_name, _disease_label(c, names), c.reporting_unit.name,
             c.county_code, timezone.localtime(c.diagnosis_at).strftime("%Y-%m-%d %H:%M"),
             timezone.localtime(c.suspected_due_at).strftime("%Y-%m-%d %H:%M")
             if c.suspected_due_at else "",
             yes if c.suspected_due_at and c.suspected_due_at <= now else no] for c in cards]
    return xlsx_response(filename="suspected-cases.xlsx", headers=_headers(SUSPECTED_HEADERS),
                         rows=rows, exported_by=request.user.username, title="suspected")


# --- batch import -----------------------------------------------------------------------

IMPORT_EXAMPLE = {
    "patient_name": "张三", "id_type": "01", "sex": "1", "occupation": "09",
    "address_code": "370502001011", "disease_code": "hfmd",
    "case_classification": "2", "onset_date": "2026-01-03",
    "diagnosis_at": "2026-01-04 09:30", "doctor_name": "李医生",
}


def _import_columns() -> list[str]:
    return list(IMPORT_COLUMNS)


def _import_inputs(rows: list[dict]):
    """Typed inputs for ``cards_import``; a row whose cells cannot be read goes in as a
    ``FieldErrorRow`` so it is reported with its number like any other bad row."""
    for row in rows:
        data, errors = import_row(row)
        yield data if data is not None else services.FieldErrorRow(errors=errors)


def _read_upload(upload) -> list[dict]:
    """Rows of an uploaded CSV (UTF-8, with or without BOM, or GB18030) or .xlsx file as
    dicts keyed by the header line."""
    name = (upload.name or "").lower()
    content = upload.read()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = None
        out = []
        for raw in rows:
            cells = ["" if c is None else c for c in raw]
            if header is None:
                if any(str(c).strip() for c in cells):
                    header = [str(c).strip() for c in cells]
                continue
            if any(str(c).strip() for c in cells):
                out.append({h: (c.isoformat(sep=" ") if isinstance(c, datetime)
                                else c.isoformat() if hasattr(c, "isoformat")
                                else str(c).strip())
                            for h, c in zip(header, cells, strict=False) if h})
        return out
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ApplicationError(code="bad_encoding", message="无法识别文件编码，请保存为UTF-8",
                               message_en="Unreadable encoding; save the file as UTF-8",
                               status=422)
    return [{k.strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(io.StringIO(text))]


@never_cache
@login_required
@page_requires(NotifiablePerm.IMPORT)
@require_http_methods(["GET", "POST"])
def import_page(request):
    report, error = None, None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ApplicationError(code="required", message="请选择要导入的文件",
                                       message_en="Choose a file to import", status=422)
            if upload.size > MAX_IMPORT_BYTES:
                raise ApplicationError(code="too_large", message="文件超过20MB",
                                       message_en="The file is larger than 20 MB",
                                       status=422)
            if not upload.name.lower().endswith((".csv", ".xlsx")):
                raise ApplicationError(code="bad_type", message="只接受 .csv 或 .xlsx 文件",
                                       message_en="Only .csv and .xlsx files are accepted",
                                       status=422)
            rows = _read_upload(upload)
            if not rows:
                raise ApplicationError(code="empty", message="文件中没有数据行",
                                       message_en="The file has no data rows", status=422)
            # Row numbers are those of the file: the header is line 1.
            report = services.cards_import(user=request.user, rows=_import_inputs(rows),
                                           source="import", first_row=2)
        except ApplicationError as exc:
            error = exc
    return render(request, "notifiable/import.html", {
        "report": report, "error": error, "columns": _import_columns(),
    }, status=error.status if error else 200)


@login_required
@page_requires(NotifiablePerm.IMPORT)
def import_template(request):
    """The CSV header of the import plus one example row (UTF-8 with BOM for Excel)."""
    columns = _import_columns()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerow([IMPORT_EXAMPLE.get(c, "") for c in columns])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="notifiable-import-template.csv"'
    return response
