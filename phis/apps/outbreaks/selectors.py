"""Reads of outbreak events, always scoped (STYLE.md §7.9): an event is visible to users
whose subtree holds its county or its place, and to the units observing its contacts (who
see the event but only their own contacts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from phis.apps.outbreaks.models import (
    Contact,
    ContactStatus,
    FollowUp,
    Outbreak,
    OutbreakCase,
    OutbreakStatus,
)
from phis.apps.outbreaks.rules import QUIET_PERIODS_TO_CLOSE, observation_days
from phis.core.exceptions import NotFound
from phis.core.orgunits.scoping import scope_q, unit_in_scope


def outbreak_visible_for(*, user) -> QuerySet[Outbreak]:
    observed_here = Contact.objects.filter(
        Q(outbreak=OuterRef("pk")) & scope_q(user, "observer_unit", "address_unit"))
    return Outbreak.objects.filter(scope_q(user, "county", "place") | Exists(observed_here))


def outbreak_manageable(*, user, outbreak: Outbreak) -> bool:
    """Managing (linking cases, steps, closing) needs the county in the user's subtree."""
    return unit_in_scope(user, outbreak.county.path)


def outbreak_get_visible(*, user, outbreak_id: int, for_update: bool = False) -> Outbreak:
    qs = outbreak_visible_for(user=user).select_related("county", "place", "lead")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    outbreak = qs.filter(pk=outbreak_id).first()
    if outbreak is None:
        raise NotFound("暴发事件", "outbreak event")
    return outbreak


@dataclass
class OutbreakFilter:
    status: str = ""
    disease_code: str = ""
    county_code: str = ""
    text: str = ""


def outbreak_list(*, user, filters: OutbreakFilter | None = None) -> QuerySet[Outbreak]:
    f = filters or OutbreakFilter()
    qs = outbreak_visible_for(user=user).select_related("county", "place", "lead")
    if f.status:
        qs = qs.filter(status=f.status)
    if f.disease_code:
        qs = qs.filter(disease_code=f.disease_code)
    if f.county_code:
        qs = qs.filter(county__code=f.county_code)
    if f.text:
        qs = qs.filter(Q(number__icontains=f.text) | Q(title__icontains=f.text))
    return qs.annotate(case_count=Count("cases", distinct=True),
                       contact_count=Count("contacts", distinct=True)
                       ).order_by("-opened_at", "-pk")


def outbreak_by_signal(*, signal_id: int) -> Outbreak | None:
    return Outbreak.objects.filter(signal_id=signal_id).order_by("pk").first()


def outbreak_cases(*, outbreak: Outbreak) -> QuerySet[OutbreakCase]:
    return outbreak.cases.select_related("card", "card__address_unit",
                                         "card__reporting_unit").order_by("card__onset_date",
                                                                          "pk")


def contacts_visible(*, user, outbreak: Outbreak) -> QuerySet[Contact]:
    qs = outbreak.contacts.select_related("address_unit", "observer_unit")
    if outbreak_manageable(user=user, outbreak=outbreak):
        return qs
    return qs.filter(scope_q(user, "observer_unit", "address_unit"))


def contact_get_visible(*, user, contact_id: int, for_update: bool = False) -> Contact:
    contact = Contact.objects.select_related("outbreak", "outbreak__county").filter(
        pk=contact_id).first()
    if contact is None:
        raise NotFound("密切接触者", "contact")
    visible = contacts_visible(user=user, outbreak=contact.outbreak).filter(pk=contact_id)
    if for_update:
        visible = visible.select_for_update(of=("self",))
    found = visible.first()
    if found is None:
        raise NotFound("密切接触者", "contact")
    return found


