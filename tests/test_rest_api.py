"""The REST API through httpx's ASGI transport, with the app's real lifespan."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.rest.app import create_app
from core.settings import Settings
from tests.conftest import StarterIndex
from tools.search.engine import SearchEngine

SEARCH = "/api/v1/search/semantic"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
RESULT_FIELDS = {
    "id",
    "brand",
    "name",
    "year",
    "gender",
    "accords",
    "notes",
    "longevity",
    "sillage",
    "score",
    "reason",
    "price",
    "currency",
    "size_ml",
    "stock",
    "sample_data",
    "misses",
}


@pytest.fixture(scope="session")
async def client(starter_index: StarterIndex, engine: SearchEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(starter_index.settings, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def search(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    return response.json()


# -- health -------------------------------------------------------------------------------
async def test_docs_render_without_a_cdn(client: httpx.AsyncClient) -> None:
    # A shop's server may have no internet: the docs page must load its script from this app.
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr" not in page.text and "unpkg" not in page.text
    script = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', page.text)
    assert script is not None, page.text[:500]
    bundle = await client.get(script.group(1))
    assert bundle.status_code == 200 and len(bundle.content) > 100_000


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_reports_the_catalog_size(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "perfumes": 318, "mode": "embedded"}


async def test_openapi_lists_the_search_path(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "post" in paths[SEARCH]
    assert "/health" in paths and "/ready" in paths


# -- search -------------------------------------------------------------------------------
async def test_search_returns_the_contract(client: httpx.AsyncClient) -> None:
    data = await search(client, {"query": "rose perfume", "top_k": 5})
    assert {"results", "parsed", "took_ms", "search_type", "relaxed"} <= set(data)
    assert data["search_type"] == "hybrid"
    assert isinstance(data["took_ms"], float) and data["took_ms"] >= 0
    assert data["parsed"]["notes"] == ["Rose"]
    assert data["parsed"]["language"] == "en"
    assert len(data["results"]) == 5
    for r in data["results"]:
        assert set(r) == RESULT_FIELDS
        assert isinstance(r["id"], str)
        assert isinstance(r["score"], float)
        assert "Rose" in r["notes"]
        assert "rose" in r["reason"]
        assert r["misses"] == []


async def test_korean_query(client: httpx.AsyncClient, engine: SearchEngine) -> None:
    data = await search(client, {"query": "바닐라 없는 우디 향수", "top_k": 8})
    assert data["parsed"]["language"] == "ko"
    assert data["parsed"]["exclude_notes"] == ["Vanilla"]
    assert len(data["results"]) == 8
    for r in data["results"]:
        assert "Vanilla" not in r["notes"]
        assert "woody" in r["accords"]
        assert HANGUL.search(r["reason"])
        assert engine.get(r["id"]) is not None


async def test_similarity_search_type(client: httpx.AsyncClient) -> None:
    data = await search(client, {"query": "fresh aquatic summer scent", "top_k": 4, "search_type": "similarity"})
    assert data["search_type"] == "similarity"
    scores = [r["score"] for r in data["results"]]
    assert len(scores) == 4
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("query", "filters", "top_k", "holds"),
    [
        ("fresh perfume", {"notes": ["bergamot"]}, 10, lambda r: "Bergamot" in r["notes"]),
        ("sweet gourmand", {"exclude_notes": ["vanille"]}, 10, lambda r: "Vanilla" not in r["notes"]),
        ("sweet gourmand", {"exclude_accords": ["Vanilla"]}, 10, lambda r: "vanilla" not in r["accords"]),
        ("woody", {"accords": ["Leather"]}, 10, lambda r: "leather" in r["accords"]),
        ("floral perfume", {"gender": "men"}, 10, lambda r: r["gender"] in ("men", "unisex")),
        ("citrus", {"year_min": 2015}, 10, lambda r: r["year"] >= 2015),
        ("citrus", {"year_min": 1990, "year_max": 1999}, 10, lambda r: 1990 <= r["year"] <= 1999),
        ("perfume", {"brand": "chanel"}, 5, lambda r: r["brand"] == "Chanel"),
        ("amber", {"in_stock": True}, 30, lambda r: r["stock"] > 0),
        ("amber", {"price_max": 150000}, 10, lambda r: r["price"] <= 150000),
        ("perfume", {"longevity_min": "eternal"}, 5, lambda r: r["longevity"] == "eternal"),
        ("citrus", {"sillage_max": "moderate"}, 10, lambda r: r["sillage"] in ("intimate", "moderate")),
        (
            "rose",
            {"gender": "women", "in_stock": True, "price_max": 250000, "year_min": 2000},
            10,
            lambda r: (
                r["gender"] in ("women", "unisex") and r["stock"] > 0 and r["price"] <= 250000 and r["year"] >= 2000
            ),
        ),
    ],
)
async def test_filters_hold_in_every_result(
    client: httpx.AsyncClient, query: str, filters: dict[str, Any], top_k: int, holds: Any
) -> None:
    data = await search(client, {"query": query, "top_k": top_k, "filters": filters})
    assert len(data["results"]) == top_k
    for r in data["results"]:
        assert holds(r), (filters, r["brand"], r["name"])
        assert r["misses"] == []


async def test_filter_holds_even_when_few_perfumes_meet_it(client: httpx.AsyncClient, engine: SearchEngine) -> None:
    # SearchFilters: "Explicit filters; they join what the query text says and always hold."
    chanel = sum(1 for p in engine.index.perfumes if p.brand == "Chanel")
    assert chanel < 10
    data = await search(client, {"query": "perfume", "top_k": 10, "filters": {"brand": "Chanel"}})
    assert [r["brand"] for r in data["results"]] == ["Chanel"] * len(data["results"])


async def test_accords_filter_is_never_dropped_silently(client: httpx.AsyncClient, engine: SearchEngine) -> None:
    # SearchFilters.accords: "Every accord must be a main accord." An explicit filter is
    # strict: fewer results rather than results without the accord.
    leather = sum(1 for p in engine.index.perfumes if "leather" in p.accords)
    assert 10 <= leather < 40
    data = await search(client, {"query": "woody", "top_k": 40, "filters": {"accords": ["leather"]}})
    assert len(data["results"]) == leather
    for r in data["results"]:
        assert "leather" in r["accords"], (r["brand"], r["name"], r["accords"])


@pytest.mark.parametrize("spelling", ["Dolce&Gabbana", "DOLCE&GABBANA", "Dolce & Gabbana", "dolce gabbana"])
async def test_brand_filter_accepts_the_usual_spellings(client: httpx.AsyncClient, spelling: str) -> None:
    # text.compact: "Dolce&Gabbana", "Dolce Gabbana" and "dolce & gabbana" agree;
    # the query parser finds the brand under each of them.
    data = await search(client, {"query": "perfume", "top_k": 3, "filters": {"brand": spelling}})
    assert [(r["brand"], r["misses"]) for r in data["results"]] == [("Dolce&Gabbana", [])] * 3


async def test_out_of_stock_filter_excludes_zero_stock(client: httpx.AsyncClient, engine: SearchEngine) -> None:
    sold_out = {p.id for p in engine.index.perfumes if p.stock == 0}
    assert sold_out
    data = await search(client, {"query": "perfume", "top_k": 100, "filters": {"in_stock": True}})
    assert not sold_out & {r["id"] for r in data["results"]}


# -- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "   \t "}, "query"),
        ({"query": "x" * 2001}, "query"),
        ({"query": "rose", "top_k": 0}, "top_k"),
        ({"query": "rose", "top_k": 101}, "top_k"),
        ({"query": "rose", "filters": {"colour": "red"}}, "colour"),
        ({"query": "rose", "limit": 5}, "limit"),
        ({"query": "rose", "search_type": "bm25"}, "search_type"),
        ({"query": "rose", "filters": {"year_min": 2015, "year_max": 2010}}, "year_min"),
        ({"top_k": 5}, "query"),
    ],
)
async def test_invalid_requests_get_422_with_a_message(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.post(SEARCH, json=body)
    assert response.status_code == 422
    payload = response.json()
    assert isinstance(payload["message"], str)
    assert field in payload["message"]


async def test_query_of_exactly_2000_chars_is_accepted(client: httpx.AsyncClient) -> None:
    data = await search(client, {"query": ("rose " * 400)[:2000], "top_k": 1})
    assert len(data["results"]) == 1


async def test_body_that_is_not_json_gets_422(client: httpx.AsyncClient) -> None:
    response = await client.post(SEARCH, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "message" in response.json()


# -- no index yet -------------------------------------------------------------------------
@pytest.fixture
async def empty_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(fragrance_home=tmp_path / "empty_home"))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_ready_is_503_with_a_message_without_an_index(empty_client: httpx.AsyncClient) -> None:
    response = await empty_client.get("/ready")
    assert response.status_code == 503
    payload = response.json()
    assert payload["status"] == "not ready"
    assert "ingest" in payload["message"]
    assert (await empty_client.get("/health")).status_code == 200


async def test_search_is_503_without_an_index(empty_client: httpx.AsyncClient) -> None:
    response = await empty_client.post(SEARCH, json={"query": "rose"})
    assert response.status_code == 503
    assert "ingest" in response.text


async def test_search_503_body_has_the_documented_message(empty_client: httpx.AsyncClient) -> None:
    # The route documents 503 as ErrorOut: {"message": str, "detail": ...}.
    response = await empty_client.post(SEARCH, json={"query": "rose"})
    assert response.status_code == 503
    payload = response.json()
    assert isinstance(payload.get("message"), str)
    assert "ingest" in payload["message"]
