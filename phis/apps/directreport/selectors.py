"""Reads of the direct-report app: the three-level grid (city → county → township), the
reconciliation report, and the exchange records, each scoped to the caller.

Grid numbers are counted on ``notifiable.selectors.card_list(user=…, filters=…)`` with the
very ``CardFilter`` that the number's link carries, so a number and the list it opens always
agree (docs/modules/directreport.md §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from phis.apps.directreport.models import (
    BatchState,
    InboundBatch,
    InboundRecord,
    InboundResult,
    OutboundBatch,
    OutboundRecord,
    OutboundState,
)
from phis.apps.notifiable.selectors import COUNTED_STATUSES, CardFilter, card_list
from phis.core.exceptions import FieldError, NotFound, ValidationFailed
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import scope_q, unit_in_scope, user_scope_paths

CARD_LIST_URL = "/notifiable/cards/"

# Date bases of the grid: official counts are by review date and current address
# (surveillance.md §2.2 "按审核日期和现住址统计", the default); onset date is offered for
# epidemiological analysis.
GRID_BASES = ("review", "onset")
REVIEWED = "reviewed"
UNKNOWN_OCCUPATION = "18"  # occupation value set: 不详


# --- the three-level grid --------------------------------------------------------------

def grid_roots(*, user) -> list[OrgUnit]:
    """The divisions (city, county, township) at the top of the user's scope, outermost
    first. A user bound only to a facility has none: the grid is a territorial view."""
    codes = [p.strip("/").split("/")[-1] for p in user_scope_paths(user)]
    units = OrgUnit.objects.filter(code__in=codes,
                                   level__in=(Level.CITY, Level.COUNTY, Level.TOWNSHIP))
    return sorted(units, key=lambda u: (u.level, u.code))


def grid_unit(*, user, code: str = "") -> OrgUnit:
    """The division the grid shows: ``code`` when it is a division inside the user's scope,
    else the user's outermost division."""
    if code:
        unit = OrgUnit.objects.filter(
            code=code[:32], level__in=(Level.CITY, Level.COUNTY, Level.TOWNSHIP)).first()
        if unit is None or not unit_in_scope(user, unit.path):
            raise NotFound("区划", "division")
        return unit
    roots = grid_roots(user=user)
    if not roots:
        raise NotFound("辖区", "jurisdiction")
    return roots[0]


@dataclass(frozen=True)
class GridQuery:
    unit: OrgUnit | None
    date_from: date
    date_to: date
    basis: str = "review"
    disease_code: str = ""

    def card_filter(self, **narrower: str) -> CardFilter:
        """The card-list filter of a cell: the unit (or a narrower county/township),
        disease and dates; counted statuses only."""
        place = {}
        if self.unit.level == Level.COUNTY:
            place["county_code"] = self.unit.code
        elif self.unit.level == Level.TOWNSHIP:
            place["township_code"] = self.unit.code
        place.update({k: v for k, v in narrower.items() if k in ("county_code",
                                                                 "township_code")})
        status = [REVIEWED] if self.basis == "review" else list(COUNTED_STATUSES)
        return CardFilter(disease_code=narrower.get("disease_code", self.disease_code),
                          status=status, date_basis=self.basis, date_from=self.date_from,
                          date_to=self.date_to, **place)


def grid_query_from(*, unit: OrgUnit | None, date_from: str | date | None = None,
                    date_to: str | date | None = None, basis: str = "",
                    disease_code: str = "", today: date | None = None) -> GridQuery:
    """Validated grid parameters; the default period is the current month up to today."""
    today = today or timezone.localdate()
    errors = []

    def parse(value, name, zh, en):
        if value in (None, ""):
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            errors.append(FieldError(name, "invalid", f"{zh}格式应为YYYY-MM-DD",
                                     f"{en} must be YYYY-MM-DD"))
            return None

    start = parse(date_from, "date_from", "开始日期", "The start date")
    end = parse(date_to, "date_to", "结束日期", "The end date")
    if basis and basis not in GRID_BASES:
        errors.append(FieldError("basis", "invalid_choice", "统计口径应为审核日期或发病日期",
                                 "The date basis must be review or onset"))
    unreadable = bool(errors)
    start = start or today.replace(day=1)
    end = end or today
    if not unreadable and start > end:
        errors.append(FieldError("date_to", "date_order", "结束日期早于开始日期",
                                 "The end date is before the start date"))
    if end - start > timedelta(days=3700):
        errors.append(FieldError("date_from", "too_long", "统计期间不能超过10年",
                                 "The period cannot exceed 10 years"))
    if errors:
        raise ValidationFailed(errors)
    return GridQuery(unit=unit, date_from=start, date_to=end,
                     basis=basis if basis in GRID_BASES else "review",
                     disease_code=(disease_code or "").strip()[:48])


