"""Every read of A4 data, scoped to the caller's org subtrees (ARCHITECTURE.md §2).

Who sees a managed case: users whose subtrees hold the patient's current address (the
county CDC, the township health centre of the residence) or the treating hospital (the
hospital sees its patients). A contact is seen also where the contact lives (a contact in
another township is followed up there). ILI figures are seen where the sentinel hospital
sits; clusters where the collective unit sits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from phis.apps.keydiseases import rules
from phis.apps.keydiseases.models import (
    CaseStatus,
    CaseTask,
    Contact,
    ContactCheck,
    ContactStatus,
    FollowUp,
    FollowUpStatus,
    IliCluster,
    IliSite,
    IliWeek,
    ManagedCase,
)
from phis.apps.keydiseases.workflow import OPEN, TASK_DEFINITION
from phis.core.exceptions import NotFound
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import scope_q
from phis.core.workflow.selectors import workflow_overdue, workflow_visible

# --- cases -------------------------------------------------------------------------------------


def _case_q(user) -> Q:
    return scope_q(user, "address_unit", "treating_unit", "managing_unit")


def case_visible_for(*, user) -> QuerySet[ManagedCase]:
    return ManagedCase.objects.filter(_case_q(user))


def case_get_visible(*, user, case_id: int) -> ManagedCase:
    case = (case_visible_for(user=user)
            .select_related("address_unit", "treating_unit", "managing_unit", "cdc_unit",
                            "person", "closed_by")
            .filter(pk=case_id).first())
    if case is None:
        raise NotFound("管理病例", "managed case")
    return case


@dataclass
class CaseFilter:
    disease_code: str = ""
    status: str = ""
    county_code: str = ""
    care_status: str = ""
    text: str = ""
    overdue_only: bool = False


def case_list(*, user, filters: CaseFilter | None = None,
              today: date | None = None) -> QuerySet[ManagedCase]:
    f = filters or CaseFilter()
    qs = case_visible_for(user=user).select_related("address_unit", "treating_unit",
                                                    "managing_unit")
    if f.disease_code:
        qs = qs.filter(disease_code=f.disease_code)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.county_code:
        qs = qs.filter(county_code=f.county_code)
    if f.care_status:
        qs = qs.filter(care_status=f.care_status)
    if f.text:
        text = f.text.replace("\x00", "").strip()[:64]
        qs = qs.filter(Q(patient_name__startswith=text) | Q(card_number=text))
    if f.overdue_only:
        qs = qs.filter(Exists(_overdue_followups(today or timezone.localdate())
                              .filter(case=OuterRef("pk"))))
    return qs.order_by("-opened_at", "-pk")


def case_find_open(*, identity_key: str, disease_code: str) -> ManagedCase | None:
    """For the module's own services (not scoped)."""
    return ManagedCase.objects.filter(identity_key=identity_key, disease_code=disease_code,
                                      status=CaseStatus.OPEN).first()


def case_for_card(*, card_id: int) -> ManagedCase | None:
    return ManagedCase.objects.filter(card_links__card_id=card_id).first()


def case_follow_ups(*, case: ManagedCase) -> QuerySet[FollowUp]:
    return case.follow_ups.select_related("unit", "performed_by").order_by(
        F("scheduled_date").asc(nulls_last=True), "done_date", "pk")


def case_contacts(*, case: ManagedCase) -> QuerySet[Contact]:
    return case.contacts.select_related("address_unit").annotate(
        checks_count=Count("checks")).order_by("name", "pk")


def case_tasks(*, case: ManagedCase) -> QuerySet[CaseTask]:
    return case.tasks.select_related("instance", "instance__owner_unit",
                                     "instance__owner_user").order_by("created_at", "pk")


def case_cards(*, case: ManagedCase):
    return case.card_links.order_by("linked_at", "pk")


def followup_get(*, case: ManagedCase, followup_id: int) -> FollowUp:
    item = case.follow_ups.filter(pk=followup_id).first()
    if item is None:
        raise NotFound("随访记录", "follow-up")
    return item


def _overdue_followups(today: date) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(status__in=(FollowUpStatus.SCHEDULED, FollowUpStatus.MISSED),
                                   window_end__lt=today, case__status=CaseStatus.OPEN)


def followups_due(*, user, disease_code: str = "", until: date | None = None,
                  overdue: bool = False, today: date | None = None) -> QuerySet[FollowUp]:
    """Scheduled follow-ups of visible open cases due by ``until`` (overdue: window passed)."""
    today = today or timezone.localdate()
    qs = FollowUp.objects.filter(case__in=case_visible_for(user=user),
                                 case__status=CaseStatus.OPEN)
    if overdue:
        qs = qs.filter(status__in=(FollowUpStatus.SCHEDULED, FollowUpStatus.MISSED),
                       window_end__lt=today)
    else:
        qs = qs.filter(status=FollowUpStatus.SCHEDULED, scheduled_date__lte=until or today)
    if disease_code:
        qs = qs.filter(case__disease_code=disease_code)
    return qs.select_related("case", "unit").order_by("scheduled_date", "pk")


