"""Request dependencies: the resources the lifespan opened, as typed aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from tools.search.engine import SearchEngine


def _engine(request: Request) -> SearchEngine:
    engine: SearchEngine | None = request.app.state.engine
    if engine is None:
        raise HTTPException(status_code=503, detail=request.app.state.engine_error or "search is starting")
    return engine


EngineDep = Annotated[SearchEngine, Depends(_engine)]
