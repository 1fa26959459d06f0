"""The epi dashboard in a real browser: the epi curve and the Dongying map render on canvas
without console errors (CSP forbids inline script, so everything runs from static files),
and clicking a bar opens the card list behind it."""

from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from phis.algorithms.identity import check_character
from phis.apps.notifiable.inputs import CardInput
from phis.apps.notifiable.services import card_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Str0ng!Passw0rd"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def resident_id(n: int, birth: date) -> str:
    body = f"370502{birth:%Y%m%d}{n:02d}1"  # odd sequence digit: male
    return body + check_character(body)


def report(user, *, n: int, county: str, onset: date) -> None:
    community = {"370502": "370502001011", "370523": "370523001001"}[county]
    birth = onset - timedelta(days=3 * 365)
    diagnosis = datetime.combine(onset + timedelta(days=1), time(10), SHANGHAI)
    card_create(user=user, now=diagnosis + timedelta(hours=1), data=CardInput(
        patient_name="测试病例", parent_name="测试家长", id_number=resident_id(n, birth), sex=1,
        birth_date=birth, phone="13800000000", address_code=community, address_text="测试路1号",
        occupation="02", disease_code="hfmd", case_classification="3", onset_date=onset,
        diagnosis_at=diagnosis, reporting_unit_code=f"F{county}H1", doctor_name="李医生",
        filled_date=diagnosis.date()))


def test_dashboard_draws_curve_and_map_and_drills_down(page, tree, make_user):
    from phis.core.codes.services import codes_load

    codes_load()
    make_user("city_cdc", tree.city, username="epi")
    clerks = {c: make_user("hospital_clerk", tree.facilities[f"{c}H1"], username=f"clerk{c}")
              for c in ("370502", "370523")}
    start = timezone.localdate() - timedelta(days=20)
    for n, (county, offset) in enumerate([("370502", 0), ("370502", 0), ("370502", 3),
                                          ("370523", 5)]):
        report(clerks[county], n=n + 10, county=county, onset=start + timedelta(days=offset))

    errors: list[str] = []
    def on_console(message):
        # Chromium asks for /favicon.ico on its own (the shell declares none): not ours.
        if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"):
            errors.append(f"{message.text} {message.location.get('url', '')}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto("/accounts/login/")
    page.fill("#username", "epi")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_test_id("portal").wait_for()
    period = f"date_from={start}&date_to={start + timedelta(days=13)}"
    page.goto(f"/epi/?{period}")

    page.locator("[data-testid=epi-curve] canvas").wait_for()
    page.locator("[data-testid=epi-map] canvas").wait_for()
    drawn = page.evaluate("""() => ['epi-curve', 'epi-map'].map(id => {
        const el = document.querySelector(`[data-testid=${id}]`);
        const chart = echarts.getInstanceByDom(el);
        const c = el.querySelector('canvas');
        return {ready: el.dataset.ready, series: chart.getOption().series.length,
                width: c.width, height: c.height};
    })""")
    for chart in drawn:
        assert chart["ready"] == "1" and chart["series"] >= 1
        assert chart["width"] > 100 and chart["height"] > 100
    regions = page.evaluate("""() => echarts.getInstanceByDom(
        document.querySelector('[data-testid=epi-map]')).getOption().series[0].data
        .map(d => [d.name, d.count])""")
    assert ["东营区", 3] in regions and ["广饶县", 1] in regions
    assert page.get_by_test_id("total-count").inner_text() == "4"
    assert errors == []
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.wait_for_timeout(300)
    page.screenshot(path="/tmp/phis-epi-dashboard.png", full_page=True)

    # click the first day's bar of 东营区: the card list of exactly those cards
    point = page.evaluate("""() => {
        const el = document.querySelector('[data-testid=epi-curve]');
        const chart = echarts.getInstanceByDom(el);
        const [x, y] = chart.convertToPixel({seriesIndex: 0}, [0, 1]);
        const box = el.getBoundingClientRect();
        return [box.left + x, box.top + y];
    }""")
    page.mouse.click(point[0], point[1])
    page.wait_for_url("**/notifiable/cards/**")
    params = parse_qs(urlsplit(page.url).query)
    assert params["county_code"] == ["370502"]
    assert params["date_from"] == params["date_to"] == [start.isoformat()]
    assert params["date_basis"] == ["onset"]
