"""Every read of report cards (ARCHITECTURE.md §2): scoped to the caller's org subtrees,
except the statistics readers used by system jobs (``counted_cards``, ``case_counts``).

Scope (docs/modules/notifiable.md "Who sees what"): a user sees the cards whose current
address (``address_unit``, statistics are by current address, surveillance.md §2.2) or whose
reporting unit (reporting is territorial, §2.2) lies in their subtrees. Drafts are seen
only by the reporting unit's side: a draft is not yet reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from phis.apps.notifiable.models import (
    CardEvent,
    CardStatus,
    CaseClassification,
    LabResult,
    ReportCard,
    SuspectedOutcome,
)
from phis.core.accounts.permissions import Role
from phis.core.exceptions import NotFound
from phis.core.orgunits.models import FacilityType, Level, OrgUnit
from phis.core.orgunits.scoping import scope_q

# Cards that count in statistics (surveillance.md §3.1 open point: every non-deleted,
# reported card, re-evaluated after audit). Drafts and deleted cards never count.
COUNTED_STATUSES = (CardStatus.SUBMITTED, CardStatus.RETURNED, CardStatus.REVIEWED)

DATE_BASES = ("onset", "diagnosis", "report", "review")
GROUP_KEYS = ("disease_code", "county_code", "township_code", "day", "case_classification")


def is_counted(status: str) -> bool:
    return status in COUNTED_STATUSES


# --- scoping ------------------------------------------------------------------------------

def _visible_q(user) -> Q:
    by_unit = scope_q(user, "reporting_unit")
    by_address = scope_q(user, "address_unit") & ~Q(status=CardStatus.DRAFT)
    return by_unit | by_address


def card_visible_for(*, user) -> QuerySet[ReportCard]:
    """Cards whose current address or reporting unit is in the user's subtrees."""
    return ReportCard.objects.filter(_visible_q(user))


def card_get_visible(*, user, card_id: int, for_update: bool = False) -> ReportCard:
    qs = card_visible_for(user=user).select_related("reporting_unit", "address_unit")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        card = qs.filter(pk=int(card_id)).first()
    except (TypeError, ValueError, OverflowError):
        card = None
    if card is None:
        raise NotFound("报告卡", "report card")
    return card


def card_get_by_number(*, user, card_number: str) -> ReportCard:
    card = card_visible_for(user=user).filter(card_number=(card_number or "")[:32]).first()
    if card is None:
        raise NotFound("报告卡", "report card")
    return card


# --- lists --------------------------------------------------------------------------------

@dataclass
class CardFilter:
    """Query-string names of the card list; every dashboard number links here with them."""

    disease_code: str = ""
    county_code: str = ""
    township_code: str = ""
    reporting_unit_code: str = ""
    status: str | list[str] = ""
    case_classification: str = ""
    date_basis: str = "diagnosis"  # "onset" | "diagnosis" | "report" | "review"
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""  # patient name (prefix) or card number
    include_deleted: bool = False
    suspected_overdue: bool = False
    card_ids: list[int] = field(default_factory=list)
    review_overdue: bool = False
    reported_late: bool | None = None
    card_type: str = ""
    source: str = ""


# No card is dated outside these days (rules.py checks every date of a card against them);
# query bounds beyond them are clamped so the time-zone arithmetic cannot overflow.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def _local_bounds(day_from: date | None, day_to: date | None
                  ) -> tuple[datetime | None, datetime | None]:
    tz = timezone.get_default_timezone()
    day_from = max(day_from, EARLIEST_DAY) if day_from else None
    day_to = min(day_to, LATEST_DAY) if day_to else None
    start = timezone.make_aware(datetime.combine(day_from, time.min), tz) if day_from else None
    end = (timezone.make_aware(datetime.combine(day_to + timedelta(days=1), time.min), tz)
           if day_to else None)
    return start, end


def _date_range_q(basis: str, day_from: date | None, day_to: date | None) -> Q:
    q = Q()
    if basis == "onset":
        if day_from:
            q &= Q(onset_date__gte=day_from)
        if day_to:
            q &= Q(onset_date__lte=day_to)
        return q
    column = {"diagnosis": "diagnosis_at", "report": "reported_at",
              "review": "reviewed_at"}.get(basis, "diagnosis_at")
    start, end = _local_bounds(day_from, day_to)
    if start:
        q &= Q(**{f"{column}__gte": start})
    if end:
        q &= Q(**{f"{column}__lt": end})
    return q


