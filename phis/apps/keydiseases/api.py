"""A4 key infectious diseases API (mounted at ``/api/keydiseases/``): managed cases, their
follow-ups, contacts and tasks; ILI sentinel weeks and chart series; school ILI clusters.
Everything is scoped to the caller's org subtrees; reads of personal data are audited."""

from django.utils import timezone
from ninja import Router, Status

from phis.apps.keydiseases import rules, selectors, services
from phis.apps.keydiseases.permissions import KeyDiseasePerm
from phis.apps.keydiseases.schemas import (
    CaseDetailOut,
    CaseOut,
    CheckIn,
    CheckOut,
    ClusterIn,
    ClusterOut,
    ContactIn,
    ContactOut,
    ContactStatusIn,
    FollowUpIn,
    FollowUpOut,
    IliSeriesOut,
    IliSiteIn,
    IliSiteOut,
    IliWeekIn,
    IliWeekOut,
    OutcomeIn,
    OverdueUnitOut,
    ScreeningIn,
    TaskActionIn,
    TaskOut,
    TreatmentIn,
)
from phis.core.api import requires
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import FieldError, ValidationFailed

_ROUTES: list[tuple[str, str, object, dict]] = []


def _route(method: str, path: str, **kwargs):
    def decorator(func):
        _ROUTES.append((method, path, func, kwargs))
        return func

    return decorator


def _limit(value: int) -> int:
    return max(1, min(value, 500))


def _case_detail(request, case) -> CaseDetailOut:
    suggestion = None
    if case.is_tb:
        suggestion = rules.tb_outcome_suggest(services.tb_facts(case), today=timezone.localdate())
    now = timezone.now()
    return CaseDetailOut(
        case=CaseOut.of(case),
        follow_ups=[FollowUpOut.of(f) for f in selectors.case_follow_ups(case=case)],
        contacts=[ContactOut.of(c) for c in selectors.case_contacts(case=case)],
        tasks=[TaskOut.of(t, now) for t in selectors.case_tasks(case=case)],
        card_numbers=[link.card_number for link in selectors.case_cards(case=case)],
        suggested_outcome=suggestion.outcome if suggestion else None,
        suggested_outcome_reason=suggestion.reason if suggestion else "",
        suggested_outcome_reason_en=suggestion.reason_en if suggestion else "")


# --- cases -----------------------------------------------------------------------------------

@_route("get", "/cases", response=list[CaseOut], summary="Managed cases (scoped)")
@requires(KeyDiseasePerm.VIEW_CASES)
def case_list_api(request, disease_code: str = "", status: str = "", county_code: str = "",
                  care_status: str = "", text: str = "", overdue_only: bool = False,
                  limit: int = 100, offset: int = 0):
    filters = selectors.CaseFilter(disease_code=disease_code, status=status,
                                   county_code=county_code, care_status=care_status,
                                   text=text, overdue_only=overdue_only)
    offset = max(0, min(offset, 10**9))
    cases = list(selectors.case_list(user=request.user, filters=filters)
                 [offset:offset + _limit(limit)].select_related("cdc_unit"))
    audit_access(object_type="keydiseases.case", object_id="", person_id=None,
                 purpose="case list", event=AuditEventType.RECORD_SEARCHED,
                 detail={"count": len(cases), "disease_code": disease_code})
    return [CaseOut.of(c) for c in cases]


@_route("get", "/cases/{case_id}", response=CaseDetailOut,
        summary="One case with follow-ups, contacts and tasks")
@requires(KeyDiseasePerm.VIEW_CASES)
def case_detail_api(request, case_id: int):
    case = selectors.case_get_visible(user=request.user, case_id=case_id)
    audit_access(object_type="keydiseases.case", object_id=case.pk, person_id=case.person_id,
                 purpose="case management")
    return _case_detail(request, case)


@_route("post", "/cases/{case_id}/treatment", response=CaseOut,
        summary="Record the TB treatment start (generates the follow-up schedule)")
@requires(KeyDiseasePerm.MANAGE_CASES)
def treatment_start_api(request, case_id: int, payload: TreatmentIn):
    case = services.treatment_start(
        user=request.user, case_id=case_id, version=payload.version,
        data=services.TreatmentInput(start_date=payload.start_date, regimen=payload.regimen,
                                     drug_resistance=payload.drug_resistance,
                                     dot_mode=payload.dot_mode,
                                     dot_supervisor=payload.dot_supervisor))
    return CaseOut.of(case)


@_route("post", "/cases/{case_id}/followups", response={201: FollowUpOut},
        summary="Record a follow-up (scheduled: followup_id; or unscheduled: kind)")
