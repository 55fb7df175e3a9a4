"""The FastAPI application: resources opened once in the lifespan, one router per resource."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from agents.nlu import NLU
from channels.rest.routes import health, nlu, perfumery, search
from core.errors import FragranceError
from core.settings import Settings, get_settings
from tools.perfumery.composition import Composer
from tools.perfumery.database import perfumery_for
from tools.search.embeddings import embedder_for
from tools.search.engine import SearchEngine
from tools.search.lexicon import default_lexicon

log = logging.getLogger(__name__)


def _describe(error: Any) -> str:
    loc = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{loc}: {error.get('msg')}" if loc else str(error.get("msg"))


def create_app(settings: Settings | None = None, engine: SearchEngine | None = None) -> FastAPI:
    """Build the app; tests pass their own settings or a ready engine."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = engine
        app.state.engine_error = None
        app.state.perfumery = perfumery_for(settings.fragrance_home)
        app.state.composer = Composer(app.state.perfumery, default_lexicon())
        if engine is None:
            try:
                app.state.engine = await asyncio.to_thread(SearchEngine.load, settings)
            except FragranceError as exc:
                app.state.engine_error = str(exc)
                log.warning("search is not ready: %s", exc)
        # The NLU reads perfume names from the catalog, so it is built once the engine is loaded.
        engine_now = app.state.engine
        embedder = engine_now.embedder if engine_now is not None else embedder_for(settings)
        app.state.nlu = await asyncio.to_thread(NLU.build, embedder, engine_now, app.state.perfumery.materials)
        yield
        if app.state.engine is not None:
            await app.state.engine.batcher.close()

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

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"message": str(exc.detail)}, headers=exc.headers)

    app.include_router(health.router)
    app.include_router(search.router, prefix="/api/v1")
    app.include_router(perfumery.router, prefix="/api/v1")
    app.include_router(nlu.router, prefix="/api/v1")
    return app