def apply_filter(qs: QuerySet[ReportCard], filters: CardFilter,
                 now: datetime | None = None) -> QuerySet[ReportCard]:
    """``filters`` applied to any card queryset (scoped or not)."""
    f = filters
    if f.disease_code:
        qs = qs.filter(Q(disease_code=f.disease_code) | Q(subtype_code=f.disease_code))
    if f.county_code:
        qs = qs.filter(county_code=f.county_code)
    if f.township_code:
        qs = qs.filter(township_code=f.township_code)
    if f.reporting_unit_code:
        qs = qs.filter(reporting_unit__code=f.reporting_unit_code)
    statuses = [f.status] if isinstance(f.status, str) else list(f.status or [])
    statuses = [s for s in statuses if s]
    if statuses:
        qs = qs.filter(status__in=statuses)
    elif not f.include_deleted:
        qs = qs.exclude(status=CardStatus.DELETED)
    if f.case_classification:
        qs = qs.filter(case_classification=f.case_classification)
    if f.date_from or f.date_to:
        qs = qs.filter(_date_range_q(f.date_basis if f.date_basis in DATE_BASES
                                     else "diagnosis", f.date_from, f.date_to))
    text = (f.text or "").replace("\x00", "").strip()[:64]
    if text:
        qs = qs.filter(Q(card_number=text) | Q(patient_name__startswith=text)
                       | Q(external_id=text))
    if f.suspected_overdue:
        qs = qs.filter(_suspected_overdue_q(now or timezone.now()))
    if f.review_overdue:
        qs = qs.filter(status=CardStatus.SUBMITTED, review_due_at__lte=now or timezone.now())
    if f.reported_late is not None:
        qs = qs.filter(reported_late=f.reported_late)
    if f.card_ids:
        ids = [int(i) for i in f.card_ids if 0 < int(i) < 2**63][:1000]
        qs = qs.filter(pk__in=ids) if ids else qs.none()
    if f.card_type:
        qs = qs.filter(card_type=f.card_type)
    if f.source:
        qs = qs.filter(source=f.source)
    return qs


def card_list(*, user, filters: CardFilter | None = None) -> QuerySet[ReportCard]:
    """The user's cards matching ``filters``, newest diagnosis first."""
    qs = apply_filter(card_visible_for(user=user), filters or CardFilter())
    return qs.select_related("reporting_unit").order_by("-diagnosis_at", "-pk")


def card_history(*, user, card_id: int) -> QuerySet[CardEvent]:
    card = card_get_visible(user=user, card_id=card_id)
    return card.events.select_related("by").order_by("at", "pk")


def card_lab_results(*, user, card_id: int) -> QuerySet[LabResult]:
    card = card_get_visible(user=user, card_id=card_id)
    return card.lab_results.order_by("-resulted_at", "-pk")


def card_review_queue(*, user, now: datetime | None = None) -> QuerySet[ReportCard]:
    """Cards awaiting review in the user's scope, soonest review deadline first (2-hour
    cards come first because their deadline is nearest)."""
    return (card_visible_for(user=user).filter(status=CardStatus.SUBMITTED)
            .select_related("reporting_unit").order_by("review_due_at", "pk"))


# --- statistics (not user-scoped: for system jobs; pages pass county_code) -------------

def counted_cards() -> QuerySet[ReportCard]:
    return ReportCard.objects.filter(status__in=COUNTED_STATUSES)


def _day_expression(basis: str):
    if basis == "onset":
        return F("onset_date")
    column = {"diagnosis": "diagnosis_at", "report": "reported_at",
              "review": "reviewed_at"}[basis]
    return TruncDate(column, tzinfo=timezone.get_default_timezone())


def case_counts(*, date_from: date, date_to: date, basis: str = "onset",
                disease_codes: list[str] | None = None, county_code: str = "",
                township_codes: list[str] | None = None,
                by: tuple[str, ...] = ("disease_code", "township_code", "day")
                ) -> list[dict[str, Any]]:
    """Counts of counted cards between two basis dates (inclusive), grouped by ``by`` (any
    of disease_code, county_code, township_code, day, case_classification); each row has
    those keys and ``count``. The review basis counts reviewed cards only (official counts
    are by review date and current address, surveillance.md §2.2)."""
    if basis not in DATE_BASES:
        raise ValueError(f"basis must be one of {DATE_BASES}")
    unknown = set(by) - set(GROUP_KEYS)
    if unknown:
        raise ValueError(f"cannot group by {sorted(unknown)}")
    qs = counted_cards().filter(_date_range_q(basis, date_from, date_to))
    if basis == "review":
        qs = qs.filter(status=CardStatus.REVIEWED)
    if disease_codes:
        qs = qs.filter(disease_code__in=list(disease_codes))
    if county_code:
        qs = qs.filter(county_code=county_code)
    if township_codes:
        qs = qs.filter(township_code__in=list(township_codes))
    keys = list(by)
    if "day" in keys:
        qs = qs.annotate(day=_day_expression(basis))
    rows = qs.values(*keys).annotate(count=Count("pk")).order_by(*keys)
    return [dict(r) for r in rows]


