import pyotp
import pytest

from phis.core.accounts.services import totp_begin_enrolment, totp_confirm_enrolment, totp_secret
from phis.core.audit.models import AuditLog
from phis.core.audit.types import AuditEventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(client, make_user, tree):
    admin = make_user("system_admin", tree.dy, username="dyadmin")
    totp_begin_enrolment(user=admin)
    totp_confirm_enrolment(user=admin, code=pyotp.TOTP(totp_secret(admin)).now())
    client.force_login(admin)
    session = client.session
    session["phis_second_factor_ok"] = True
    session.save()
    return client


def post(c, path, data):
    return c.post(f"/api{path}", data, content_type="application/json")


def test_admin_creates_and_changes_users_in_scope(admin_api, tree):
    r = post(admin_api, "/accounts/users", {
        "username": "new.doc", "password": "Gx7#kPq2mZ", "role": "clinician",
        "org_code": "F370502H1", "full_name": "新医生"})
    assert r.status_code == 201, r.content
    assert AuditLog.objects.filter(event_type=AuditEventType.ROLE_CHANGED).count() == 1
    r = admin_api.patch("/api/accounts/users/new.doc", {"role": "hospital_clerk"},
                        content_type="application/json")
    assert r.status_code == 200 and r.json()["role"] == "hospital_clerk"
    row = AuditLog.objects.filter(event_type=AuditEventType.ROLE_CHANGED).latest("id")
    assert row.detail["before"]["role"] == "clinician"
    # other county's units are refused field by field
    r = post(admin_api, "/accounts/users", {
        "username": "gr.doc", "password": "Gx7#kPq2mZ", "role": "clinician",
        "org_code": "F370523H1"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "org_code"
    r = post(admin_api, "/accounts/users", {
        "username": "weak", "password": "abc", "role": "nope", "org_code": "F370502H1"})
    assert {e["field"] for e in r.json()["errors"]} == {"role", "password"}
    names = [u["username"] for u in admin_api.get("/api/accounts/users").json()]
    assert "new.doc" in names


def test_clinician_cannot_manage_users(client, make_user, tree):
    client.force_login(make_user("clinician", tree.facilities["370502H1"]))
    assert client.get("/api/accounts/users").status_code == 403
