import pytest

from phis.core.codes.selectors import codes_cache_clear
from phis.core.codes.services import codes_load


@pytest.fixture(scope="session")
def _codes_loaded_once(django_db_setup, django_db_blocker):
    """Load every code system once per test session, committed (as a data migration or
    `phis demo` would). Tests that need codes use the `codes` fixture."""
    with django_db_blocker.unblock():
        codes_cache_clear()
        codes_load()


@pytest.fixture
def codes(_codes_loaded_once, db):
    codes_cache_clear()
    codes_load()  # a no-op unless a transactional test elsewhere flushed the tables
    yield
    codes_cache_clear()


@pytest.fixture
def city_cdc_user(db):
    from phis.core.accounts.services import user_create
    from phis.core.orgunits.models import Level, OrgUnit

    city = OrgUnit.objects.create(code="370500", name="东营市", level=Level.CITY,
                                  path="/370500/")
    return user_create(username="cdc_codes", password="x", role="city_cdc", org_unit=city,
                       check_password=False)
