"""Sign-in for staff and administrators: a 15-minute access token in the answer, a refresh token in
an HttpOnly, Secure, SameSite=Strict cookie sent only to /api/v1/auth, and a CSRF token for the
cookie's own requests (refresh, logout). Every sign-in, failed sign-in, refresh and sign-out is
audited (who, from which address; never a password)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Cookie, Header, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from channels.rest.deps import RuntimeDep
from channels.rest.schemas import ErrorOut
from channels.rest.security import (
    AUTH_PATH,
    CSRF_HEADER,
    REFRESH_COOKIE,
    CsrfChecked,
    IssuerDep,
    PrincipalDep,
    PrincipalRole,
    clear_csrf,
    issue_csrf,
    too_many,
)
from channels.rest.tokens import TokenIssuer, TokenRejected
from graphs.runtime import Runtime
from memory import accounts
from memory.records import RefreshToken, User

router = APIRouter(prefix="/auth", tags=["auth"])

RefreshCookie = Annotated[
    str | None, Cookie(alias=REFRESH_COOKIE, max_length=4096, description="Set by sign-in; HttpOnly.")
]
CsrfToken = Annotated[
    str | None,
    Header(alias=CSRF_HEADER, max_length=200, description="The csrf_token from sign-in, refresh or GET /auth/csrf."),
]


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"username": "mina.kim", "password": "a long passphrase"}]}
    )

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD)


class UserOut(BaseModel):
    id: str
    username: str
    role: Literal["staff", "admin"]


class SignedIn(BaseModel):
    access_token: str = Field(description="Send it as 'Authorization: Bearer ...'.")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid (900 by default).")
    csrf_token: str = Field(description=f"Send it as {CSRF_HEADER} on POST /auth/refresh and /auth/logout.")
    user: UserOut


class CsrfOut(BaseModel):
    csrf_token: str


class MeOut(BaseModel):
    kind: Literal["user", "api_key"]
    id: str
    name: str
    role: PrincipalRole
    scopes: list[str] = Field(default_factory=list, description="An API key's scopes.")


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Wrong username or password; a missing, expired or reused session."},
    403: {"model": ErrorOut, "description": "A disabled account, or a missing or wrong CSRF token."},
    422: {"model": ErrorOut, "description": "The request does not validate."},
    429: {"model": ErrorOut, "description": "Too many failed sign-ins for the username or address; see Retry-After."},
    503: {"model": ErrorOut, "description": "A store is unreachable."},
}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signed_in(user: User, session: RefreshToken, issuer: TokenIssuer, response: Response) -> SignedIn:
    """The answer of a sign-in or refresh: access token in the body, session and CSRF cookies."""
    token, _ = issuer.access(user)
    response.set_cookie(
        REFRESH_COOKIE,
        issuer.refresh(session),
        max_age=int((session.expires_at - datetime.now(UTC)).total_seconds()),
        path=AUTH_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return SignedIn(
        access_token=token,
        expires_in=int(issuer.access_ttl.total_seconds()),
        csrf_token=issue_csrf(issuer, response),
        user=UserOut(id=user.id, username=user.username, role=user.role),
    )


def _clear_cookies(response: Response) -> None:
    response.delete_cookie(REFRESH_COOKIE, path=AUTH_PATH, secure=True, httponly=True, samesite="strict")
    clear_csrf(response)


async def _refuse_if_blocked(runtime: Runtime, username: str, client: str) -> None:
    """429 while the username or the address has used up its failed sign-ins."""
    limiter, settings = runtime.memory.limiter, runtime.settings
    for key, rate, what in (
        (f"signin:user:{username}", settings.signin_failures_per_user, "for this username"),
        (f"signin:address:{client}", settings.signin_failures_per_address, "from this address"),
    ):
        decision = await limiter.peek(key, rate)
        if not decision.allowed:
            await runtime.memory.repository.audit(
                f"client:{client}", "auth.signin_blocked", username, {"client": client, "limit": what}
            )
            raise too_many(decision.retry_after_s, f"too many failed sign-ins {what}")


@router.post("/login", response_model=SignedIn, responses=ERRORS, summary="Sign in (staff, admin)")
async def login(
    body: LoginRequest, request: Request, response: Response, runtime: RuntimeDep, issuer: IssuerDep
) -> SignedIn:
    """Check the password; answer a 15-minute access token and the CSRF token, and set the
    session cookie. Failed sign-ins are limited per username and per client address."""
    username, client = body.username.lower(), _client(request)
    repository = runtime.memory.repository
    await _refuse_if_blocked(runtime, username, client)
    try:
        user = await accounts.sign_in(repository, username, body.password)
    except accounts.SignInRefused as exc:
        settings = runtime.settings
        await runtime.memory.limiter.hit(f"signin:user:{username}", settings.signin_failures_per_user)
        await runtime.memory.limiter.hit(f"signin:address:{client}", settings.signin_failures_per_address)
        await repository.audit(
            f"client:{client}", "auth.signin_failed", username, {"client": client, "reason": exc.reason}
        )
        raise HTTPException(status_code=403 if exc.reason == "disabled" else 401, detail=str(exc)) from None
    session = await accounts.start_session(repository, user, issuer.refresh_ttl)
    await repository.audit(f"user:{user.username}", "auth.signin", user.username, {"client": client})
    return _signed_in(user, session, issuer, response)


@router.post(
    "/refresh",
    response_model=SignedIn,
    responses=ERRORS,
    dependencies=[CsrfChecked],
    summary="A new access token from the session cookie",
)
async def refresh(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    issuer: IssuerDep,
    session_cookie: RefreshCookie = None,
    csrf_token: CsrfToken = None,
) -> SignedIn:
    """Exchanges the session cookie for a new one (rotation) and a new access token. A session
    cookie that was already exchanged once is a stolen copy: the session ends for both holders."""
    if not session_cookie:
        raise HTTPException(status_code=401, detail="there is no session cookie: sign in again")
    repository, client = runtime.memory.repository, _client(request)
    try:
        claims = issuer.read_refresh(session_cookie)
    except TokenRejected as exc:
        raise HTTPException(status_code=401, detail=str(exc)) from None
    try:
        session = await accounts.rotate_session(repository, claims.jti, issuer.refresh_ttl)
    except accounts.SessionRefused as exc:
        if exc.reason in ("reused", "disabled"):
            user = await repository.get_user(claims.user_id)
            name = user.username if user else None
            await repository.audit(f"user:{name}", f"auth.refresh_{exc.reason}", name, {"client": client})
        raise HTTPException(status_code=401, detail=str(exc)) from None
    await repository.audit(f"user:{session.user.username}", "auth.refresh", session.user.username, {"client": client})
    return _signed_in(session.user, session.token, issuer, response)


@router.post(
    "/logout", status_code=204, responses=ERRORS, dependencies=[CsrfChecked], summary="Sign out (ends the session)"
)
async def logout(
    request: Request,
    runtime: RuntimeDep,
    issuer: IssuerDep,
    session_cookie: RefreshCookie = None,
    csrf_token: CsrfToken = None,
) -> Response:
    """Ends the session the cookie names and clears the cookies. Access tokens already issued
    stay valid until they expire (at most 15 minutes)."""
    response = Response(status_code=204)
    _clear_cookies(response)
    if session_cookie:
        try:
            claims = issuer.read_refresh(session_cookie, allow_expired=True)
        except TokenRejected:
            return response
        token = await accounts.end_session(runtime.memory.repository, claims.jti)
        user = await runtime.memory.repository.get_user(claims.user_id) if token else None
        if user is not None:
            await runtime.memory.repository.audit(
                f"user:{user.username}", "auth.logout", user.username, {"client": _client(request)}
            )
    return response


@router.get("/csrf", response_model=CsrfOut, summary="A CSRF token (after a page reload)")
async def csrf(response: Response, issuer: IssuerDep) -> CsrfOut:
    """A fresh CSRF token and its cookie, for a page that lost the one sign-in gave it."""
    response.headers["Cache-Control"] = "no-store"
    return CsrfOut(csrf_token=issue_csrf(issuer, response))


@router.get("/me", response_model=MeOut, responses=ERRORS, summary="Who the caller is")
async def me(principal: PrincipalDep) -> MeOut:
    """The signed-in account, or the API key, and its role."""
    if principal.user is not None:
        return MeOut(kind="user", id=principal.user.id, name=principal.name, role=principal.role)
    assert principal.key is not None
    return MeOut(
        kind="api_key", id=principal.key.id, name=principal.name, role=principal.role, scopes=list(principal.key.scopes)
    )