def followups_to_mark_missed(*, today: date) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(status=FollowUpStatus.SCHEDULED, window_end__lt=today,
                                   case__status=CaseStatus.OPEN)


def tb_cases_interrupted(*, today: date) -> QuerySet[ManagedCase]:
    """Open TB cases on treatment whose last observed dose (or the start) lies
    ``TB_INTERRUPTION_DAYS`` or more back (candidates for lost to follow-up)."""
    from datetime import timedelta

    limit = today - timedelta(days=rules.TB_INTERRUPTION_DAYS)
    recent = FollowUp.objects.filter(case=OuterRef("pk"), status=FollowUpStatus.DONE,
                                     last_dose_date__gt=limit)
    return (ManagedCase.objects.filter(plan="tb", status=CaseStatus.OPEN,
                                       treatment_start_date__lte=limit,
                                       treatment_ended_on__isnull=True)
            .exclude(regimen=rules.REGIMEN_RR_REFERRAL)
            .filter(~Exists(recent)))


# --- contacts ----------------------------------------------------------------------------------

def contact_visible_for(*, user) -> QuerySet[Contact]:
    return Contact.objects.filter(scope_q(user, "address_unit")
                                  | Q(case__in=case_visible_for(user=user)))


def contact_get_visible(*, user, contact_id: int) -> Contact:
    contact = (contact_visible_for(user=user).select_related("case", "address_unit")
               .filter(pk=contact_id).first())
    if contact is None:
        raise NotFound("密切接触者", "contact")
    return contact


def contacts_due_today(*, user, today: date | None = None,
                       disease_code: str = "") -> QuerySet[Contact]:
    """Contacts under observation without today's check: the daily visit list."""
    today = today or timezone.localdate()
    checked = ContactCheck.objects.filter(contact=OuterRef("pk"), check_date=today)
    qs = (contact_visible_for(user=user)
          .filter(status__in=(ContactStatus.OBSERVING, ContactStatus.SYMPTOMATIC),
                  observation_end__gte=today)
          .filter(~Exists(checked)))
    if disease_code:
        qs = qs.filter(case__disease_code=disease_code)
    return qs.select_related("case", "address_unit").order_by("observation_end", "pk")


def contact_checks(*, contact: Contact) -> QuerySet[ContactCheck]:
    return contact.checks.select_related("by").order_by("check_date")


def contacts_observation_ended(*, today: date) -> QuerySet[Contact]:
    return Contact.objects.filter(status=ContactStatus.OBSERVING, observation_end__lt=today)


# --- tasks -------------------------------------------------------------------------------------

def _tasks(qs_instances) -> QuerySet[CaseTask]:
    return (CaseTask.objects.filter(instance__in=qs_instances.values("pk"))
            .select_related("instance", "instance__owner_unit", "instance__owner_user",
                            "case", "cluster", "contact"))


def task_visible_for(*, user) -> QuerySet[CaseTask]:
    return _tasks(workflow_visible(user=user, definition=TASK_DEFINITION))


def task_get_visible(*, user, task_id: int) -> CaseTask:
    task = task_visible_for(user=user).filter(pk=task_id).first()
    if task is None:
        raise NotFound("任务", "task")
    return task


def task_mine(*, user, disease_code: str = "") -> QuerySet[CaseTask]:
    """Open tasks the user's own unit owns (or assigned to the user), soonest first."""
    own = Q(instance__owner_user_id=user.pk) | Q(instance__owner_user__isnull=True,
                                                 instance__owner_unit_id=user.org_unit_id)
    qs = task_visible_for(user=user).filter(own, instance__is_open=True)
    if disease_code:
        qs = qs.filter(disease_code=disease_code)
    return qs.order_by(F("instance__due_at").asc(nulls_last=True), "pk")


def task_overdue(*, user, disease_code: str = "", owner_unit_code: str = "",
                 now: datetime | None = None) -> QuerySet[CaseTask]:
    qs = _tasks(workflow_overdue(user=user, definition=TASK_DEFINITION, now=now))
    if disease_code:
        qs = qs.filter(disease_code=disease_code)
    if owner_unit_code:
        qs = qs.filter(instance__owner_unit__code=owner_unit_code)
    return qs.order_by("instance__due_at", "pk")


def task_open(*, user, disease_code: str = "") -> QuerySet[CaseTask]:
    qs = task_visible_for(user=user).filter(instance__is_open=True)
    if disease_code:
        qs = qs.filter(disease_code=disease_code)
    return qs.order_by(F("instance__due_at").asc(nulls_last=True), "pk")


