"""Aggregates equal the cards behind them, stay inside the viewer's area, and every number
links to exactly those cards (the card list's contract parameters)."""

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from phis.apps.epi import selectors
from phis.apps.epi.params import parse_epi_query
from phis.apps.notifiable.selectors import CardFilter, card_list

pytestmark = pytest.mark.django_db

D0 = timezone.localdate() - timedelta(days=30)  # a Monday-agnostic day in the past


def q(**raw):
    raw.setdefault("date_from", D0.isoformat())
    raw.setdefault("date_to", (D0 + timedelta(days=13)).isoformat())
    return parse_epi_query(raw, today=timezone.localdate(),
                           known_diseases=set(selectors.diseases()),
                           known_counties=selectors.county_codes())


@pytest.fixture
def users(populated, make_user):
    return {
        "city": make_user("city_cdc", populated.city, username="city"),
        "dy": make_user("county_cdc_reviewer", populated.facilities["370502CDC"],
                        jurisdiction=populated.dy, username="dy"),
        "gr": make_user("county_cdc_reviewer", populated.facilities["370523CDC"],
                        jurisdiction=populated.gr, username="gr"),
        "town": make_user("township_health_centre", populated.dy_township, username="town"),
    }


@pytest.fixture
def cards(make_card):
    made = [
        make_card(county="370502", disease="hfmd", onset=D0),
        make_card(county="370502", disease="hfmd", onset=D0, classification="2"),
        make_card(county="370502", disease="hfmd", onset=D0 + timedelta(days=1)),
        make_card(county="370502", disease="influenza", onset=D0 + timedelta(days=8),
                  death=D0 + timedelta(days=9)),
        make_card(county="370523", disease="hfmd", onset=D0 + timedelta(days=2)),
        make_card(county="370523", disease="hfmd", onset=D0 + timedelta(days=2)),
        # previous period (the 14 days before D0)
        make_card(county="370502", disease="hfmd", onset=D0 - timedelta(days=3)),
    ]
    # a draft never counts
    make_card(county="370502", disease="hfmd", onset=D0, submit=False)
    return made


def drilled(url, user):
    """The cards the card list shows for a drill-down link (parsed as the page would)."""
    parts = urlsplit(url)
    assert parts.path == "/notifiable/cards/"
    params = parse_qs(parts.query)
    one = {k: v[0] for k, v in params.items() if k != "status"}
    filters = CardFilter(
        disease_code=one.get("disease_code", ""), county_code=one.get("county_code", ""),
        township_code=one.get("township_code", ""),
        case_classification=one.get("case_classification", ""),
        date_basis=one.get("date_basis", "diagnosis"),
        date_from=date.fromisoformat(one["date_from"]),
        date_to=date.fromisoformat(one["date_to"]), status=params.get("status", []))
    return card_list(user=user, filters=filters).count()


def test_area_scope_of_each_kind_of_user(users):
    assert selectors.area_scope_for(user=users["city"]).whole_city
    dy = selectors.area_scope_for(user=users["dy"])
    assert not dy.whole_city and dy.county_codes == ("370502",)
    town = selectors.area_scope_for(user=users["town"])
    assert town.slices[0].township_codes == ("370502001",)


def test_city_table_counts_equal_the_cards_and_link_to_them(users, cards):
    user = users["city"]
    scope = selectors.area_scope_for(user=user)
    table = selectors.area_table(scope=scope, query=q(), lang="zh")
    rows = {r.code: r for r in table.rows}
    assert table.total == 6 and table.previous_total == 1
    assert rows["370502"].count == 4 and rows["370523"].count == 2
    assert rows["370502001"].count == 4 and rows["370523001"].count == 2
    assert rows["370502"].previous == 1 and rows["370502"].change_pct == 300.0
    assert rows["370502"].incidence == pytest.approx(1.0)  # 4 / 400,000 × 100,000
    assert table.incidence == pytest.approx(0.6)          # 6 / 1,000,000 × 100,000
    for r in table.rows:
        assert drilled(r.url, user) == r.count
        assert drilled(r.previous_url, user) == r.previous
    assert drilled(table.url, user) == table.total


def test_county_user_sees_only_their_county(users, cards):
    user = users["dy"]
    scope = selectors.area_scope_for(user=user)
    table = selectors.area_table(scope=scope, query=q(), lang="zh")
    assert {r.code for r in table.rows} == {"370502", "370502001"}
    assert table.total == 4
    # the total's link names the county: the card list alone would add cards reported by
    # the county's hospitals for residents elsewhere
    assert parse_qs(urlsplit(table.url).query)["county_code"] == ["370502"]
    assert drilled(table.url, user) == 4
    top = selectors.top_diseases(scope=scope, query=q(), lang="zh")
    assert [(d.code, d.count) for d in top] == [("hfmd", 3), ("influenza", 1)]
    curve = selectors.epi_curve(scope=scope, query=q(), lang="zh")
    assert sum(curve.totals) == 4 and curve.stack == "township_code"


def test_county_outside_the_area_is_refused(users):
    scope = selectors.area_scope_for(user=users["gr"])
    with pytest.raises(Exception) as exc:
        selectors.scope_check(scope=scope, query=q(county_code="370502"))
    assert exc.value.status == 403
    assert exc.value.errors[0].field == "county_code"


