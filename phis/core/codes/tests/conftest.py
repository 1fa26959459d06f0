import pytest


@pytest.fixture
def city_cdc_user(db):
    from phis.core.accounts.services import user_create
    from phis.core.orgunits.models import Level, OrgUnit

    city = OrgUnit.objects.create(code="370500", name="东营市", level=Level.CITY,
                                  path="/370500/")
    return user_create(username="cdc_codes", password="x", role="city_cdc", org_unit=city,
                       check_password=False)