def overdue_by_unit(*, user, disease_code: str = "", now: datetime | None = None) -> list[dict]:
    """Overdue open tasks counted per owner unit (the overdue list per unit)."""
    qs = task_overdue(user=user, disease_code=disease_code, now=now)
    rows = (qs.values("instance__owner_unit__code", "instance__owner_unit__name")
            .annotate(count=Count("pk")).order_by("-count", "instance__owner_unit__code"))
    return [{"unit_code": r["instance__owner_unit__code"],
             "unit_name": r["instance__owner_unit__name"], "count": r["count"]} for r in rows]


def task_for_case_step(*, case: ManagedCase, kind: str) -> CaseTask | None:
    return (case.tasks.select_related("instance").filter(kind=kind, contact__isnull=True)
            .first())


def task_open_for_case(*, case: ManagedCase) -> QuerySet[CaseTask]:
    return case.tasks.select_related("instance").filter(instance__is_open=True,
                                                        instance__state=OPEN)


# --- org units the services need --------------------------------------------------------------

def unit_by_code(code: str) -> OrgUnit | None:
    return OrgUnit.objects.filter(code=code).first() if code else None


def township_of(unit: OrgUnit | None) -> OrgUnit | None:
    if unit is None:
        return None
    if unit.level == Level.TOWNSHIP:
        return unit
    codes = [c for c in unit.path.strip("/").split("/") if c]
    return OrgUnit.objects.filter(code__in=codes, level=Level.TOWNSHIP).first()


def health_centre_of(township: OrgUnit | None) -> OrgUnit | None:
    """The township health centre / community health service centre of a township."""
    if township is None:
        return None
    return (OrgUnit.objects.filter(parent=township, level=Level.FACILITY, is_active=True,
                                   facility_type__in=("township_health_centre",
                                                      "community_health_centre"))
            .order_by("code").first())


def users_of_unit(*, unit: OrgUnit, perm: str) -> list:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(org_unit=unit, is_active=True).order_by("pk")
    return [u for u in users if u.has_phis_perm(perm)]


def visible_units(*, user, level: int | None = None) -> QuerySet[OrgUnit]:
    qs = OrgUnit.objects.filter(_units_q(user))
    if level is not None:
        qs = qs.filter(level=level)
    return qs.order_by("path")


def _units_q(user) -> Q:
    from phis.core.orgunits.scoping import user_scope_paths

    paths = user_scope_paths(user)
    q = Q(pk__in=[])
    for p in paths:
        q |= Q(path__startswith=p)
    return q


# --- ILI sentinel ----------------------------------------------------------------------------

def ili_sites_for(*, user) -> QuerySet[IliSite]:
    return IliSite.objects.filter(scope_q(user, "org_unit")).select_related("org_unit")


def ili_site_get(*, user, site_id: int) -> IliSite:
    site = ili_sites_for(user=user).filter(pk=site_id).first()
    if site is None:
        raise NotFound("哨点医院", "sentinel hospital")
    return site


def ili_site_for_unit(*, org_unit_id: int) -> IliSite | None:
    return IliSite.objects.filter(org_unit_id=org_unit_id).first()


def ili_weeks(*, user, site_id: int | None = None, season: int | None = None,
              county_code: str = "") -> QuerySet[IliWeek]:
    qs = IliWeek.objects.filter(site__in=ili_sites_for(user=user)).select_related(
        "site", "site__org_unit", "submitted_by")
    if site_id:
        qs = qs.filter(site_id=site_id)
    if season:
        qs = qs.filter(season=season)
    if county_code:
        qs = qs.filter(site__org_unit__path__contains=f"/{county_code}/")
    return qs.order_by("-week_start", "site__org_unit__code")


def ili_week_get(*, site: IliSite, week_start: date) -> IliWeek | None:
    return IliWeek.objects.filter(site=site, week_start=week_start).first()


def ili_series(*, user, seasons: list[int], county_code: str = "") -> dict[int, dict[int, dict]]:
    """ILI% per season and ISO week over the visible sentinel hospitals (optionally one
    county): {season: {iso_week: {"ili", "visits", "ili_percent", "tested", "positive"}}}."""
    qs = (ili_weeks(user=user, county_code=county_code).filter(season__in=seasons)
          .values("season", "iso_week")
          .annotate(ili=Sum("ili_total"), visits=Sum("visits_total"),
                    tested=Sum("specimens_tested"), positive=Sum("positive_total"))
          .order_by())
    out: dict[int, dict[int, dict]] = defaultdict(dict)
    for r in qs:
        out[r["season"]][r["iso_week"]] = {
            "ili": r["ili"], "visits": r["visits"],
            "ili_percent": rules.ili_percent(r["ili"] or 0, r["visits"] or 0),
            "tested": r["tested"], "positive": r["positive"],
            "positivity": rules.positivity_percent(r["positive"] or 0, r["tested"] or 0)}
    return dict(out)


