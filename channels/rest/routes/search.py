"""POST /api/v1/search/semantic."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Response

from channels.rest.deps import EngineDep
from channels.rest.schemas import ErrorOut, SearchRequest, SearchResponseOut

router = APIRouter(tags=["search"])


@router.post(
    "/search/semantic",
    response_model=SearchResponseOut,
    responses={422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
    summary="Hybrid Korean/English perfume search",
)
async def search_semantic(body: SearchRequest, engine: EngineDep) -> Response:
    """Understands the query (notes, exclusions, brand, gender, years, seasons, moods),
    filters the catalog on what was stated, and ranks by meaning, names and preferences."""
    filters = body.filters.model_dump(exclude_defaults=True) if body.filters else None
    response = await engine.search(body.query, body.top_k, body.search_type, filters)
    # The engine's dataclasses already have the documented shape; orjson writes them
    # directly instead of re-validating every result through pydantic (a third of the
    # request's CPU time otherwise).
    return Response(orjson.dumps(response.to_dict()), media_type="application/json")
