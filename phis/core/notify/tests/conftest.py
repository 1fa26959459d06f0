import pytest

from phis.core.accounts.permissions import Role
from phis.core.accounts.services import user_create
from phis.core.notify.backends import MemorySmsBackend
from phis.core.orgunits.models import Level, OrgUnit


@pytest.fixture
def county(db):
    city = OrgUnit.objects.create(code="370500", name="东营市", level=Level.CITY,
                                  path="/370500/")
    return OrgUnit.objects.create(code="370502", name="东营区", level=Level.COUNTY,
                                  parent=city, path="/370500/370502/")


@pytest.fixture
def notify_user(county):
    def make(username: str, *, mobile: str = "13800000001", email: str = "",
             role: str = Role.COUNTY_CDC_REVIEWER, org_unit=None):
        return user_create(username=username, password="x", role=role,
                           org_unit=org_unit or county, mobile=mobile,
                           email=email or f"{username}@example.org", check_password=False)

    return make


@pytest.fixture
def alice(notify_user):
    return notify_user("alice", mobile="13800000001")


@pytest.fixture
def bob(notify_user):
    return notify_user("bob", mobile="13800000002")


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    settings.PHIS_SMS_BACKEND = "memory"
    MemorySmsBackend.outbox.clear()
    yield MemorySmsBackend.outbox
    MemorySmsBackend.outbox.clear()
