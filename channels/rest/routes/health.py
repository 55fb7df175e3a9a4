"""Liveness and readiness for load balancers and `make run` users."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from channels.rest.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers.")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: a catalog is loaded, search and the conversation can answer.")
async def ready(runtime: RuntimeDep) -> JSONResponse:
    engine = runtime.engine
    if engine is None:
        return JSONResponse(
            status_code=503, content={"status": "not ready", "message": runtime.engine_error or "loading the catalog"}
        )
    return JSONResponse(
        {"status": "ready", "perfumes": engine.index.size, "mode": "server" if runtime.memory.server else "embedded"}
    )
