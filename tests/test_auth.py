"""Sign-in and roles through the real app (its lifespan, a fresh real Postgres database, a Redis
namespace): sign-in, the cookies and their attributes, expired and forged tokens, wrong roles,
CSRF on the cookie's requests, refresh rotation and reuse, sign-out, revoked API keys, rate
limits per role and per failed sign-in, another customer's thread, and the audit trail."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError

from channels.rest.security import CSRF_COOKIE, REFRESH_COOKIE
from channels.rest.tokens import SECRET_FILE, TokenIssuer, TokenRejected
from core.settings import Settings
from tests.auth_support import (
    CSRF,
    LOGIN,
    LOGOUT,
    ME,
    PASSWORD,
    REFRESH,
    bearer,
    browser,
    key_headers,
    new_user,
    runtime_of,
    server_app,
    sign_in,
)
from tests.conftest import StarterIndex
from tools.search.engine import SearchEngine

EXPORT = "/api/v1/admin/customers/{}/export"
HANDOFFS = "/api/v1/handoffs"


@pytest.fixture(scope="module")
async def app(starter_index: StarterIndex, engine: SearchEngine) -> AsyncIterator[FastAPI]:
    async with server_app(
        starter_index.settings,
        engine,
        staff_rate_limit="12/minute",
        signin_failures_per_user="3/minute",
        signin_failures_per_address="6/minute",
    ) as app:
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as http:
        yield http


async def audit_of(app: FastAPI, subject: str) -> list[tuple[str, str, dict[str, Any]]]:
    entries = await runtime_of(app).memory.repository.audit_entries(subject=subject)
    return [(e.actor, e.action, e.detail) for e in reversed(entries)]


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name, as sent."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def csrf(signed_in: dict[str, Any]) -> dict[str, str]:
    return {"X-CSRF-Token": signed_in["csrf_token"]}


# -- signing in ------------------------------------------------------------------------------
async def test_a_staff_member_signs_in(app: FastAPI) -> None:
    user = await new_user(app, "staff")
    async with browser(app, "10.0.0.1") as client:
        response = await client.post(LOGIN, json={"username": user.username.upper(), "password": PASSWORD})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 900 and body["csrf_token"]
        assert body["user"] == {"id": user.id, "username": user.username, "role": "staff"}
        assert response.headers["cache-control"] == "no-store"
        cookies = set_cookies(response)
        for name in (REFRESH_COOKIE, CSRF_COOKIE):
            attributes = cookies[name].lower()
            assert "httponly" in attributes and "secure" in attributes and "samesite=strict" in attributes
            assert "path=/api/v1/auth" in attributes
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 900 and claims["role"] == "staff"
        me = await client.get(ME, headers=bearer(body))
    assert me.json() == {"kind": "user", "id": user.id, "name": user.username, "role": "staff", "scopes": []}
    assert ("user:" + user.username, "auth.signin", {"client": "10.0.0.1"}) in await audit_of(app, user.username)


async def test_a_wrong_password_and_an_unknown_name_get_the_same_401(app: FastAPI) -> None:
    user = await new_user(app)
    async with browser(app, "10.0.0.2") as client:
        wrong = await client.post(LOGIN, json={"username": user.username, "password": "not it at all"})
        unknown = await client.post(LOGIN, json={"username": "nobody-here", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"] == "the username or password is wrong"
    assert REFRESH_COOKIE not in set_cookies(wrong)
    failed = await audit_of(app, user.username)
    assert failed[-1] == ("client:10.0.0.2", "auth.signin_failed", {"client": "10.0.0.2", "reason": "wrong_password"})
    assert (await audit_of(app, "nobody-here"))[-1][2]["reason"] == "unknown_user"
    everything = json.dumps([e.detail for e in await runtime_of(app).memory.repository.audit_entries(limit=1000)])
    assert "not it at all" not in everything and PASSWORD not in everything


@pytest.mark.parametrize(
    "body",
    [
        {"username": "x" * 65, "password": PASSWORD},
        {"username": "a b", "password": PASSWORD},
        {"username": "ok-name", "password": "p" * 257},
        {"username": "ok-name", "password": ""},
        {"username": "ok-name", "password": PASSWORD, "remember": True},
    ],
)
async def test_sign_in_fields_are_bounded(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post(LOGIN, json=body)
    assert response.status_code == 422 and response.json()["message"]


async def test_a_disabled_account_cannot_sign_in_or_use_its_tokens(app: FastAPI, client: httpx.AsyncClient) -> None:
    from memory.accounts import disable_user

    user = await new_user(app)
    signed_in = await sign_in(client, user)
    await disable_user(runtime_of(app).memory.repository, user.username, actor="tests")
    again = await client.post(LOGIN, json={"username": user.username, "password": PASSWORD})
    assert again.status_code == 403 and "disabled" in again.json()["message"]
    refused = await client.get(ME, headers=bearer(signed_in))
    assert refused.status_code == 401 and "disabled" in refused.json()["message"]
    refreshed = await client.post(REFRESH, headers=csrf(signed_in))
    assert refreshed.status_code == 401 and "sign in again" in refreshed.json()["message"]


# -- tokens ----------------------------------------------------------------------------------
async def test_an_expired_access_token_is_401_saying_it_expired(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await new_user(app)
    issuer = TokenIssuer.from_settings(runtime_of(app).settings)
    old, expires = issuer.access(user, now=datetime.now(UTC) - timedelta(minutes=16))
    assert expires < datetime.now(UTC)
    response = await client.get(ME, headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert response.json()["message"].startswith("the access token has expired: get a new one from POST")
    fresh, _ = issuer.access(user)
    assert (await client.get(ME, headers={"Authorization": f"Bearer {fresh}"})).status_code == 200


async def test_forged_and_misused_tokens_are_401(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await new_user(app, "admin")
    forged, _ = TokenIssuer("another secret, not the server's", access_ttl_s=900, refresh_ttl_s=3600).access(user)
    assert (await client.get(ME, headers={"Authorization": f"Bearer {forged}"})).json()["message"] == (
        "the access token is not valid: sign in again"
    )
    signed_in = await sign_in(client, user)
    refresh_token = client.cookies[REFRESH_COOKIE]
    as_access = await client.get(ME, headers={"Authorization": f"Bearer {refresh_token}"})
    assert as_access.status_code == 401, "a refresh token is not an access token"
    garbage = await client.get(ME, headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401
    nothing = await client.get(ME)
    assert nothing.status_code == 401 and "sign in" in nothing.json()["message"]
    assert (await client.get(ME, headers=bearer(signed_in))).status_code == 200


def test_the_signing_secret_is_kept_in_the_home_with_0600(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, fragrance_home=tmp_path)  # type: ignore[call-arg]
    first = TokenIssuer.from_settings(settings)
    path = tmp_path / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().strip()) >= 32
    from memory.records import User

    user = User(id="u1", username="mina", password_hash="-", role="staff", created_at=datetime.now(UTC))
    token, _ = first.access(user)
    assert TokenIssuer.from_settings(settings).read_access(token).username == "mina", "a restart keeps sessions"
    os.chmod(path, 0o644)
    TokenIssuer.from_settings(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    configured = TokenIssuer.from_settings(settings.model_copy(update={"jwt_secret": SecretStr("s" * 40)}))
    with pytest.raises(TokenRejected, match="not valid"):
        configured.read_access(token)
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(_env_file=None, jwt_secret="short")  # type: ignore[call-arg, arg-type]


# -- roles -----------------------------------------------------------------------------------
async def test_wrong_roles_are_403_with_a_sentence(app: FastAPI, client: httpx.AsyncClient) -> None:
    staff = await sign_in(client, await new_user(app, "staff"))
    refused = await client.get(EXPORT.format("someone"), headers=bearer(staff))
    assert refused.status_code == 403
    assert refused.json()["message"] == "this needs an administrator; you are signed in as staff"
    chat_key = await key_headers(app, "chat")
    as_staff = await client.get(HANDOFFS, headers=chat_key)
    assert as_staff.status_code == 403 and "for signed-in staff" in as_staff.json()["message"]
    admin_key = await key_headers(app, "admin")
    assert (await client.get(HANDOFFS, headers=admin_key)).status_code == 403
    assert (await client.get(EXPORT.format("someone"), headers=chat_key)).json()["message"] == (
        "this API key lacks the 'admin' scope"
    )
    assert (await client.get(HANDOFFS, headers=bearer(staff))).status_code == 200


async def test_an_admin_signs_in_for_admin_routes_and_is_audited(app: FastAPI) -> None:
    customer_key = await key_headers(app, "chat")
    repository = runtime_of(app).memory.repository
    customer = await repository.customer_for(
        "api", f"{customer_key['X-Key-Id']}:-", api_key_id=customer_key["X-Key-Id"]
    )
    admin = await new_user(app, "admin")
    async with browser(app) as client:
        signed_in = await sign_in(client, admin)
        exported = await client.get(EXPORT.format(customer.id), headers=bearer(signed_in))
        assert exported.status_code == 200 and exported.json()["customer"]["id"] == customer.id
        missing = await client.get(EXPORT.format("no-such-customer"), headers=bearer(signed_in))
        assert missing.status_code == 404
        assert (await client.get(HANDOFFS, headers=bearer(signed_in))).status_code == 200, "admins are staff too"
    assert ("user:" + admin.username, "customer.export", {}) in await audit_of(app, customer.id)


async def test_a_revoked_api_key_is_401_everywhere(app: FastAPI, client: httpx.AsyncClient) -> None:
    key = await key_headers(app, "chat", "admin")
    assert (await client.get(ME, headers=key)).json()["role"] == "admin"
    await runtime_of(app).memory.repository.revoke_api_key(key["X-Key-Id"])
    for path in (ME, EXPORT.format("someone"), "/api/v1/threads"):
        refused = await client.get(path, headers=key)
        assert refused.status_code == 401 and "was revoked on" in refused.json()["message"], path


# -- CSRF and the session cookie -------------------------------------------------------------
async def test_refresh_and_logout_need_the_csrf_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    signed_in = await sign_in(client, await new_user(app))
    for path in (REFRESH, LOGOUT):
        missing = await client.post(path)
        assert missing.status_code == 403 and "send the X-CSRF-Token header" in missing.json()["message"], path
        wrong = await client.post(path, headers={"X-CSRF-Token": "0" * 40})
        assert wrong.status_code == 403 and "does not match" in wrong.json()["message"], path
    # A page that lost its token gets a new one (and its cookie) and carries on.
    fresh = (await client.get(CSRF)).json()["csrf_token"]
    assert fresh != signed_in["csrf_token"]
    stale = await client.post(REFRESH, headers=csrf(signed_in))
    assert stale.status_code == 403, "the old token no longer matches the new cookie"
    assert (await client.post(REFRESH, headers={"X-CSRF-Token": fresh})).status_code == 200
    # Without the CSRF cookie (another site's form cannot send it), the header alone is refused.
    del client.cookies[CSRF_COOKIE]
    no_cookie = await client.post(LOGOUT, headers={"X-CSRF-Token": fresh})
    assert no_cookie.status_code == 403 and "CSRF cookie is missing" in no_cookie.json()["message"]


async def test_refresh_rotates_and_a_reused_token_ends_the_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await new_user(app)
    signed_in = await sign_in(client, user)
    first_cookie = client.cookies[REFRESH_COOKIE]
    refreshed = await client.post(REFRESH, headers=csrf(signed_in))
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["access_token"] != signed_in["access_token"] and client.cookies[REFRESH_COOKIE] != first_cookie
    assert (await client.get(ME, headers=bearer(second))).status_code == 200
    # Someone replays the first cookie (stolen): refused, and the session is over for both.
    async with browser(app, "203.0.113.9") as thief:
        thief.cookies.set(REFRESH_COOKIE, first_cookie, domain="shop.example", path="/api/v1/auth")
        token = (await thief.get(CSRF)).json()["csrf_token"]
        replay = await thief.post(REFRESH, headers={"X-CSRF-Token": token})
    assert replay.status_code == 401 and "already used" in replay.json()["message"]
    after = await client.post(REFRESH, headers=csrf(second))
    assert after.status_code == 401 and "was ended" in after.json()["message"]
    actions = [action for _, action, _ in await audit_of(app, user.username)]
    assert actions[-3:] == ["auth.signin", "auth.refresh", "auth.refresh_reused"]


async def test_logout_ends_the_session_and_clears_the_cookies(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await new_user(app)
    signed_in = await sign_in(client, user)
    cookie = client.cookies[REFRESH_COOKIE]
    out = await client.post(LOGOUT, headers=csrf(signed_in))
    assert out.status_code == 204
    cleared = set_cookies(out)
    assert 'fragrance_refresh=""' in cleared[REFRESH_COOKIE] and "max-age=0" in cleared[REFRESH_COOKIE].lower()
    assert REFRESH_COOKIE not in client.cookies
    token = (await client.get(CSRF)).json()["csrf_token"]
    assert (await client.post(REFRESH, headers={"X-CSRF-Token": token})).json()["message"] == (
        "there is no session cookie: sign in again"
    )
    client.cookies.set(REFRESH_COOKIE, cookie, domain="shop.example", path="/api/v1/auth")
    assert "was ended" in (await client.post(REFRESH, headers={"X-CSRF-Token": token})).json()["message"]
    assert [a for _, a, _ in await audit_of(app, user.username)][-1] == "auth.logout"


# -- rate limits -----------------------------------------------------------------------------
async def test_failed_sign_ins_are_limited_per_username(app: FastAPI) -> None:
    user = await new_user(app)
    async with browser(app, "10.0.1.1") as one, browser(app, "10.0.1.2") as other:
        for attempt in range(3):
            client = one if attempt % 2 else other
            assert (await client.post(LOGIN, json={"username": user.username, "password": "guess"})).status_code == 401
        blocked = await one.post(LOGIN, json={"username": user.username, "password": PASSWORD})
    assert blocked.status_code == 429, "even the right password waits once the username is locked"
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert blocked.json()["message"].startswith("too many failed sign-ins for this username; try again in")
    assert "auth.signin_blocked" in [a for _, a, _ in await audit_of(app, user.username)]


async def test_failed_sign_ins_are_limited_per_address(app: FastAPI) -> None:
    async with browser(app, "10.0.2.1") as client:
        for attempt in range(6):
            guess = await client.post(LOGIN, json={"username": f"guess-{attempt}", "password": "guess"})
            assert guess.status_code == 401
        blocked = await client.post(LOGIN, json={"username": "guess-7", "password": "guess"})
    assert blocked.status_code == 429 and "from this address" in blocked.json()["message"]
    async with browser(app, "10.0.2.2") as elsewhere:
        assert (await sign_in(elsewhere, await new_user(app)))["access_token"], "another address is not blocked"


async def test_staff_requests_are_limited_at_the_staff_rate(app: FastAPI, client: httpx.AsyncClient) -> None:
    signed_in = await sign_in(client, await new_user(app))
    for _ in range(12):
        assert (await client.get(ME, headers=bearer(signed_in))).status_code == 200
    limited = await client.get(ME, headers=bearer(signed_in))
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["message"].startswith("too many requests for this account")
    other = await sign_in(client, await new_user(app))
    assert (await client.get(ME, headers=bearer(other))).status_code == 200, "the limit is per account"


# -- customers ---------------------------------------------------------------------------------
async def test_another_customers_thread_is_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    mine, theirs = await key_headers(app, "chat"), await key_headers(app, "chat")
    answer = await client.post("/api/v1/chat", json={"message": "a fresh citrus perfume please"}, headers=mine)
    assert answer.status_code == 200, answer.text
    thread = answer.json()["thread_id"]
    assert (await client.get(f"/api/v1/threads/{thread}", headers=mine)).status_code == 200
    peek = await client.get(f"/api/v1/threads/{thread}", headers=theirs)
    assert peek.status_code == 404 and "no thread" in peek.json()["message"]
    barge_in = await client.post("/api/v1/chat", json={"message": "hello", "thread_id": thread}, headers=theirs)
    assert barge_in.status_code == 404 and barge_in.json()["message"] == "there is no such thread for this caller"


async def test_the_openapi_document_describes_sign_in(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/auth/me"} <= set(
        spec["paths"]
    )
    login = spec["components"]["schemas"]["LoginRequest"]["properties"]
    assert login["username"]["maxLength"] == 64 and login["password"]["maxLength"] == 256
    refresh = spec["paths"]["/api/v1/auth/refresh"]["post"]
    assert {"X-CSRF-Token", REFRESH_COOKIE} <= {p["name"] for p in refresh["parameters"]}