def period_from(*, date_from: str | date | None, date_to: str | date | None,
                today: date | None = None) -> tuple[date, date]:
    """A validated period (default: the current month up to today)."""
    query = grid_query_from(unit=None, date_from=date_from, date_to=date_to, today=today)
    return query.date_from, query.date_to


def card_list_url(filters: CardFilter, **extra: Any) -> str:
    """``/notifiable/cards/?…`` with the contract's query-string names."""
    params: list[tuple[str, str]] = []
    for name in ("disease_code", "county_code", "township_code"):
        value = getattr(filters, name)
        if value:
            params.append((name, value))
    if filters.status:
        status = filters.status if isinstance(filters.status, list) else [filters.status]
        params.append(("status", ",".join(status)))
    params += [("date_basis", filters.date_basis),
               ("date_from", filters.date_from.isoformat() if filters.date_from else ""),
               ("date_to", filters.date_to.isoformat() if filters.date_to else "")]
    params += [(k, str(v)) for k, v in extra.items()]
    return f"{CARD_LIST_URL}?{urlencode([(k, v) for k, v in params if v != ''])}"


# Key fields whose presence makes a card "complete" (docs §6.2). The parent's name of a
# child and the work unit of a student are checked at entry (notifiable rules); these are
# the fields the platform's statistics depend on.
COMPLETE_Q = (~Q(id_number_index="") & Q(birth_date__isnull=False) & ~Q(phone_masked="")
              & ~Q(township_code="") & ~Q(occupation="") & ~Q(occupation=UNKNOWN_OCCUPATION))


def _indicators() -> dict[str, Any]:
    return {
        "cards": Count("pk"),
        "report_timed": Count("pk", filter=Q(reported_late__isnull=False)),
        "reported_on_time": Count("pk", filter=Q(reported_late=False)),
        "reported_late": Count("pk", filter=Q(reported_late=True)),
        "review_timed": Count("pk", filter=Q(reviewed_late__isnull=False)),
        "reviewed_in_limit": Count("pk", filter=Q(reviewed_late=False)),
        "complete": Count("pk", filter=COMPLETE_Q),
        "valid_id": Count("pk", filter=~Q(id_number_index="")),
        "address_coded": Count("pk", filter=~Q(township_code="")),
    }


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class GridRow:
    code: str
    name: str
    values: dict[str, int]
    filters: CardFilter | None = None  # None: no card-list filter expresses the row
    child_url_code: str = ""           # drill into this division's own grid

    @property
    def cards(self) -> int:
        return self.values.get("cards", 0)

    def pct(self, part: str, whole: str) -> float | None:
        return _pct(self.values.get(part, 0), self.values.get(whole, 0))

    @property
    def report_timeliness(self) -> float | None:
        return self.pct("reported_on_time", "report_timed")

    @property
    def review_timeliness(self) -> float | None:
        return self.pct("reviewed_in_limit", "review_timed")

    @property
    def completeness(self) -> float | None:
        return self.pct("complete", "cards")

    @property
    def valid_id_rate(self) -> float | None:
        return self.pct("valid_id", "cards")

    @property
    def address_rate(self) -> float | None:
        return self.pct("address_coded", "cards")

    @property
    def url(self) -> str:
        return card_list_url(self.filters) if self.filters else ""

    @property
    def late_url(self) -> str:
        return card_list_url(self.filters, reported_late="true") if self.filters else ""

    @property
    def on_time_url(self) -> str:
        return card_list_url(self.filters, reported_late="false") if self.filters else ""


@dataclass
class Grid:
    query: GridQuery
    total: GridRow
    areas: list[GridRow] = field(default_factory=list)
    diseases: list[GridRow] = field(default_factory=list)
    child_level: int | None = None


def _zero() -> dict[str, int]:
    return dict.fromkeys(_indicators(), 0)


def _aggregate(qs: QuerySet, key: str | None) -> dict[str, dict[str, int]]:
    qs = qs.order_by()
    if key is None:
        return {"": {**_zero(), **qs.aggregate(**_indicators())}}
    rows = qs.values(key).annotate(**_indicators())
    return {r.pop(key) or "": r for r in rows}