def ili_subtypes(*, user, season: int, county_code: str = "") -> dict[str, int]:
    fields = [f"pos_{key}" for key, _zh, _en in rules.FLU_SUBTYPES]
    sums = ili_weeks(user=user, county_code=county_code).filter(season=season).aggregate(
        **{f: Sum(f) for f in fields})
    return {f.removeprefix("pos_"): sums[f] or 0 for f in fields}


def ili_seasons(*, user) -> list[int]:
    return sorted(set(ili_weeks(user=user).values_list("season", flat=True).distinct()),
                  reverse=True)


def ili_sites_missing(*, week_start: date) -> QuerySet[IliSite]:
    """Active sentinel hospitals that have not entered the given week (not scoped: for the
    reminder job)."""
    entered = IliWeek.objects.filter(site=OuterRef("pk"), week_start=week_start)
    return (IliSite.objects.filter(active=True, since__lte=week_start)
            .filter(~Exists(entered)).select_related("org_unit"))


# --- clusters --------------------------------------------------------------------------------

def cluster_visible_for(*, user) -> QuerySet[IliCluster]:
    return IliCluster.objects.filter(scope_q(user, "unit")).select_related("unit")


def cluster_get_visible(*, user, cluster_id: int) -> IliCluster:
    cluster = cluster_visible_for(user=user).filter(pk=cluster_id).first()
    if cluster is None:
        raise NotFound("聚集性疫情", "ILI cluster")
    return cluster


# --- patient 360 -------------------------------------------------------------------------------

def timeline_entries(*, person_ids: list[int], user):
    """Managed cases and their completed follow-ups, for the patient-360 timeline."""
    from phis.core.people.timeline import TimelineEntry

    cases = list(case_visible_for(user=user).filter(person_id__in=person_ids)
                 .select_related("treating_unit", "address_unit"))
    names = rules.KEY_DISEASES
    for case in cases:
        zh, en = names.get(case.disease_code, (case.disease_code, case.disease_code))
        unit = case.treating_unit or case.address_unit
        url = f"/keydiseases/cases/{case.pk}/"
        yield TimelineEntry(
            at=case.opened_at, module="keydiseases", kind="case_opened",
            title=f"纳入{zh}病例管理", title_en=f"{en} case management opened",
            summary=case.get_care_status_display(), url=url,
            org_unit_code=unit.code if unit else "", record_type="keydiseases.case",
            record_id=str(case.pk))
        if case.closed_at:
            yield TimelineEntry(
                at=case.closed_at, module="keydiseases", kind="case_closed",
                title=f"{zh}病例结案", title_en=f"{en} case closed",
                summary=case.get_outcome_display(), url=url,
                org_unit_code=unit.code if unit else "", record_type="keydiseases.case",
                record_id=str(case.pk))
    done = (FollowUp.objects.filter(case__in=[c.pk for c in cases],
                                    status=FollowUpStatus.DONE)
            .select_related("case", "unit"))
    for item in done:
        zh, en = names.get(item.case.disease_code, (item.case.disease_code,) * 2)
        yield TimelineEntry(
            at=timezone.make_aware(datetime.combine(item.done_date, time(12))),
            module="keydiseases", kind=f"followup_{item.kind}",
            title=f"{zh}{item.get_kind_display()}", title_en=f"{en} follow-up ({item.kind})",
            summary=item.note, url=f"/keydiseases/cases/{item.case_id}/",
            org_unit_code=item.unit.code if item.unit_id else "",
            record_type="keydiseases.followup", record_id=str(item.pk))


def ili_chart(*, user, county_code: str = "", seasons: list[int] | None = None,
              count: int = 4) -> dict:
    """Weekly ILI% (and positivity) of the chosen seasons on one season axis (W14 … W13):
    {"weeks": [14, …, 13], "seasons": {"2025": [..]}, "positivity": {...}}. Week 53 is shown
    only when a season has it."""
    chosen = seasons or ili_seasons(user=user)[:count]
    data = ili_series(user=user, seasons=chosen, county_code=county_code)
    weeks = [w for w in rules.season_weeks()
             if w != 53 or any(53 in data.get(s, {}) for s in chosen)]
    series, positivity = {}, {}
    for season in sorted(chosen):
        by_week = data.get(season, {})
        series[str(season)] = [by_week.get(w, {}).get("ili_percent") for w in weeks]
        positivity[str(season)] = [by_week.get(w, {}).get("positivity") for w in weeks]
    return {"weeks": weeks, "seasons": series, "positivity": positivity}
