from __future__ import annotations

import pytest

from phis.core.orgunits.models import Level, OrgUnit


@pytest.fixture(autouse=True)
def _fast_pin_kdf(settings):
    # The production default (60,000 PBKDF2-HMAC-SM3 rounds) costs ~0.3 s per PIN check.
    settings.PHIS_ESIGN_PIN_ITERATIONS = 1000


@pytest.fixture
def tree(db):
    city = OrgUnit.objects.create(code="370500", name="东营市", level=Level.CITY,
                                  path="/370500/")
    a = OrgUnit.objects.create(code="370502", name="东营区", level=Level.COUNTY, parent=city,
                               path="/370500/370502/")
    b = OrgUnit.objects.create(code="370521", name="垦利区", level=Level.COUNTY, parent=city,
                               path="/370500/370521/")
    return {"city": city, "a": a, "b": b}


@pytest.fixture
def make_user(tree):
    from phis.core.accounts.services import user_create

    def make(username: str, role: str = "county_cdc_reviewer", unit: str = "a"):
        return user_create(username=username, password="x", role=role, org_unit=tree[unit],
                           full_name=username, check_password=False)

    return make


@pytest.fixture
def pki(db):
    from phis.apps.esign.services import ca_ensure

    return ca_ensure()


@pytest.fixture
def signer(make_user, pki):
    from phis.apps.esign.services import certificate_issue

    user = make_user("dr.zhang")
    certificate_issue(by=None, profile="sm2", pin="135790", user=user)
    return user


@pytest.fixture
def ecdsa_signer(make_user, pki):
    from phis.apps.esign.services import certificate_issue

    user = make_user("dr.li")
    certificate_issue(by=None, profile="ecdsa", pin="135790", user=user)
    return user
