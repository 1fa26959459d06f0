"""The parameters every epi page and API call shares (disease, period, date basis, county,
curve interval and stacking), parsed once with bilingual field errors, and the area scope
of a user.

Pure data: no queries here, so views, the API and the selectors all use the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from phis.core.exceptions import FieldError, ValidationFailed

# Date bases of the card list contract (ISSUE5_CONTRACT.md, CardFilter.date_basis); the
# dashboard offers the three an epidemiologist uses: onset (epi curve), report, review.
DATE_BASES = ("onset", "report", "review")
INTERVALS = ("auto", "day", "week")
STACKS = ("area", "classification")
DEFAULT_DAYS = 28            # four weeks ending today
MAX_DAYS = 3660              # ten years and a little: the longest history the demo holds
AUTO_DAILY_MAX_DAYS = 62     # "auto" shows days up to two months, weeks beyond


@dataclass(frozen=True)
class AreaSlice:
    """One part of a user's area: a county, or some townships of one county."""

    county_code: str
    township_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AreaScope:
    """What a user may analyse, by current address of the cases (statistics are by
    address, surveillance.md §2.2): the whole city, or slices of it."""

    whole_city: bool
    slices: tuple[AreaSlice, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.whole_city and not self.slices

    @property
    def county_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.county_code for s in self.slices))

    def allows_county(self, code: str) -> bool:
        if self.whole_city:
            return True
        return any(s.county_code == code and not s.township_codes for s in self.slices)

    @property
    def key(self) -> str:
        if self.whole_city:
            return "city"
        return ";".join(f"{s.county_code}:{','.join(s.township_codes)}" for s in self.slices)


@dataclass(frozen=True)
class EpiQuery:
    date_from: date
    date_to: date
    basis: str = "onset"
    disease_code: str = ""       # "" = all notifiable diseases
    county_code: str = ""        # "" = the user's whole area
    interval: str = "day"        # resolved: "day" or "week"
    stack: str = "area"
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> EpiQuery:
        """The period of the same length just before this one (for "change")."""
        span = timedelta(days=self.days)
        return EpiQuery(date_from=self.date_from - span, date_to=self.date_to - span,
                        basis=self.basis, disease_code=self.disease_code,
                        county_code=self.county_code, interval=self.interval,
                        stack=self.stack)

    def cache_key(self) -> str:
        return "|".join((self.date_from.isoformat(), self.date_to.isoformat(), self.basis,
                         self.disease_code, self.county_code, self.interval, self.stack))

    def as_params(self) -> dict[str, str]:
        """Query-string form (what the page's form and export links carry)."""
        params = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
                  "date_basis": self.basis, "interval": self.interval, "stack": self.stack}
        if self.disease_code:
            params["disease_code"] = self.disease_code
        if self.county_code:
            params["county_code"] = self.county_code
        return params


def _date(raw: Mapping, name: str, errors: list[FieldError]) -> date | None:
    value = (raw.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(name, "invalid_date", "日期格式应为YYYY-MM-DD",
                                 "Dates are written YYYY-MM-DD"))
        return None


def parse_epi_query(raw: Mapping, *, today: date, known_diseases: set[str],
                    known_counties: set[str]) -> EpiQuery:
    """Validate the shared parameters (absent ones take their defaults). Raises
    ``ValidationFailed`` (422) with one field error per bad parameter."""
    errors: list[FieldError] = []
    date_to = _date(raw, "date_to", errors)
    date_from = _date(raw, "date_from", errors)
    if date_to is None and not any(e.field == "date_to" for e in errors):
        date_to = today
    if date_from is None and not any(e.field == "date_from" for e in errors) and date_to:
        date_from = date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from and date_to:
        if date_from > date_to:
            errors.append(FieldError("date_from", "after_date_to", "开始日期不能晚于结束日期",
                                     "The start date must not be after the end date"))
        elif (date_to - date_from).days + 1 > MAX_DAYS:
            errors.append(FieldError("date_from", "range_too_long", "时间范围不能超过10年",
                                     "The period must not be longer than 10 years"))
    basis = (raw.get("date_basis") or raw.get("basis") or "onset").strip()
    if basis not in DATE_BASES:
        errors.append(FieldError("date_basis", "invalid_choice",
                                 "日期类型应为onset(发病)、report(报告)或review(审核)",
                                 "The date basis is onset, report or review"))
    disease = (raw.get("disease_code") or "").strip()
    if disease in ("all", "*"):
        disease = ""
    if disease and disease not in known_diseases:
        errors.append(FieldError("disease_code", "unknown_disease", "未知的病种代码",
                                 "Unknown disease code"))
    county = (raw.get("county_code") or "").strip()
    if county and county not in known_counties:
        errors.append(FieldError("county_code", "unknown_county", "未知的县区代码",
                                 "Unknown county code"))
    interval = (raw.get("interval") or "auto").strip()
    if interval not in INTERVALS:
        errors.append(FieldError("interval", "invalid_choice", "间隔应为auto、day或week",
                                 "The interval is auto, day or week"))
    stack = (raw.get("stack") or "area").strip()
    if stack not in STACKS:
        errors.append(FieldError("stack", "invalid_choice",
                                 "分组应为area(地区)或classification(病例分类)",
                                 "Stack by area or classification"))
    if errors:
        raise ValidationFailed(errors)
    assert date_from is not None and date_to is not None
    if interval == "auto":
        interval = "day" if (date_to - date_from).days + 1 <= AUTO_DAILY_MAX_DAYS else "week"
    return EpiQuery(date_from=date_from, date_to=date_to, basis=basis, disease_code=disease,
                    county_code=county, interval=interval, stack=stack)


def iso_week_bounds(iso_year: int, iso_week: int) -> tuple[date, date]:
    monday = date.fromisocalendar(iso_year, iso_week, 1)
    return monday, monday + timedelta(days=6)


def previous_iso_week(today: date) -> tuple[int, int]:
    """The last complete ISO week before ``today`` (the weekly report's week on Monday)."""
    last_sunday = today - timedelta(days=today.isoweekday())
    year, week, _ = last_sunday.isocalendar()
    return year, week