def contacts_due(*, user, day: date | None = None) -> QuerySet[Contact]:
    """Contacts under observation on ``day`` (default today) with no follow-up recorded for
    that day: the observer's daily work-list."""
    day = day or timezone.localdate()
    done = FollowUp.objects.filter(contact=OuterRef("pk"), day=day)
    return (Contact.objects.filter(scope_q(user, "observer_unit", "address_unit"),
                                   status=ContactStatus.OBSERVING,
                                   last_exposure__lt=day, observation_end__gte=day)
            .exclude(Exists(done))
            .select_related("outbreak", "observer_unit", "address_unit")
            .order_by("observation_end", "name"))


def follow_up_gaps(*, contact: Contact, today: date | None = None) -> list[date]:
    """Days of the observation period up to yesterday without a follow-up."""
    today = today or timezone.localdate()
    last = min(contact.observation_end, today - timedelta(days=1))
    done = set(contact.follow_ups.values_list("day", flat=True))
    day, gaps = contact.last_exposure + timedelta(days=1), []
    while day <= last:
        if day not in done:
            gaps.append(day)
        day += timedelta(days=1)
    return gaps


@dataclass(frozen=True)
class OutbreakFigures:
    cases: int
    deaths: int
    first_onset: date | None
    last_onset: date | None
    contacts: int
    observing: int
    contacts_became_cases: int
    quiet_days_needed: int
    days_since_last_onset: int | None

    @property
    def quiet_enough(self) -> bool:
        return self.days_since_last_onset is not None and \
            self.days_since_last_onset >= self.quiet_days_needed

    def as_dict(self) -> dict:
        return {"cases": self.cases, "deaths": self.deaths,
                "first_onset": self.first_onset.isoformat() if self.first_onset else None,
                "last_onset": self.last_onset.isoformat() if self.last_onset else None,
                "contacts": self.contacts, "observing": self.observing,
                "contacts_became_cases": self.contacts_became_cases}


def outbreak_figures(*, outbreak: Outbreak, today: date | None = None) -> OutbreakFigures:
    today = today or timezone.localdate()
    agg = outbreak.cases.aggregate(n=Count("pk"), first=Min("card__onset_date"),
                                   last=Max("card__onset_date"),
                                   deaths=Count("pk", filter=Q(card__death_date__isnull=False)))
    contacts = outbreak.contacts.aggregate(
        n=Count("pk"), observing=Count("pk", filter=Q(status=ContactStatus.OBSERVING)),
        became=Count("pk", filter=Q(status=ContactStatus.BECAME_CASE)))
    last = agg["last"]
    return OutbreakFigures(
        cases=agg["n"], deaths=agg["deaths"], first_onset=agg["first"], last_onset=last,
        contacts=contacts["n"], observing=contacts["observing"],
        contacts_became_cases=contacts["became"],
        quiet_days_needed=QUIET_PERIODS_TO_CLOSE * observation_days(outbreak.disease_code),
        days_since_last_onset=(today - last).days if last else None)


def open_outbreak_count(*, user) -> int:
    return outbreak_visible_for(user=user).exclude(status=OutbreakStatus.CLOSED).count()


def link_candidates(*, user, outbreak: Outbreak, days_before: int = 30, limit: int = 200):
    """Cards of the event's disease in its county (or place) with onset from ``days_before``
    days before the event opened until today, not yet linked: what the investigator picks
    cases from."""
    from phis.apps.notifiable.selectors import CardFilter, card_list

    opened = timezone.localtime(outbreak.opened_at).date()
    filters = CardFilter(disease_code=outbreak.disease_code, county_code=outbreak.county.code,
                         date_basis="onset", date_from=opened - timedelta(days=days_before),
                         date_to=timezone.localdate())
    if outbreak.place_id and outbreak.place.level == 4:  # a township: narrow to it
        filters.township_code = outbreak.place.code
    linked = outbreak.cases.values("card_id")
    return (card_list(user=user, filters=filters).exclude(pk__in=linked)
            .select_related("address_unit", "reporting_unit").order_by("onset_date", "pk")
            [:limit])
