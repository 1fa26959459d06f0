"""Detection runs over count tables built from real cards: the §3.1 MPM worked example at
county level, leap year and year end, the EARS fallback for a county without history,
configuration as data and its validation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from phis.apps.signals import selectors, services
from phis.apps.signals.models import DetectionConfig, Signal
from phis.apps.signals.rules import Method
from phis.core.exceptions import Conflict, ValidationFailed

pytestmark = pytest.mark.django_db
BASELINE = [0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 8]  # §3.1 worked example


def block_ends(t: date) -> list[date]:
    """The 15 MPM baseline block ends of run day t (52-week shift, ±2 blocks)."""
    return [t - timedelta(days=364 * y - 7 * j) for y in (1, 2, 3) for j in (-2, -1, 0, 1, 2)]


def onset_basis(env, disease="influenza", **extra):
    config = selectors.config_get(disease_code=disease)
    return services.detection_config_update(user=env.city, disease_code=disease,
                                            version=config.version,
                                            data={"basis": "onset", **extra})


def history_start(env, t: date, county="dy"):
    # the county's history reaches back past the oldest block (any disease counts)
    env.place({t - timedelta(days=3 * 364 + 30): 1}, disease="mumps", county=county)


def test_mpm_worked_example_through_cards(env):
    t = date(2025, 6, 18)
    services.detection_configs_ensure(on=t)
    onset_basis(env)
    history_start(env, t)
    env.place({end: n for end, n in zip(block_ends(t), BASELINE, strict=True) if n})
    env.place({t: 2, t - timedelta(days=6): 2})  # 4 in the 7 days ending on t
    env.drain()

    report = services.detection_run(on=t, diseases=["influenza"])
    signal = Signal.objects.get(disease_code="influenza", county_code="370502")
    assert (signal.method, signal.observed, signal.threshold) == (Method.MPM, 4, 3.0)
    assert signal.window_from == t - timedelta(days=6) and signal.window_to == t
    assert signal.parameters["percentile"] == 50 and signal.parameters["strict"] is True
    assert signal.response_hours == 24
    assert report.signals_new == 1 and report.series_evaluated == 2
    # 广饶县 has no history: MPM is not run there, EARS is (§3.1)
    assert report.fallbacks == 1
    assert {"disease": "influenza", "county": "370523",
            "reason": "mpm_baseline_0_blocks"} in report.skipped

    # the same data at P80 (threshold 5) raises nothing; the open signal is kept
    config = selectors.config_get(disease_code="influenza")
    services.detection_config_update(user=env.city, disease_code="influenza",
                                     version=config.version,
                                     data={"parameters": {"percentile": 80}})
    Signal.objects.all().delete()
    assert services.detection_run(on=t, diseases=["influenza"]).signals_new == 0


def test_mpm_boundary_current_equal_to_threshold(env):
    t = date(2025, 6, 18)
    services.detection_configs_ensure(on=t)
    onset_basis(env)
    history_start(env, t)
    env.place({end: n for end, n in zip(block_ends(t), BASELINE, strict=True) if n})
    env.place({t: 3})  # = P50
    env.drain()
    assert services.detection_run(on=t, diseases=["influenza"]).alarms == 0
    config = selectors.config_get(disease_code="influenza")
    services.detection_config_update(user=env.city, disease_code="influenza",
                                     version=config.version,
                                     data={"parameters": {"strict": False}})
    assert services.detection_run(on=t, diseases=["influenza"]).signals_new == 1


@pytest.mark.parametrize("t", [date(2024, 3, 1), date(2025, 1, 2)],
                         ids=["leap-year", "year-end"])
def test_windows_across_feb_29_and_new_year(env, t):
    services.detection_configs_ensure(on=t)
    onset_basis(env)
    history_start(env, t)
    # one case on the FIRST day of 8 of the 15 baseline blocks: P50 = 1 only if the
    # block boundaries are exactly where the 52-week rule puts them
    ends = block_ends(t)
    env.place({end - timedelta(days=6): 1 for end in ends[:8]})
    window = [t - timedelta(days=i) for i in range(7)]
    env.place({window[-1]: 1, window[0]: 1})  # the 7-day window's first and last day
    if t == date(2024, 3, 1):
        assert date(2024, 2, 29) in window and ends[2] == date(2023, 3, 3)
        env.place({date(2024, 2, 29): 1})
    else:
        assert date(2024, 12, 31) in window and ends[2] == date(2024, 1, 4)
        env.place({date(2024, 12, 31): 1})
    env.drain()
    services.detection_run(on=t, diseases=["influenza"])
    signal = Signal.objects.get(disease_code="influenza", county_code="370502")
    assert signal.threshold == 1.0 and signal.observed == 3


def test_fallback_to_ears_raises_a_signal_without_history(env):
    t = date(2025, 6, 18)
    services.detection_configs_ensure(on=t)
    onset_basis(env)
    env.place({t: 3}, county="gr")
    env.drain()
    report = services.detection_run(on=t, diseases=["influenza"])
    signal = Signal.objects.get(county_code="370523")
    assert signal.method == Method.EARS_C2 and signal.configured_method == Method.MPM
    assert signal.parameters["fallback_from"] == Method.MPM
    assert signal.window_from == t and signal.observed == 3
    assert report.fallbacks == 2  # both counties: neither has three years of history


def test_report_basis_counts_by_report_day(env):
    t = date(2025, 6, 18)
    services.detection_configs_ensure(on=t)
    config = selectors.config_get(disease_code="measles")
    services.detection_config_update(user=env.city, disease_code="measles",
                                     version=config.version, data={"method": "ears_c1"})
    # onset days earlier, all reported on t
    from phis.apps.signals.tests.conftest import aware

    for back in (1, 3, 5):
        env.card(disease="measles", onset=t - timedelta(days=back), now=aware(t, 15))
    env.drain()
    services.detection_run(on=t, diseases=["measles"])
    signal = Signal.objects.get(disease_code="measles")
    assert signal.basis == "report" and signal.observed == 3
    assert "date_basis=report" in selectors.signal_cases_url(signal)


def test_defaults_follow_cidars_and_configuration_is_validated(env):
    services.detection_configs_ensure()
    cholera = selectors.config_get(disease_code="cholera")
    assert cholera.method == Method.FIXED and cholera.realtime and cholera.response_hours == 2
    sars = selectors.config_get(disease_code="sars")  # managed as class A
    assert sars.method == Method.FIXED
    hfmd = selectors.config_get(disease_code="hfmd")
    assert hfmd.method == Method.MPM and hfmd.parameters["percentile"] == 50
    assert hfmd.parameters["block"] == 7 and hfmd.parameters["baseline_years"] == 3
    assert hfmd.parameters["half_window"] == 2 and hfmd.response_hours == 24
    assert not selectors.config_get(disease_code="tuberculosis").enabled
    # bad input: field-level errors in both languages
    with pytest.raises(ValidationFailed) as exc:
        services.detection_config_update(user=env.city, disease_code="hfmd",
                                         version=hfmd.version,
                                         data={"parameters": {"percentile": 120,
                                                              "bogus": 1}})
    fields = {e.field for e in exc.value.errors}
    assert fields == {"parameters.percentile", "parameters.bogus"}
    assert all(e.message and e.message_en for e in exc.value.errors)
    with pytest.raises(ValidationFailed) as exc:
        services.detection_config_update(user=env.city, disease_code="hfmd",
                                         version=hfmd.version,
                                         data={"fallback_method": "cusum", "basis": "x"})
    assert {e.field for e in exc.value.errors} == {"fallback_method", "basis"}
    changed = services.detection_config_update(
        user=env.city, disease_code="hfmd", version=hfmd.version,
        data={"method": "farrington", "suppression_days": 3})
    assert changed.parameters["b"] == 5 and changed.version == hfmd.version + 1
    with pytest.raises(Conflict):
        services.detection_config_update(user=env.city, disease_code="hfmd",
                                         version=hfmd.version, data={"enabled": False})
    reset = services.detection_config_reset(user=env.city, disease_code="hfmd",
                                            version=changed.version)
    assert reset.method == Method.MPM and reset.suppression_days == 7
    assert DetectionConfig.objects.filter(disease_code="hfmd").count() == 1


def test_scheduled_run_once_per_day(env):
    from django.utils import timezone

    first = services.detection_scheduled()
    assert first is not None and first.on == timezone.localdate() - timedelta(days=1)
    assert services.detection_scheduled() is None


def test_demo_setup_is_idempotent(env):
    from django.utils import timezone

    env.card(disease="plague", onset=timezone.localdate() - timedelta(days=1))
    first = services.signals_demo_setup()  # the history was bulk-loaded: no events drained
    assert first["configs_created"] > 40 and first["count_rows"] == 2
    assert first["run"]["signals_new"] == 1
    second = services.signals_demo_setup()
    assert second["configs_created"] == 0 and second["count_rows"] == 0
    assert second["run"]["signals_new"] == 0
    assert Signal.objects.count() == 1
