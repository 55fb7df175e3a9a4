"""Liveness and readiness for load balancers and `make run` users."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers.")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: a catalog is loaded and search can answer.")
async def ready(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    if engine is None:
        return JSONResponse(
            status_code=503,
            content={"status": "not ready", "message": request.app.state.engine_error or "loading the catalog"},
        )
    return JSONResponse({"status": "ready", "perfumes": engine.index.size})
