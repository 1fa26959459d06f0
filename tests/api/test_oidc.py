"""A partner system signs a PHIS user in over OpenID Connect (issue 2, item 3, C1 unified
identity), then calls the PHIS API with the access token it got.

Authorization-code flow with PKCE S256 against django-oauth-toolkit mounted at ``/o/``; the
ID token is verified with the provider's published JWKS (jwcrypto, a dependency of
django-oauth-toolkit)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from jwcrypto import jwk, jwt

from phis.algorithms.identity import check_character
from phis.core.people.services import PersonInput, person_create

pytestmark = pytest.mark.django_db

REDIRECT = "https://partner.example/cb"
CLIENT_ID = "partner-his"
CLIENT_SECRET = "partner-secret-used-only-in-this-test"
ERROR_KEYS = {"code", "message", "message_en", "errors"}
DY_ID = "37050219800101123" + check_character("37050219800101123")
GR_ID = "37052319900202234" + check_character("37052319900202234")


@pytest.fixture
def partner(db):
    """Registered the way docs/modules/accounts.md tells an operator to."""
    from oauth2_provider.models import Application

    return Application.objects.create(
        name="东营区人民医院 HIS", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT, algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True)


@pytest.fixture
def reviewer(tree, make_user):
    """A 东营区 CDC reviewer: sees 东营区 persons, never 广饶县 ones."""
    person_create(data=PersonInput(name="张伟", id_number=DY_ID,
                                   address_unit_code="370502001011"))
    person_create(data=PersonInput(name="张娜", id_number=GR_ID,
                                   address_unit_code="370523001001"))
    return make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                     jurisdiction=tree.dy, username="liu.min")


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize(client, *, challenge: str, state: str, nonce: str,
               scope: str = "openid profile phis.api", **extra):
    return client.get("/o/authorize/", {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
        "scope": scope, "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256", **extra})


def _basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _sign_in(client, user) -> tuple[dict, str]:
    """The whole browser + back-channel dance; returns (token response, nonce)."""
    client.force_login(user)
    verifier, challenge = _pkce()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    r = _authorize(client, challenge=challenge, state=state, nonce=nonce)
    assert r.status_code == 302, r.content[:500]
    location = urlsplit(r["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [state]
    assert query["iss"] == ["http://testserver/o"]  # RFC 9207 / RFC 9700 mix-up defence
    code = query["code"][0]

    client.logout()  # the token call comes from the partner's server, not the browser
    r = client.post("/o/token/", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}, HTTP_AUTHORIZATION=_basic())
    assert r.status_code == 200, r.content
    assert r["Cache-Control"] == "no-store"
    return r.json(), nonce


def _jwks(client) -> jwk.JWKSet:
    r = client.get("/o/.well-known/jwks.json")
    assert r.status_code == 200
    keys = r.json()["keys"]
    assert keys and all(k["kty"] == "RSA" and "d" not in k for k in keys)  # public only
    return jwk.JWKSet.from_json(r.content)


def test_discovery_document_lists_the_endpoints(client):
    r = client.get("/o/.well-known/openid-configuration")
    assert r.status_code == 200
    doc = r.json()
    base = "http://testserver/o"
    assert doc["issuer"] == base
    assert doc["authorization_endpoint"] == f"{base}/authorize/"
    assert doc["token_endpoint"] == f"{base}/token/"
    assert doc["userinfo_endpoint"] == f"{base}/userinfo/"
    assert doc["jwks_uri"] == f"{base}/.well-known/jwks.json"
    assert "RS256" in doc["id_token_signing_alg_values_supported"]
    # RFC 9700: the authorization-code flow only — no implicit and no hybrid response types
    # (settings OAUTH2_PROVIDER["OIDC_RESPONSE_TYPES_SUPPORTED"]); S256 PKCE only.
    assert doc["response_types_supported"] == ["code"]
    assert doc.get("code_challenge_methods_supported", ["S256"]) == ["S256"]
    assert {"openid", "profile"} <= set(doc["scopes_supported"])
    assert {"sub", "name", "preferred_username", "phis_role", "phis_org_code",
            "phis_org_name"} <= set(doc["claims_supported"])
    assert doc["authorization_response_iss_parameter_supported"] is True


def test_partner_signs_user_in_and_calls_the_api(client, partner, reviewer, tree):
    tokens, nonce = _sign_in(client, reviewer)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600 and tokens["refresh_token"]
    assert set(tokens["scope"].split()) == {"openid", "profile", "phis.api"}
    access, id_token = tokens["access_token"], tokens["id_token"]

    # ID token: signed RS256 with a key from the published JWKS, claims as documented.
    token = jwt.JWT(jwt=id_token, key=_jwks(client), algs=["RS256"],
                    expected_type="JWS")
    assert json.loads(token.header)["alg"] == "RS256"
    claims = json.loads(token.claims)
    assert claims["iss"] == "http://testserver/o"
    assert claims["sub"] == str(reviewer.pk)
    assert claims["aud"] == CLIENT_ID or claims["aud"] == [CLIENT_ID]
    assert claims["nonce"] == nonce
    assert claims["exp"] > claims["iat"]
    assert claims["phis_role"] == "county_cdc_reviewer"
    assert claims["phis_org_code"] == "F370502CDC"
    assert claims["phis_org_name"] == tree.facilities["370502CDC"].name
    assert claims["preferred_username"] == "liu.min"

    # A token signed with some other key is refused by the same check.
    other = jwk.JWK.generate(kty="RSA", size=2048)
    forged = jwt.JWT(header={"alg": "RS256", "kid": json.loads(token.header).get("kid")},
                     claims=claims)
    forged.make_signed_token(other)
    with pytest.raises(Exception):  # noqa: B017  (jwcrypto raises several types)
        jwt.JWT(jwt=forged.serialize(), key=_jwks(client), algs=["RS256"])

    # Userinfo with the bearer token.
    r = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert r.status_code == 200, r.content
    info = r.json()
    assert info["sub"] == str(reviewer.pk)
    assert info["phis_role"] == "county_cdc_reviewer"
    assert info["phis_org_code"] == "F370502CDC"
    assert "email" not in info  # the partner did not ask for the email scope

    # The PHIS API with the bearer token: runs as the user, scoped to the user's county.
    assert not client.cookies.get("sessionid") or not client.session.get("_auth_user_id")
    r = client.get("/api/persons", {"name": "张"}, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert r.status_code == 200, r.content
    assert [p["name"] for p in r.json()] == ["张伟"]
    assert r.json()[0]["id_masked"] == "370502********" + DY_ID[-4:]
    from phis.core.audit.models import AuditLog
    from phis.core.audit.types import AuditEventType

    row = AuditLog.objects.filter(event_type=AuditEventType.RECORD_SEARCHED).latest("pk")
    assert row.channel == "api"


@pytest.mark.parametrize("header", [
    "Bearer not-a-token", "Bearer ", "Bearer", "Basic dXNlcjpwYXNz", "Bearer  x y"])
def test_bad_bearer_token_is_401_in_the_error_shape(client, partner, reviewer, header):
    _sign_in(client, reviewer)  # a real token exists in the table (stored hashed)
    r = client.get("/api/persons", {"name": "张"}, HTTP_AUTHORIZATION=header)
    assert r.status_code == 401, r.content
    assert set(r.json()) == ERROR_KEYS
    assert r.json()["code"] == "not_authenticated"


def test_expired_and_revoked_tokens_are_refused(client, partner, reviewer):
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    tokens, _ = _sign_in(client, reviewer)
    access = tokens["access_token"]
    row = AccessToken.objects.get(token_checksum=hashlib.sha256(access.encode()).hexdigest())
    assert row.token == ""  # RFC 9700: stored hashed, never in clear
    AccessToken.objects.filter(pk=row.pk).update(expires=timezone.now() - timedelta(seconds=1))
    r = client.get("/api/persons", {"name": "张"}, HTTP_AUTHORIZATION=f"Bearer {access}")
    assert r.status_code == 401 and set(r.json()) == ERROR_KEYS

    tokens, _ = _sign_in(client, reviewer)
    r = client.post("/o/revoke_token/", {"token": tokens["access_token"]},
                    HTTP_AUTHORIZATION=_basic())
    assert r.status_code == 200
    r = client.get("/api/persons", {"name": "张"},
                   HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert r.status_code == 401

    tokens, _ = _sign_in(client, reviewer)
    reviewer.is_active = False
    reviewer.save(update_fields=["is_active"])
    r = client.get("/api/persons", {"name": "张"},
                   HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert r.status_code == 401


def test_pkce_is_required_and_checked(client, partner, reviewer):
    client.force_login(reviewer)
    r = client.get("/o/authorize/", {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
        "scope": "openid profile", "state": "s", "nonce": "n"})
    assert r.status_code == 302
    assert parse_qs(urlsplit(r["Location"]).query)["error"] == ["invalid_request"]
    # plain is refused (S256 only)
    verifier, challenge = _pkce()
    r = _authorize(client, challenge=verifier, state="s", nonce="n",
                   code_challenge_method="plain")
    assert "code" not in parse_qs(urlsplit(r["Location"]).query)

    r = _authorize(client, challenge=challenge, state="s", nonce="n")
    code = parse_qs(urlsplit(r["Location"]).query)["code"][0]
    client.logout()
    r = client.post("/o/token/", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": _pkce()[0]}, HTTP_AUTHORIZATION=_basic())
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # a wrong client secret is refused too
    r = client.post("/o/token/", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}, HTTP_AUTHORIZATION=_basic(secret="wrong"))
    assert r.status_code == 401


def test_unregistered_redirect_is_not_followed(client, partner, reviewer):
    client.force_login(reviewer)
    _, challenge = _pkce()
    r = _authorize(client, challenge=challenge, state="s", nonce="n",
                   redirect_uri="https://evil.example/cb")
    assert r.status_code == 400 or not r.get("Location", "").startswith("https://evil")


def test_anonymous_authorize_goes_to_the_login_page(client, partner):
    _, challenge = _pkce()
    r = _authorize(client, challenge=challenge, state="s", nonce="n")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


def test_bearer_token_can_write_and_session_writes_still_need_csrf(client, partner, tree,
                                                                    make_user):
    """Regression: SessionAuth ran ninja's CSRF check on every unsafe request before
    BearerAuth was tried, so every POST/PUT with a token got 403 "CSRF check Failed"."""
    from django.test import Client

    clerk = make_user("hospital_clerk", tree.facilities["370502H1"], username="wang.clerk")
    tokens, _ = _sign_in(client, clerk)
    r = client.post("/api/persons", {"name": "新病人", "id_number": DY_ID},
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert r.status_code == 201, r.content

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(clerk)
    r = browser.post("/api/persons", {"name": "另一人"}, content_type="application/json")
    assert r.status_code == 403
    assert set(r.json()) == ERROR_KEYS and r.json()["code"] == "csrf_failed"
    secret = secrets.token_hex(16)  # 32 characters, the CSRF cookie's format
    browser.cookies["csrftoken"] = secret
    r = browser.post("/api/persons", {"name": "另一人"}, content_type="application/json",
                     HTTP_X_CSRFTOKEN=secret)
    assert r.status_code == 201, r.content


def test_admin_role_needs_the_second_factor_before_authorize(client, partner, tree,
                                                              make_user):
    """/o/authorize/ signs a user in to another system: the second factor comes first."""
    admin = make_user("system_admin", tree.city, username="zhao.admin")
    client.force_login(admin)  # password only: no second factor in this session
    _, challenge = _pkce()
    r = _authorize(client, challenge=challenge, state="s", nonce="n")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/2fa/")
    assert "code" not in parse_qs(urlsplit(r["Location"]).query)


def test_ordinary_user_cannot_register_oauth_clients(client, tree, make_user):
    """The toolkit's /o/applications/ management pages are not mounted (config/oauth_urls.py):
    clients are registered by an operator from the shell."""
    client.force_login(make_user("hospital_clerk", tree.facilities["370502H1"]))
    assert client.get("/o/applications/register/").status_code in (302, 403, 404)


def test_sign_in_token_without_the_api_scope_cannot_call_the_api(client, partner, reviewer):
    """A partner that only signs users in (openid profile) gets no API rights."""
    client.force_login(reviewer)
    verifier, challenge = _pkce()
    r = _authorize(client, challenge=challenge, state="s", nonce="n", scope="openid profile")
    code = parse_qs(urlsplit(r["Location"]).query)["code"][0]
    client.logout()
    tokens = client.post("/o/token/", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}, HTTP_AUTHORIZATION=_basic()).json()
    r = client.get("/api/persons", {"name": "张"},
                   HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert r.status_code == 401
    assert set(r.json()) == {"code", "message", "message_en", "errors"}
