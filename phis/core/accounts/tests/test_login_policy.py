import time
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from phis.core.accounts.models import LoginThrottle, User
from phis.core.accounts.services import totp_secret
from phis.core.audit.models import AuditLog
from phis.core.audit.types import AuditEventType

pytestmark = pytest.mark.django_db
PASSWORD = "Str0ng!Passw0rd"


def login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


@pytest.mark.parametrize(("password", "code"), [
    ("Ab1!xy", "password_too_short"),
    ("alllowercaseletters", "password_too_simple"),
    ("lowercase123456", "password_too_simple"),
    ("Password1", "password_too_common"),
])
def test_password_rules_each_give_their_error(password, code, tree):
    user = User(username="zhangsan", role="clinician")
    with pytest.raises(ValidationError) as info:
        validate_password(password, user)
    assert code in {e.code for e in info.value.error_list}


def test_password_may_not_contain_username(tree):
    with pytest.raises(ValidationError) as info:
        validate_password("Zhangsan#2026", User(username="zhangsan"))
    assert "password_contains_username" in {e.code for e in info.value.error_list}
    validate_password("Hua$Shan2026x", User(username="zhangsan"))


def test_lockout_sequence(client, make_user, tree):
    user = make_user("clinician", tree.facilities["370502H1"], username="doc")
    for _ in range(4):
        assert login(client, "doc", "wrong").status_code == 401
    assert login(client, "doc", "wrong").status_code == 429  # the 5th already locks
    r = login(client, "doc", PASSWORD)
    assert r.status_code == 429  # even the right password, while locked
    assert AuditLog.objects.filter(event_type=AuditEventType.ACCOUNT_LOCKED).count() == 1
    # 31 minutes later the lock has expired
    LoginThrottle.objects.update(locked_until=timezone.now() - timedelta(seconds=1),
                                 first_failure_at=timezone.now() - timedelta(minutes=31))
    r = login(client, "doc", PASSWORD)
    assert r.status_code == 302
    assert client.get("/").status_code == 200
    assert user.username == "doc"


def test_unknown_user_and_wrong_password_look_the_same(client, make_user, tree):
    make_user("clinician", tree.facilities["370502H1"], username="doc")
    a = login(client, "doc", "wrong")
    b = login(client, "nobody", "wrong")
    assert a.status_code == b.status_code == 401
    strip = lambda r: r.content.decode().replace("doc", "X").replace("nobody", "X")  # noqa
    import re

    token = re.compile(r"[A-Za-z0-9]{64}")  # CSRF tokens differ per response
    assert token.sub("", strip(a)) == token.sub("", strip(b))
    for _ in range(4):
        login(client, "nobody", "wrong")
    assert login(client, "nobody", "wrong").status_code == 429  # unknown names lock too


def test_idle_logout(client, make_user, tree):
    make_user("clinician", tree.facilities["370502H1"], username="doc")
    assert login(client, "doc", PASSWORD).status_code == 302
    session = client.session
    session["phis_last_seen"] = time.time() - 29 * 60  # 29 minutes: still in
    session.save()
    assert client.get("/").status_code == 200
    session = client.session
    session["phis_last_seen"] = time.time() - 31 * 60
    session.save()
    r = client.get("/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert client.get("/api/persons").status_code == 401
    assert AuditLog.objects.filter(event_type=AuditEventType.SESSION_EXPIRED).exists()


def test_admin_roles_must_enrol_totp(client, make_user, tree):
    admin = make_user("system_admin", tree.city, username="admin1")
    r = login(client, "admin1", PASSWORD)
    assert r["Location"] == "/accounts/2fa/enrol/"
    assert client.get("/").status_code == 302  # nothing else before the second factor
    assert client.get("/api/orgunits").status_code == 403
    page = client.get("/accounts/2fa/enrol/")
    assert page.status_code == 200
    admin.refresh_from_db()
    code = pyotp.TOTP(totp_secret(admin)).now()
    r = client.post("/accounts/2fa/enrol/", {"code": code})
    assert r.status_code == 302
    assert client.get("/").status_code == 200
    # next log-in asks for a code; a replayed code fails
    client.post("/accounts/logout/")
    r = login(client, "admin1", PASSWORD)
    assert r["Location"] == "/accounts/2fa/verify/"
    assert client.post("/accounts/2fa/verify/", {"code": code}).status_code == 401
    admin.refresh_from_db()
    fresh = pyotp.TOTP(totp_secret(admin)).at(time.time() + 30)
    assert client.post("/accounts/2fa/verify/", {"code": fresh}).status_code == 302
    assert client.get("/").status_code == 200


def test_logout_ends_the_session(client, make_user, tree):
    make_user("clinician", tree.facilities["370502H1"], username="doc")
    login(client, "doc", PASSWORD)
    cookie = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    client.cookies["sessionid"] = cookie
    assert client.get("/api/persons").status_code == 401
