"""The FastAPI application: resources opened once in the lifespan, one router per resource."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from channels.rest.routes import admin, auth, chat, handoffs, health, nlu, perfumery, search
from channels.slack import mount as slack
from channels.web.mount import mount_web_chat, open_web_chat
from core.errors import FragranceError
from core.settings import Settings, get_settings
from graphs.inbound import MessageRejected
from graphs.runtime import open_runtime
from graphs.service import NoOpenTicket, UnknownConversation
from memory.locks import ConversationBusy
from memory.repository import ConversationForbidden, StoreUnavailable
from memory.sessions import SessionUnavailable
from tools.search.engine import SearchEngine

log = logging.getLogger(__name__)


def _describe(error: Any) -> str:
    loc = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{loc}: {error.get('msg')}" if loc else str(error.get("msg"))


_STATUS: tuple[tuple[type[FragranceError], int], ...] = (
    (StoreUnavailable, 503),
    (SessionUnavailable, 503),
    (ConversationBusy, 409),
    (NoOpenTicket, 409),
    (ConversationForbidden, 404),
    (UnknownConversation, 404),
    (MessageRejected, 422),
)


def create_app(settings: Settings | None = None, engine: SearchEngine | None = None) -> FastAPI:
    """Build the app; tests pass their own settings or a ready engine."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A server without a catalog still starts: /ready says why, the perfumery still answers.
        async with open_runtime(settings, engine=engine, require_search=False) as runtime:
            app.state.runtime = runtime
            async with slack.open_slack(app, runtime), open_web_chat(app, runtime):
                yield

    # The docs pages' JavaScript and CSS come from the package, not a CDN: a shop's
    # server may have no internet, and /docs must still render.
    app = FastAPIOffline(
        title="Fragrance AI",
        version="0.1.0",
        description="A Korean/English fragrance consultant: catalog search, formula composition and "
        "validation against the IFRA Standards and EU allergen rules.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        message = "; ".join(_describe(e) for e in errors)
        detail = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
        return JSONResponse(status_code=422, content={"message": message, "detail": detail})

    @app.exception_handler(FragranceError)
    async def _fragrance_error(_: Request, exc: FragranceError) -> JSONResponse:
        """Errors with a sentence for the caller, raised below the routes."""
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
        if status >= 500:
            log.warning("answered %s: %s", status, exc)
        # Another customer's thread is answered like a missing one: its existence is not the caller's to know.
        message = "there is no such thread for this caller" if isinstance(exc, ConversationForbidden) else str(exc)
        return JSONResponse(status_code=status, content={"message": message})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"message": str(exc.detail)}, headers=exc.headers)

    app.include_router(health.router)
    app.include_router(search.router, prefix="/api/v1")
    app.include_router(perfumery.router, prefix="/api/v1")
    app.include_router(nlu.router, prefix="/api/v1")
    app.include_router(chat.router, prefix="/api/v1")
    app.include_router(admin.router, prefix="/api/v1")
    app.include_router(auth.router, prefix="/api/v1")
    app.include_router(handoffs.router, prefix="/api/v1")
    if slack.http_enabled(settings):  # POST /slack/events only where the Slack app is configured
        app.include_router(slack.router)
    mount_web_chat(app, settings)  # the customers' web chat at /chat (Chainlit) and the demo page at /demo
    return app