def test_curve_by_day_and_classification_sums_to_the_cards(users, cards):
    user = users["city"]
    scope = selectors.area_scope_for(user=user)
    curve = selectors.epi_curve(scope=scope, query=q(stack="classification", interval="day"),
                                lang="zh")
    assert len(curve.labels) == 14 and curve.labels[0] == D0.isoformat()
    by = {s.key: s for s in curve.series}
    assert set(by) == {"2", "3"}
    assert sum(by["2"].values) == 1 and sum(by["3"].values) == 5
    assert curve.totals[0] == 2 and curve.totals[1] == 1 and curve.totals[2] == 2
    seg = by["2"].urls[0]
    params = parse_qs(urlsplit(seg).query)
    assert params["case_classification"] == ["2"]
    assert params["date_from"] == params["date_to"] == [D0.isoformat()]
    assert params["date_basis"] == ["onset"]
    assert params["status"] == ["submitted", "returned", "reviewed"]
    for s in curve.series:
        for value, url in zip(s.values, s.urls, strict=True):
            assert drilled(url, user) == value


def test_weekly_curve_and_disease_filter(users, cards):
    scope = selectors.area_scope_for(user=users["city"])
    curve = selectors.epi_curve(scope=scope, query=q(interval="week", disease_code="hfmd"),
                                lang="en")
    assert all(label[4:6] == "-W" for label in curve.labels)
    assert sum(curve.totals) == 5
    assert {s.name for s in curve.series} == {"东营区", "广饶县"}  # tree has no English names
    for url in curve.total_urls:
        assert parse_qs(urlsplit(url).query)["disease_code"] == ["hfmd"]


def test_review_basis_counts_reviewed_cards_and_links_say_so(users, cards):
    from phis.apps.notifiable.services import card_review

    reviewer = users["dy"]
    card = cards[0]
    card_review(user=reviewer, card_id=card.pk, version=card.version)
    scope = selectors.area_scope_for(user=users["city"])
    today = timezone.localdate()
    table = selectors.area_table(scope=scope, query=q(date_basis="review",
                                                      date_from=today.isoformat(),
                                                      date_to=today.isoformat()), lang="zh")
    assert table.total == 1
    assert parse_qs(urlsplit(table.url).query)["status"] == ["reviewed"]
    assert drilled(table.url, users["city"]) == 1


def test_map_regions_use_the_city_maps_names_and_mark_approximate_positions(users, cards):
    from phis.core.orgunits.models import OrgUnit

    OrgUnit.objects.filter(code="370523001").update(position_approximate=True)
    selectors.map_region_names.cache_clear()
    names = selectors.map_region_names()
    assert names == {"370502": "东营区", "370503": "河口区", "370505": "垦利区",
                     "370522": "利津县", "370523": "广饶县"}
    from django.core.cache import cache

    cache.clear()
    scope = selectors.area_scope_for(user=users["city"])
    m = selectors.epi_map(scope=scope, query=q(), lang="zh")
    regions = {r["name"]: r for r in m.regions}
    assert regions["东营区"]["count"] == 4 and regions["东营区"]["value"] == pytest.approx(1.0)
    assert [t["code"] for t in m.townships_exact] == ["370502001"]
    assert [t["code"] for t in m.townships_approximate] == ["370523001"]
    assert m.townships_exact[0]["value"] == [118.55, 37.45, 4]


def test_real_tree_counties_all_have_a_map_region(dongying):
    from phis.core.orgunits.models import Level, OrgUnit

    names = selectors.map_region_names()
    counties = dict(OrgUnit.objects.filter(level=Level.COUNTY).values_list("code", "name"))
    # the five divisions have polygons with the same names; the two zones have none
    assert {c: counties[c] for c in names} == names
    assert set(counties) - set(names) == {"370571", "370572"}


def test_deaths_and_week_figures(users, cards):
    y, w, _ = (D0 + timedelta(days=8)).isocalendar()
    figures = selectors.week_figures(scope_code="370500", iso_year=y, iso_week=w)
    start, end = figures.week_start, figures.week_end
    expected = sum(1 for c in cards if start <= c.onset_date <= end)
    assert figures.total == expected
    assert sum(n for _d, n in figures.daily) == expected
    assert sum(figures.by_class.values()) == expected
    assert figures.weekly[-1][1] == expected
    death_in_week = start <= D0 + timedelta(days=9) <= end
    assert figures.deaths == (1 if death_in_week else 0)


def test_counts_are_cached_per_area_and_parameters(users, cards, settings, make_card):
    settings.PHIS_EPI_CACHE_SECONDS = 60
    scope = selectors.area_scope_for(user=users["city"])
    first = selectors.area_table(scope=scope, query=q(), lang="zh").total
    make_card(county="370502", disease="hfmd", onset=D0 + timedelta(days=4))
    assert selectors.area_table(scope=scope, query=q(), lang="zh").total == first
    other = selectors.area_scope_for(user=users["dy"])
    assert selectors.area_table(scope=other, query=q(), lang="zh").total == 5
