"""Who is calling, in which role, and the request checks that go with it.

Three roles: a customer (an API key with the chat scope speaks for the shop's customers),
staff and admin (people who signed in and send their access token as a Bearer token). An API
key with the admin scope acts as an admin on the admin routes. A route states the role it needs
with an Annotated alias (StaffPrincipal, AdminPrincipal); a wrong role is 403 with a sentence.

Rate limits count per caller in the limiter of the memory (Redis in server mode, shared by
every replica): per API key as before, per account at the staff or admin rate.

CSRF: the refresh token travels in a cookie, which a browser attaches on its own, so every
cookie-authenticated request that changes state (refresh, logout) must also carry the CSRF
token in a header (fastapi-csrf-protect's double submit: the header must match the signed
cookie). Requests authenticated by a Bearer header need no CSRF token: no browser adds that
header by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials
from fastapi_csrf_protect import CsrfProtect
from fastapi_csrf_protect.exceptions import CsrfProtectError, InvalidHeaderError, MissingTokenError

from channels.rest.deps import RuntimeDep, _bearer, _header, checked_key
from channels.rest.tokens import TokenIssuer, TokenRejected
from graphs.runtime import Runtime
from memory.records import ApiKey, User

AUTH_PATH = "/api/v1/auth"
"""Where the sign-in cookies are sent, and nowhere else."""
REFRESH_COOKIE = "fragrance_refresh"
CSRF_COOKIE = "fragrance_csrf"
CSRF_HEADER = "X-CSRF-Token"
PrincipalRole = Literal["customer", "staff", "admin"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    role: PrincipalRole
    actor: str
    """As the audit log names it: "user:<username>" or "apikey:<id>"."""
    name: str
    """The username, or the API key's name."""
    user: User | None = None
    key: ApiKey | None = None


# -- tokens ----------------------------------------------------------------------------------
def _issuer(request: Request, runtime: RuntimeDep) -> TokenIssuer:
    """One issuer per app, made at first use (that is when a missing secret file is created)."""
    issuer: TokenIssuer | None = getattr(request.app.state, "tokens", None)
    if issuer is None:
        issuer = TokenIssuer.from_settings(runtime.settings)
        request.app.state.tokens = issuer
    return issuer


IssuerDep = Annotated[TokenIssuer, Depends(_issuer)]


def too_many(retry_after_s: int, message: str) -> HTTPException:
    return HTTPException(
        status_code=429,
        detail=f"{message}; try again in {retry_after_s} s",
        headers={"Retry-After": str(retry_after_s)},
    )


def role_rate(runtime: Runtime, role: PrincipalRole) -> str:
    settings = runtime.settings
    return {
        "customer": settings.api_rate_limit,
        "staff": settings.staff_rate_limit,
        "admin": settings.admin_rate_limit,
    }[role]


# -- the caller ------------------------------------------------------------------------------
async def _principal(
    request: Request,
    runtime: RuntimeDep,
    issuer: IssuerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Principal:
    presented = bearer.credentials if bearer is not None else header
    if not presented:
        raise HTTPException(
            status_code=401,
            detail="sign in (send 'Authorization: Bearer ACCESS_TOKEN' from POST /api/v1/auth/login) or send an "
            "API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if presented.startswith("fai_"):
        key = await checked_key(request, runtime, presented)
        role: PrincipalRole = "admin" if "admin" in key.scopes else "customer"
        return Principal(role=role, actor=f"apikey:{key.id}", name=key.name, key=key)
    try:
        claims = issuer.read_access(presented)
    except TokenRejected as exc:
        raise HTTPException(status_code=401, detail=str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    user = await runtime.memory.repository.get_user(claims.user_id)
    if user is None or user.disabled_at is not None:
        raise HTTPException(status_code=401, detail="this account is disabled: ask an administrator")
    decision = await runtime.memory.limiter.hit(f"user:{user.id}", role_rate(runtime, user.role))
    if not decision.allowed:
        raise too_many(decision.retry_after_s, "too many requests for this account")
    return Principal(role=user.role, actor=f"user:{user.username}", name=user.username, user=user)


PrincipalDep = Annotated[Principal, Depends(_principal)]


async def _staff(principal: PrincipalDep) -> Principal:
    if principal.user is None:
        raise HTTPException(
            status_code=403,
            detail="this is for signed-in staff: sign in with POST /api/v1/auth/login (an API key cannot act as staff)",
        )
    return principal


async def _admin(principal: PrincipalDep) -> Principal:
    if principal.role == "admin":
        return principal
    if principal.key is not None:
        raise HTTPException(status_code=403, detail="this API key lacks the 'admin' scope")
    raise HTTPException(status_code=403, detail=f"this needs an administrator; you are signed in as {principal.role}")


StaffPrincipal = Annotated[Principal, Depends(_staff)]
"""A signed-in staff member or administrator."""
AdminPrincipal = Annotated[Principal, Depends(_admin)]
"""A signed-in administrator, or an API key with the admin scope."""


# -- CSRF ------------------------------------------------------------------------------------
class _Csrf(CsrfProtect):
    """The double-submit cookie: signed, HttpOnly (the token itself comes in a response body),
    Secure, SameSite=Strict, sent only to the sign-in routes."""

    _cookie_key = CSRF_COOKIE
    _cookie_path = AUTH_PATH
    _cookie_samesite = "strict"
    _cookie_secure = True
    _httponly = True
    _header_name = CSRF_HEADER
    _max_age = 90 * 86400  # the longest session allowed; validation uses the configured one


_csrf = _Csrf()


def issue_csrf(issuer: TokenIssuer, response: Response) -> str:
    """A new CSRF token: its signed twin goes in the cookie, the token itself to the caller."""
    token, signed = _csrf.generate_csrf_tokens(issuer.csrf_key)
    _csrf.set_csrf_cookie(signed, response)
    return token


def clear_csrf(response: Response) -> None:
    _csrf.unset_csrf_cookie(response)


async def _check_csrf(request: Request, issuer: IssuerDep) -> None:
    try:
        await _csrf.validate_csrf(
            request, secret_key=issuer.csrf_key, time_limit=int(issuer.refresh_ttl.total_seconds())
        )
    except InvalidHeaderError:
        raise HTTPException(
            status_code=403,
            detail=f"send the {CSRF_HEADER} header with the csrf_token from sign-in or GET {AUTH_PATH}/csrf",
        ) from None
    except MissingTokenError:
        raise HTTPException(
            status_code=403, detail=f"the CSRF cookie is missing: sign in, or call GET {AUTH_PATH}/csrf first"
        ) from None
    except CsrfProtectError:
        raise HTTPException(
            status_code=403,
            detail=f"the CSRF token does not match its cookie or has expired: get a new one from GET {AUTH_PATH}/csrf",
        ) from None


CsrfChecked = Depends(_check_csrf)
"""For cookie-authenticated routes that change state."""