# --- suspected cases (A9) -----------------------------------------------------------------

def _suspected_overdue_q(now: datetime) -> Q:
    return Q(case_classification=CaseClassification.SUSPECTED,
             suspected_outcome=SuspectedOutcome.OPEN, suspected_due_at__lte=now,
             status__in=COUNTED_STATUSES)


def _suspected_overdue_visible(user, now: datetime | None) -> QuerySet[ReportCard]:
    # The few overdue suspected cards first (their deadline index), then the scope: scoping
    # ten years of cards first read every card of the county.
    overdue = ReportCard.objects.filter(_suspected_overdue_q(now or timezone.now()))
    return card_visible_for(user=user).filter(pk__in=overdue.values("pk"))


def suspected_overdue_for(*, user, facility_code: str = "", county_code: str = "",
                          now: datetime | None = None) -> QuerySet[ReportCard]:
    """Suspected cases of the user's scope not confirmed or excluded within their disease's
    limit (A9), most overdue first; optionally of one reporting facility or one county."""
    qs = _suspected_overdue_visible(user, now)
    if facility_code:
        qs = qs.filter(reporting_unit__code=facility_code)
    if county_code:
        qs = qs.filter(county_code=county_code)
    return qs.select_related("reporting_unit").order_by("suspected_due_at", "pk")


def suspected_overdue_counts(*, user, by: str = "facility",
                             now: datetime | None = None) -> list[dict[str, Any]]:
    """Overdue suspected cases counted per reporting facility (``by="facility"``: keys
    facility_code, facility_name, count) or per county of current address (``by="county"``:
    keys county_code, count)."""
    qs = _suspected_overdue_visible(user, now)
    if by == "county":
        rows = qs.values("county_code").annotate(count=Count("pk")).order_by("county_code")
    else:
        rows = (qs.values(facility_code=F("reporting_unit__code"),
                          facility_name=F("reporting_unit__name"))
                .annotate(count=Count("pk")).order_by("facility_code"))
    return [dict(r) for r in rows]


# --- timeliness (§2.2, §2.3) --------------------------------------------------------------

def timeliness_summary(*, user, date_from: date, date_to: date,
                       by: str = "county") -> list[dict[str, Any]]:
    """Per county (of current address) or reporting facility: reported cards, reported late,
    reviewed, reviewed late, for cards reported between the dates (local)."""
    qs = card_visible_for(user=user).filter(status__in=COUNTED_STATUSES).filter(
        _date_range_q("report", date_from, date_to))
    key = "county_code" if by == "county" else "reporting_unit__code"
    rows = (qs.values(key).annotate(
        reported=Count("pk"),
        reported_late=Count("pk", filter=Q(reported_late=True)),
        reviewed=Count("pk", filter=Q(status=CardStatus.REVIEWED)),
        reviewed_late=Count("pk", filter=Q(reviewed_late=True)))
        .order_by(key))
    return [{"key": r.pop(key), **r} for r in rows]


# --- duplicates (§2.4) --------------------------------------------------------------------

def duplicate_candidates(*, disease_code: str, diagnosis_year: int, id_number_index: str = "",
                         patient_name: str = "", sex: int | None = None, occupation: str = "",
                         birth_date: date | None = None, age_value: int | None = None,
                         age_unit: str = "", address_unit_id: int | None = None,
                         exclude_id: int | None = None) -> QuerySet[ReportCard]:
    """Non-deleted reported cards of the same patient and disease in the same year
    (surveillance.md §2.4 [V]): with an ID number the keys are ID number + disease; without
    one, name + sex + population group + disease + birth date + current address. Episodes
    are told apart by the caller (rules.same_episode). Not user-scoped: a duplicate may sit
    in another county."""
    qs = ReportCard.objects.filter(disease_code=disease_code,
                                   diagnosis_at__year=diagnosis_year,
                                   status__in=COUNTED_STATUSES)
    if id_number_index:
        qs = qs.filter(id_number_index=id_number_index)
    else:
        if not patient_name:
            return ReportCard.objects.none()
        qs = qs.filter(patient_name=patient_name, sex=sex, occupation=occupation,
                       address_unit_id=address_unit_id)
        if birth_date:
            qs = qs.filter(birth_date=birth_date)
        else:
            qs = qs.filter(birth_date__isnull=True, age_value=age_value, age_unit=age_unit)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs.order_by("diagnosis_at", "pk")


