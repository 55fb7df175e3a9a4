"""Request dependencies: the resources the lifespan opened, and the calling API key, as typed aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from graphs.runtime import Runtime
from graphs.service import TurnService
from memory.apikeys import KeyRejected, authenticate
from memory.records import ApiKey
from tools.search.engine import SearchEngine

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `fragrance-ai apikey create`, or a staff member's access token from "
    "POST /api/v1/auth/login.",
)
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key, for clients without Bearer.")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def _engine(runtime: RuntimeDep) -> SearchEngine:
    if runtime.engine is None:
        raise HTTPException(status_code=503, detail=runtime.engine_error or "search is starting")
    return runtime.engine


EngineDep = Annotated[SearchEngine, Depends(_engine)]


def _service(runtime: RuntimeDep) -> TurnService:
    if runtime.service is None:
        raise HTTPException(status_code=503, detail=runtime.engine_error or "the catalog is still loading")
    return runtime.service


ServiceDep = Annotated[TurnService, Depends(_service)]


async def _api_key(
    request: Request,
    runtime: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> ApiKey:
    """The caller's key: checked, rate-limited per key (429 with Retry-After) and audited."""
    presented = bearer.credentials if bearer is not None else header
    if not presented:
        raise HTTPException(
            status_code=401,
            detail="send an API key as 'Authorization: Bearer KEY' (create one with `fragrance-ai apikey create`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return await checked_key(request, runtime, presented)


async def checked_key(request: Request, runtime: Runtime, presented: str) -> ApiKey:
    """The presented API key, checked, rate-limited per key and its use audited (401, 429)."""
    memory = runtime.memory
    try:
        key = await authenticate(memory.repository, presented)
    except KeyRejected as exc:
        raise HTTPException(status_code=401, detail=str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    decision = await memory.limiter.hit(f"apikey:{key.id}", key.rate_limit or runtime.settings.api_rate_limit)
    if not decision.allowed:
        raise HTTPException(
            status_code=429,
            detail=f"too many requests for this API key; try again in {decision.retry_after_s} s",
            headers={"Retry-After": str(decision.retry_after_s)},
        )
    await memory.repository.touch_api_key(key.id)
    await memory.repository.audit(f"apikey:{key.id}", "apikey.use", f"{request.method} {request.url.path}")
    return key


ApiKeyDep = Annotated[ApiKey, Depends(_api_key)]


def _scoped(scope: str) -> object:
    async def check(key: ApiKeyDep) -> ApiKey:
        if scope not in key.scopes:
            raise HTTPException(status_code=403, detail=f"this API key lacks the {scope!r} scope")
        return key

    return Depends(check)


ChatKey = Annotated[ApiKey, _scoped("chat")]
