"""Every request field of every endpoint is bounded: an oversized string or list anywhere is a 422
with a sentence, answered at once, before any work (twenty 100,000-character notes once held
/health for 37 s)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from channels.rest.app import create_app
from tests.conftest import StarterIndex
from tools.search.engine import SearchEngine

HUGE = "x" * 100_000


@pytest.fixture(scope="module")
async def client(
    starter_index: StarterIndex, engine: SearchEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    settings = starter_index.settings.model_copy(
        update={"database_url": None, "redis_url": None, "memory_dir": tmp_path_factory.mktemp("bounds_memory")}
    )
    app = create_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/generate/recipe", {"liked_notes": [HUGE] * 20}, "liked_notes"),
        ("/api/v1/generate/recipe", {"disliked_notes": ["rose"] * 21}, "disliked_notes"),
        ("/api/v1/generate/recipe", {"inspiration_id": HUGE}, "inspiration_id"),
        ("/api/v1/generate/recipe", {"mood": HUGE}, "mood"),
        ("/api/v1/validate/recipe", {"ingredients": [{"name": HUGE, "pct": 1}]}, "name"),
        ("/api/v1/validate/recipe", {"ingredients": [{"name": "Hedione", "pct": 0.5}] * 201}, "ingredients"),
        ("/api/v1/search/semantic", {"query": HUGE}, "query"),
        ("/api/v1/search/semantic", {"query": "rose", "filters": {"notes": [HUGE]}}, "notes"),
        ("/api/v1/search/semantic", {"query": "rose", "filters": {"exclude_accords": ["a"] * 21}}, "exclude_accords"),
        ("/api/v1/nlu/parse", {"text": HUGE}, "text"),
    ],
    ids=[
        "recipe_notes_long",
        "recipe_notes_many",
        "recipe_inspiration",
        "recipe_mood",
        "validate_name",
        "validate_lines",
        "search_query",
        "search_note",
        "search_accords_many",
        "nlu_text",
    ],
)
async def test_an_oversized_field_is_422_naming_it(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text[:300]
    assert field in response.json()["message"], response.json()["message"][:300]