def disease_names() -> dict[str, str]:
    """Code → name (page language) of the notifiable-disease catalogue; empty when the
    catalogue is not loaded (codes then stand for themselves)."""
    from django.utils.translation import get_language

    from phis.core.codes.selectors import NOTIFIABLE, value_set

    english = (get_language() or "").startswith("en")
    try:
        items = value_set(NOTIFIABLE, include_inactive=True)
    except Exception:  # catalogue not loaded (fresh database): fall back to the codes
        return {}
    return {i.code: (i.display_en or i.display_zh) if english else i.display_zh
            for i in items}


def grid_build(*, user, query: GridQuery) -> Grid:
    """The grid of one division: its total, one row per child division (city → counties,
    county → townships) with the cards whose current address is not coded that far, and one
    row per disease."""
    unit = query.unit
    base = card_list(user=user, filters=query.card_filter())
    total = GridRow(code=unit.code, name=unit.name, values=_aggregate(base, None)[""],
                    filters=query.card_filter())
    grid = Grid(query=query, total=total)
    child_level = {Level.CITY: Level.COUNTY, Level.COUNTY: Level.TOWNSHIP}.get(unit.level)
    if child_level is not None:
        grid.child_level = child_level
        key = "county_code" if child_level == Level.COUNTY else "township_code"
        counted = _aggregate(base, key)
        children = OrgUnit.objects.filter(parent=unit, level=child_level).order_by("code")
        for child in children:
            grid.areas.append(GridRow(code=child.code, name=child.name,
                                      values=counted.pop(child.code, _zero()),
                                      filters=query.card_filter(**{key: child.code}),
                                      child_url_code=child.code))
        # What is left: cards in the division whose address is not coded to a child
        # (county-only addresses) or, at city level, patients living outside the city who
        # were reported by the city's units. No card-list filter expresses these.
        rest = _zero()
        for values in counted.values():
            for name in rest:
                rest[name] += values.get(name, 0)
        if rest["cards"]:
            label = (_("市外或未编码现住址") if unit.level == Level.CITY
                     else _("现住址未编码到乡镇街道"))
            grid.areas.append(GridRow(code="", name=label, values=rest))
    names = disease_names()
    for code, values in sorted(_aggregate(base, "disease_code").items(),
                               key=lambda kv: (-kv[1]["cards"], kv[0])):
        grid.diseases.append(GridRow(code=code, name=names.get(code, code), values=values,
                                     filters=query.card_filter(disease_code=code)))
    return grid


GRID_COLUMNS = (
    ("报告卡数", "Cards"), ("及时报告数", "Reported in time"), ("迟报数", "Reported late"),
    ("报告及时率%", "Reporting timeliness %"), ("审核及时率%", "Review timeliness %"),
    ("完整率%", "Completeness %"), ("有效证件率%", "Valid ID %"),
    ("住址编码率%", "Address coded %"),
)


def grid_row_cells(row: GridRow) -> list:
    v = row.values
    return [v.get("cards", 0), v.get("reported_on_time", 0), v.get("reported_late", 0),
            row.report_timeliness, row.review_timeliness, row.completeness,
            row.valid_id_rate, row.address_rate]


# --- exchange records (scoped like the cards they carry) --------------------------------

def _card_scope(user) -> Q:
    return scope_q(user, "card__address_unit", "card__reporting_unit")


def _local_range(day_from: date, day_to: date) -> tuple[datetime, datetime]:
    tz = timezone.get_default_timezone()
    return (timezone.make_aware(datetime.combine(day_from, time.min), tz),
            timezone.make_aware(datetime.combine(day_to + timedelta(days=1), time.min), tz))


def outbound_records(*, user, date_from: date | None = None, date_to: date | None = None,
                     county_code: str = "", state: str = "", channel: str = "",
                     ack_code: str = "", resent: bool = False) -> QuerySet[OutboundRecord]:
    qs = OutboundRecord.objects.filter(_card_scope(user))
    if date_from and date_to:
        start, end = _local_range(date_from, date_to)
        qs = qs.filter(created_at__gte=start, created_at__lt=end)
    if county_code:
        qs = qs.filter(county_code=county_code)
    if state:
        qs = qs.filter(state=state)
    if channel:
        qs = qs.filter(channel=channel)
    if ack_code:
        qs = qs.filter(ack_code=ack_code)
    if resent:
        qs = qs.filter(send_count__gt=1)
    return qs.select_related("batch").order_by("-created_at", "-pk")


def outbound_record_get(*, user, record_pk: int) -> OutboundRecord:
    found = OutboundRecord.objects.filter(_card_scope(user), pk=record_pk).first()
    if found is None:
        raise NotFound("上报记录", "exchange record")
    return found


