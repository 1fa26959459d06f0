"""Fixtures shared by every test: a small two-county tree, users made through services, and
a logged-in API client. ``dongying`` loads the whole real tree when a test needs it."""

from __future__ import annotations

import pytest

# Django imports stay inside the fixtures: the pure-Python suites (phis/algorithms) run
# with `-p no:django` and must be able to load this file.


@pytest.fixture
def tree(db):
    """City → two counties → one township each → one community each, plus a CDC and a
    hospital per county. Codes are the real ones."""
    from phis.core.orgunits.models import FacilityType, Level
    from phis.core.orgunits.services import _TreeWriter

    w = _TreeWriter()
    city = w.put(code="370500", name="东营市", level=Level.CITY, parent=None)
    w.flush()
    dy = w.put(code="370502", name="东营区", level=Level.COUNTY, parent=city)
    gr = w.put(code="370523", name="广饶县", level=Level.COUNTY, parent=city)
    w.flush()
    dy_t = w.put(code="370502001", name="文汇街道", level=Level.TOWNSHIP, parent=dy,
                 latitude=37.45, longitude=118.55)
    gr_t = w.put(code="370523001", name="广饶街道", level=Level.TOWNSHIP, parent=gr,
                 latitude=37.05, longitude=118.4)
    w.flush()
    dy_c = w.put(code="370502001011", name="东营社区居委会", level=Level.COMMUNITY, parent=dy_t)
    gr_c = w.put(code="370523001001", name="城关社区居委会", level=Level.COMMUNITY, parent=gr_t)
    facilities = {}
    for county in (dy, gr):
        for suffix, ftype in (("CDC", FacilityType.CDC), ("H1", FacilityType.HOSPITAL)):
            facilities[f"{county.code}{suffix}"] = w.put(
                code=f"F{county.code}{suffix}", name=f"{county.name}{suffix}",
                level=Level.FACILITY, facility_type=ftype, parent=county)
    w.flush()

    class Tree:
        pass

    t = Tree()
    t.city, t.dy, t.gr, t.dy_township, t.gr_township = city, dy, gr, dy_t, gr_t
    t.dy_community, t.gr_community = dy_c, gr_c
    t.facilities = facilities
    return t


@pytest.fixture
def dongying(db):
    from phis.core.orgunits.services import divisions_load

    return divisions_load()


@pytest.fixture
def make_user(db):
    from phis.core.accounts.services import user_create

    counter = {"n": 0}

    def make(role: str, org_unit, *, jurisdiction=None, username: str | None = None,
             password: str = "Str0ng!Passw0rd"):
        counter["n"] += 1
        user = user_create(username=username or f"u{counter['n']}.{role}", password=password,
                           role=role, org_unit=org_unit, full_name=f"测试{counter['n']}",
                           check_password=False)
        if jurisdiction is not None:
            user.extra_org_units.set([jurisdiction])
        return user

    return make


@pytest.fixture
def api_client(client):
    """Django test client speaking JSON to /api/."""

    class Api:
        def __init__(self, c):
            self.c = c

        def login(self, user):
            self.c.force_login(user)
            return self

        def get(self, path, **params):
            return self.c.get(f"/api{path}", params)

        def post(self, path, data=None):
            return self.c.post(f"/api{path}", data or {}, content_type="application/json")

        def put(self, path, data=None):
            return self.c.put(f"/api{path}", data or {}, content_type="application/json")

    return Api(client)


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A page requested in English leaves English active in the thread (LocaleMiddleware
    activates, nothing deactivates); the next test of the same worker must start in the
    platform's default language again."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def _codes_loaded_once(django_db_setup, django_db_blocker):
    """Every code system loaded once per test session, committed (as a data migration or
    `phis demo` would). Tests that need codes use the `codes` fixture."""
    from phis.core.codes.selectors import codes_cache_clear
    from phis.core.codes.services import codes_load

    with django_db_blocker.unblock():
        codes_cache_clear()
        codes_load()


@pytest.fixture
def codes(_codes_loaded_once, db):
    from phis.core.codes.selectors import codes_cache_clear
    from phis.core.codes.services import codes_load

    codes_cache_clear()
    codes_load()  # a no-op unless a transactional test flushed the tables
    yield
    codes_cache_clear()