# --- org units and people the services need --------------------------------------------

def orgunits_by_code(codes) -> dict[str, OrgUnit]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return {u.code: u for u in OrgUnit.objects.filter(code__in=codes)}


def ancestors_by_path(units) -> dict[str, OrgUnit]:
    """Every ancestor (by code) of the given units, in one query."""
    codes = {c for u in units for c in u.path.strip("/").split("/")}
    return orgunits_by_code(codes)


def county_of(unit: OrgUnit | None, known: dict[str, OrgUnit] | None = None) -> OrgUnit | None:
    if unit is None:
        return None
    if unit.level == Level.COUNTY:
        return unit
    known = known if known is not None else ancestors_by_path([unit])
    for code in unit.path.strip("/").split("/"):
        found = known.get(code)
        if found is not None and found.level == Level.COUNTY:
            return found
    return None


def county_cdc_of(county: OrgUnit | None) -> OrgUnit | None:
    """The county CDC facility directly under a county (the reviewer's unit)."""
    if county is None:
        return None
    return (OrgUnit.objects.filter(parent=county, level=Level.FACILITY,
                                   facility_type=FacilityType.CDC, is_active=True)
            .order_by("code").first())


def county_reviewers(*, county: OrgUnit) -> list:
    """Active county-CDC reviewers responsible for a county: bound to the county, to its
    CDC, or holding the county as an extra jurisdiction."""
    users = get_user_model().objects.filter(is_active=True, role=Role.COUNTY_CDC_REVIEWER)
    cdc_units = OrgUnit.objects.filter(parent=county, level=Level.FACILITY,
                                       facility_type=FacilityType.CDC)
    qs = users.filter(Q(org_unit=county) | Q(org_unit__in=cdc_units)
                      | Q(extra_org_units=county)).distinct()
    return list(qs.order_by("pk"))


def card_payload(card: ReportCard) -> dict[str, Any]:
    """The canonical, JSON-able content of a card: what the doctor reported and the
    reviewer approved (used for the reviewer's signature and for exchange). Identifiers
    appear masked plus their keyed blind index, which binds the signature to the number
    without writing it in clear into the signature store."""

    def iso(value):
        return value.isoformat() if value is not None else None

    return {
        "card_number": card.card_number,
        "card_type": card.card_type,
        "patient_name": card.patient_name,
        "parent_name": card.parent_name,
        "id_type": card.id_type,
        "id_number_masked": card.id_number_masked,
        "id_number_index": card.id_number_index,
        "sex": int(card.sex),
        "birth_date": iso(card.birth_date),
        "age_value": card.age_value,
        "age_unit": card.age_unit,
        "work_unit": card.work_unit,
        "phone_masked": card.phone_masked,
        "residence_category": card.residence_category,
        "address_code": card.address_unit.code if card.address_unit_id else "",
        "county_code": card.county_code,
        "township_code": card.township_code,
        "occupation": card.occupation,
        "occupation_other": card.occupation_other,
        "disease_code": card.disease_code,
        "subtype_code": card.subtype_code,
        "icd10_code": card.icd10_code,
        "disease_class": card.disease_class,
        "other_disease_text": card.other_disease_text,
        "original_disease_code": card.original_disease_code,
        "case_classification": card.case_classification,
        "acute_chronic": card.acute_chronic,
        "onset_date": iso(card.onset_date),
        "diagnosis_at": iso(card.diagnosis_at.astimezone(timezone.get_default_timezone())),
        "death_date": iso(card.death_date),
        "reporting_unit_code": card.reporting_unit.code,
        "doctor_name": card.doctor_name,
        "filled_date": iso(card.filled_date),
        "remarks": card.remarks,
        "reported_at": iso(card.reported_at.astimezone(timezone.get_default_timezone())
                           if card.reported_at else None),
    }