RECONCILIATION_KEYS = ("queued", "pending", "sent", "awaiting_ack", "acknowledged",
                       "rejected", "superseded", "resent")


def reconciliation(*, user, date_from: date, date_to: date, channel: str = ""
                   ) -> dict[str, Any]:
    """Per county of current address, for card versions queued in the period: how many were
    sent, acknowledged, rejected (with reasons), are pending, were re-sent; and the inbound
    side (accepted, duplicate, rejected)."""
    qs = outbound_records(user=user, date_from=date_from, date_to=date_to, channel=channel)
    qs = qs.order_by()
    counts = {
        "queued": Count("pk"),
        "pending": Count("pk", filter=Q(state=OutboundState.PENDING)),
        "sent": Count("pk", filter=Q(send_count__gte=1)),
        "awaiting_ack": Count("pk", filter=Q(state=OutboundState.SENT)),
        "acknowledged": Count("pk", filter=Q(state=OutboundState.ACKNOWLEDGED)),
        "rejected": Count("pk", filter=Q(state=OutboundState.REJECTED)),
        "superseded": Count("pk", filter=Q(state=OutboundState.SUPERSEDED)),
        "resent": Count("pk", filter=Q(send_count__gt=1)),
    }
    rows = [dict(r) for r in qs.values("county_code").annotate(**counts)
            .order_by("county_code")]
    total = {k: sum(r[k] for r in rows) for k in RECONCILIATION_KEYS}
    names = dict(OrgUnit.objects.filter(code__in=[r["county_code"] for r in rows])
                 .values_list("code", "name"))
    for r in rows:
        r["name"] = names.get(r["county_code"], r["county_code"] or _("市外"))
    reasons = [dict(r) for r in qs.filter(state=OutboundState.REJECTED)
               .values("ack_code", "ack_reason", "ack_reason_en")
               .annotate(count=Count("pk")).order_by("-count", "ack_code")]
    inbound = _inbound_summary(user=user, date_from=date_from, date_to=date_to,
                               channel=channel)
    return {"rows": rows, "total": total, "reasons": reasons, "inbound": inbound,
            "date_from": date_from, "date_to": date_to}


def _inbound_summary(*, user, date_from: date, date_to: date, channel: str
                     ) -> list[dict[str, Any]]:
    start, end = _local_range(date_from, date_to)
    qs = InboundRecord.objects.filter(batch__created_at__gte=start, batch__created_at__lt=end)
    if channel:
        qs = qs.filter(batch__channel=channel)
    # Rejected lines have no local card: they are shown to whoever may see the batch's
    # channel (the exchange operators); accepted ones follow the card's scope.
    qs = qs.filter(_card_scope(user) | Q(card__isnull=True))
    rows = (qs.order_by().values("county_code").annotate(
        received=Count("pk"),
        accepted=Count("pk", filter=Q(result=InboundResult.ACCEPTED)),
        duplicate=Count("pk", filter=Q(result=InboundResult.DUPLICATE)),
        rejected=Count("pk", filter=Q(result=InboundResult.REJECTED)))
        .order_by("county_code"))
    return [dict(r) for r in rows]


def outbound_batches(*, channel: str = "", state: str = "") -> QuerySet[OutboundBatch]:
    """Batches (files) are operational objects without personal data in their listing;
    only exchange operators reach this list (permission checked by the caller)."""
    qs = OutboundBatch.objects.all()
    if channel:
        qs = qs.filter(channel=channel)
    if state:
        qs = qs.filter(state=state)
    return qs.defer("content_encrypted", "ack_content").order_by("-created_at", "-pk")


def outbound_batch_get(*, batch_id: str) -> OutboundBatch:
    found = OutboundBatch.objects.filter(batch_id=batch_id[:64]).first()
    if found is None:
        raise NotFound("上报批次", "batch")
    return found


def outbound_failing() -> QuerySet[OutboundBatch]:
    return outbound_batches(state=BatchState.FAILED)


def inbound_batches(*, channel: str = "") -> QuerySet[InboundBatch]:
    qs = InboundBatch.objects.all()
    if channel:
        qs = qs.filter(channel=channel)
    return qs.defer("content_encrypted", "ack_content").order_by("-created_at", "-pk")


def inbound_batch_get(*, pk: int) -> InboundBatch:
    found = InboundBatch.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound("接收批次", "inbound batch")
    return found


def inbound_records(*, user, batch: InboundBatch) -> QuerySet[InboundRecord]:
    return (batch.records.filter(_card_scope(user) | Q(card__isnull=True))
            .order_by("line"))