@requires(KeyDiseasePerm.FOLLOW_UP)
def followup_record_api(request, case_id: int, payload: FollowUpIn):
    item = services.followup_record(user=request.user, case_id=case_id,
                                    data=services.FollowUpInput(**payload.dict()))
    return Status(201, FollowUpOut.of(item))


@_route("post", "/cases/{case_id}/outcome", response=CaseOut,
        summary="Close the case with its outcome (TB: WHO definitions)")
@requires(KeyDiseasePerm.MANAGE_CASES)
def outcome_record_api(request, case_id: int, payload: OutcomeIn):
    case = services.case_outcome_record(
        user=request.user, case_id=case_id, version=payload.version,
        data=services.OutcomeInput(outcome=payload.outcome, outcome_date=payload.outcome_date,
                                   note=payload.note))
    return CaseOut.of(case)


@_route("post", "/cases/{case_id}/contacts", response={201: ContactOut},
        summary="Add a close / household contact")
@requires(KeyDiseasePerm.FOLLOW_UP)
def contact_add_api(request, case_id: int, payload: ContactIn):
    contact = services.contact_add(user=request.user, case_id=case_id,
                                   data=services.ContactInput(**payload.dict()))
    return Status(201, ContactOut.of(contact))


# --- contacts ----------------------------------------------------------------------------------

@_route("get", "/contacts/due", response=list[ContactOut],
        summary="Contacts under observation without today's check")
@requires(KeyDiseasePerm.VIEW_CASES)
def contacts_due_api(request, disease_code: str = "", limit: int = 200):
    items = selectors.contacts_due_today(user=request.user, disease_code=disease_code)
    return [ContactOut.of(c) for c in items[:_limit(limit)]]


@_route("post", "/contacts/{contact_id}/checks", response={201: CheckOut},
        summary="Record a day of medical observation")
@requires(KeyDiseasePerm.FOLLOW_UP)
def contact_check_api(request, contact_id: int, payload: CheckIn):
    check = services.contact_check_record(
        user=request.user, contact_id=contact_id,
        data=services.CheckInput(check_date=payload.check_date,
                                 temperature=payload.temperature,
                                 symptoms=list(payload.symptoms), note=payload.note))
    return Status(201, CheckOut.of(check))


@_route("post", "/contacts/{contact_id}/screening", response=ContactOut,
        summary="Record a TB contact's screening result")
@requires(KeyDiseasePerm.FOLLOW_UP)
def contact_screening_api(request, contact_id: int, payload: ScreeningIn):
    contact = services.contact_screening_record(
        user=request.user, contact_id=contact_id, screening_date=payload.screening_date,
        result=payload.result, note=payload.note)
    return ContactOut.of(contact)


@_route("post", "/contacts/{contact_id}/status", response=ContactOut,
        summary="End a contact's observation (released / became a case / lost)")
@requires(KeyDiseasePerm.FOLLOW_UP)
def contact_status_api(request, contact_id: int, payload: ContactStatusIn):
    return ContactOut.of(services.contact_status_set(
        user=request.user, contact_id=contact_id, status=payload.status, note=payload.note))


# --- follow-ups and tasks ------------------------------------------------------------------

@_route("get", "/followups/due", response=list[FollowUpOut],
        summary="Follow-ups due (or overdue) in my scope")
@requires(KeyDiseasePerm.VIEW_CASES)
def followups_due_api(request, disease_code: str = "", overdue: bool = False,
                      limit: int = 200):
    items = selectors.followups_due(user=request.user, disease_code=disease_code,
                                    overdue=overdue)
    return [FollowUpOut.of(f) for f in items[:_limit(limit)]]


_TASK_VIEWS = ("mine", "overdue", "open")


@_route("get", "/tasks", response=list[TaskOut],
        summary="Tasks: mine (my unit's), overdue, or all open in my scope")
@requires(KeyDiseasePerm.VIEW_CASES)
def task_list_api(request, view: str = "mine", disease_code: str = "",
                  owner_unit_code: str = "", limit: int = 200):
    if view not in _TASK_VIEWS:
        raise ValidationFailed([FieldError("view", "invalid_choice", "视图应为mine/overdue/open",
                                           "view must be mine, overdue or open")])
    if view == "mine":
        items = selectors.task_mine(user=request.user, disease_code=disease_code)
    elif view == "overdue":
        items = selectors.task_overdue(user=request.user, disease_code=disease_code,
                                       owner_unit_code=owner_unit_code)
    else:
        items = selectors.task_open(user=request.user, disease_code=disease_code)
    now = timezone.now()
    return [TaskOut.of(t, now) for t in items[:_limit(limit)]]


@_route("get", "/tasks/overdue-by-unit", response=list[OverdueUnitOut],
        summary="Overdue tasks counted per owner unit")
@requires(KeyDiseasePerm.VIEW_CASES)
def overdue_by_unit_api(request, disease_code: str = ""):
    return selectors.overdue_by_unit(user=request.user, disease_code=disease_code)


@_route("post", "/tasks/{task_id}/complete", response=TaskOut, summary="Complete a task")
@requires(KeyDiseasePerm.FOLLOW_UP)
def task_complete_api(request, task_id: int, payload: TaskActionIn):
    task = services.task_complete(user=request.user, task_id=task_id, comment=payload.comment,
                                  expected_version=payload.version)
    return TaskOut.of(task)


@_route("post", "/tasks/{task_id}/cancel", response=TaskOut,
        summary="Cancel a task (county/city CDC, with a reason)")
@requires(KeyDiseasePerm.VIEW_CASES)
def task_cancel_api(request, task_id: int, payload: TaskActionIn):
    task = services.task_cancel(user=request.user, task_id=task_id, comment=payload.comment,
                                expected_version=payload.version)
    return TaskOut.of(task)


# --- ILI sentinel --------------------------------------------------------------------------------

@_route("get", "/ili/sites", response=list[IliSiteOut], summary="Sentinel hospitals (scoped)")
@requires(KeyDiseasePerm.VIEW_ILI)
def ili_sites_api(request):
    return [IliSiteOut.of(s) for s in selectors.ili_sites_for(user=request.user)]


@_route("post", "/ili/sites", response={201: IliSiteOut},
        summary="Designate (or update) a sentinel hospital")
@requires(KeyDiseasePerm.MANAGE_ILI_SITES)
def ili_site_set_api(request, payload: IliSiteIn):
    site = services.ili_site_set(user=request.user, **payload.dict())
    return Status(201, IliSiteOut.of(site))


@_route("get", "/ili/weeks", response=list[IliWeekOut], summary="Sentinel weeks (scoped)")
@requires(KeyDiseasePerm.VIEW_ILI)
def ili_weeks_api(request, site_id: int | None = None, season: int | None = None,
                  county_code: str = "", limit: int = 200):
    items = selectors.ili_weeks(user=request.user, site_id=site_id, season=season,
                                county_code=county_code)
    return [IliWeekOut.of(w) for w in items[:_limit(limit)]]


@_route("post", "/ili/weeks", response={201: IliWeekOut},
        summary="Enter (or correct, with version) a sentinel hospital's week")
@requires(KeyDiseasePerm.REPORT_ILI)
def ili_week_submit_api(request, payload: IliWeekIn):
    data = payload.dict()
    site_id, version = data.pop("site_id"), data.pop("version")
    week = services.ili_week_submit(user=request.user, site_id=site_id, version=version,
                                    data=services.IliWeekInput(**data))
    return Status(201, IliWeekOut.of(week))


@_route("get", "/ili/series", response=IliSeriesOut,
        summary="Weekly ILI% and positivity per season (W14 … W13), city or one county")
@requires(KeyDiseasePerm.VIEW_ILI)
def ili_series_api(request, county_code: str = "", seasons: str = "", count: int = 4):
    chosen = None
    if seasons:
        try:
            chosen = sorted({int(s) for s in seasons.split(",") if s.strip()})
        except ValueError:
            raise ValidationFailed([FieldError("seasons", "invalid", "监测年度应为逗号分隔的年份",
                                               "seasons must be comma-separated years")]
                                   ) from None
    return selectors.ili_chart(user=request.user, county_code=county_code, seasons=chosen,
                               count=max(1, min(count, 10)))


# --- clusters --------------------------------------------------------------------------------

@_route("get", "/clusters", response=list[ClusterOut], summary="School ILI clusters (scoped)")
@requires(KeyDiseasePerm.VIEW_ILI)
def cluster_list_api(request, level: str = "", limit: int = 200):
    qs = selectors.cluster_visible_for(user=request.user)
    if level:
        qs = qs.filter(level=level)
    return [ClusterOut.of(c) for c in qs[:_limit(limit)]]


@_route("post", "/clusters", response={201: ClusterOut},
        summary="Report ILI cases of one week in a school or collective unit")
@requires(KeyDiseasePerm.REPORT_CLUSTER)
def cluster_report_api(request, payload: ClusterIn):
    cluster = services.cluster_report(user=request.user,
                                      data=services.ClusterInput(**payload.dict()))
    return Status(201, ClusterOut.of(cluster))


def build_router() -> Router:
    """A fresh Router with every endpoint (fixed paths before parameterised ones)."""
    router = Router(tags=["A4 key diseases 重点传染病"])
    for method, path, func, kwargs in sorted(_ROUTES, key=lambda r: r[1].count("{")):
        getattr(router, method)(path, **kwargs)(func)
    return router


router = build_router()
