"""POST /api/v1/generate/recipe and /api/v1/validate/recipe through httpx's ASGI transport,
with the app's real lifespan (the client is built as in test_rest_api.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from channels.rest.app import create_app
from tests.conftest import StarterIndex
from tests.perfumery_support import FILLER, HANGUL, cat4_limit, ifra_row
from tools.perfumery.composition import STYLES
from tools.perfumery.formula import CONCENTRATIONS
from tools.search.engine import SearchEngine

GENERATE = "/api/v1/generate/recipe"
VALIDATE = "/api/v1/validate/recipe"
REFERENCE_BRIEF = {"fragrance_family": "플로럴", "mood": "로맨틱", "intensity": "보통", "season": "봄"}


@pytest.fixture(scope="session")
async def perfumery_client(starter_index: StarterIndex, engine: SearchEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(starter_index.settings, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def _ok(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def _rejected(client: httpx.AsyncClient, path: str, body: Any) -> str:
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    message = response.json().get("message")
    assert isinstance(message, str) and message.strip()
    return message


def _check_composition(data: dict[str, Any]) -> None:
    assert {"name", "description", "language", "brief", "formula", "ingredients", "validation"} <= set(data)
    formula = data["formula"]
    assert sum(i["pct"] for i in formula["ingredients"]) == pytest.approx(100, abs=0.05)
    assert [i["name"] for i in data["ingredients"]] == [i["name"] for i in formula["ingredients"]]
    assert all(i["why"].strip() for i in data["ingredients"])
    assert {i["layer"] for i in data["ingredients"]} >= {"top", "heart", "base"}
    assert data["validation"]["compliant"] is True
    assert data["validation"]["violations"] == []


# -- generate ---------------------------------------------------------------------------------
async def test_the_reference_brief(perfumery_client: httpx.AsyncClient) -> None:
    data = await _ok(perfumery_client, GENERATE, REFERENCE_BRIEF)
    _check_composition(data)
    assert HANGUL.search(data["name"]) and HANGUL.search(data["description"])
    assert data["language"] == "ko"
    assert data["brief"]["fragrance_family"] == "floral"
    assert data["brief"]["mood"] == "romantic"
    assert data["brief"]["season"] == "spring"
    assert data["formula"]["dilution_pct"] == CONCENTRATIONS["edp"]  # the default concentration
    assert "51st" in data["validation"]["amendment"]


async def test_an_english_brief(perfumery_client: httpx.AsyncClient) -> None:
    body = {
        "fragrance_family": "woody",
        "mood": "calm",
        "intensity": "strong",
        "season": "autumn",
        "concentration": "EDT",
    }
    data = await _ok(perfumery_client, GENERATE, body)
    _check_composition(data)
    assert data["language"] == "en"
    assert not HANGUL.search(data["name"] + data["description"])
    assert data["brief"]["fragrance_family"] == "woody" and data["brief"]["intensity"] == "strong"
    assert data["formula"]["dilution_pct"] == CONCENTRATIONS["edt"]


async def test_liked_and_disliked_notes(perfumery_client: httpx.AsyncClient) -> None:
    body = {"fragrance_family": "woody", "liked_notes": ["vetiver"], "disliked_notes": ["vanilla"]}
    data = await _ok(perfumery_client, GENERATE, body)
    _check_composition(data)
    names = [i["name"] for i in data["ingredients"]]
    assert "Vetiver Oil" in names or "Vetiveryl Acetate" in names
    assert not {"Vanillin", "Ethyl Vanillin", "Vanilla Absolute"} & set(names)


async def test_the_same_brief_gives_the_same_recipe(perfumery_client: httpx.AsyncClient) -> None:
    first = await _ok(perfumery_client, GENERATE, REFERENCE_BRIEF)
    second = await _ok(perfumery_client, GENERATE, REFERENCE_BRIEF)
    assert first == second


async def test_inspiration_from_a_starter_perfume(
    perfumery_client: httpx.AsyncClient, starter_rows: dict[str, dict[str, str]]
) -> None:
    row = starter_rows["ST0001"]
    data = await _ok(perfumery_client, GENERATE, {**REFERENCE_BRIEF, "inspiration_id": "ST0001"})
    _check_composition(data)
    assert data["brief"]["inspiration"] == f"{row['brand']} {row['perfume']}"


async def test_an_unknown_inspiration_is_422(perfumery_client: httpx.AsyncClient) -> None:
    message = await _rejected(perfumery_client, GENERATE, {**REFERENCE_BRIEF, "inspiration_id": "NOPE9999"})
    assert "NOPE9999" in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"fragrance_family": "nonsense"}, ["nonsense", *STYLES]),
        ({"fragrance_family": "floral", "intensity": "extreme"}, ["extreme", "light", "moderate", "strong"]),
        ({"fragrance_family": "floral", "mood": "grumpy"}, ["grumpy", "romantic"]),
        ({"fragrance_family": "floral", "season": "monsoon"}, ["monsoon", "spring", "winter"]),
        ({"fragrance_family": "floral", "concentration": "eau de vie"}, ["eau de vie"]),
        ({"fragrance_family": "floral", "colour": "red"}, ["colour"]),
        ({"fragrance_family": "floral", "seed": -1}, ["seed"]),
        ({"fragrance_family": "floral", "language": "fr"}, ["language"]),
    ],
)
async def test_a_bad_brief_is_422_with_a_message(
    perfumery_client: httpx.AsyncClient, body: dict[str, Any], words: list[str]
) -> None:
    message = await _rejected(perfumery_client, GENERATE, body)
    for word in words:
        assert word in message, (word, message)


# -- validate ---------------------------------------------------------------------------------
REPORT_KEYS = {
    "verdict", "compliant", "judgeable", "cannot_judge", "amendment", "violations", "allergens_to_declare",
    "warnings", "corrected", "correction_note", "assumed", "notes", "substitutes",
}  # fmt: skip


async def test_a_compliant_formula(perfumery_client: httpx.AsyncClient) -> None:
    body = {
        "concentration": "EDP",
        "ingredients": [
            {"name": "Bergamot Oil FCF", "pct": 20},
            {"name": "Hedione", "pct": 40},
            {"name": "Iso E Super", "pct": 20},
            {"name": "coumarin", "pct": 5},
            {"name": "Galaxolide", "pct": 15},
        ],
    }
    data = await _ok(perfumery_client, VALIDATE, body)
    assert set(data) >= REPORT_KEYS
    assert data["compliant"] is True
    assert "51st" in data["amendment"]
    assert data["violations"] == [] and data["corrected"] is None
    assert data["dilution_pct"] == CONCENTRATIONS["edp"]
    coumarin = next(a for a in data["allergens_to_declare"] if a["cas"] == "91-64-5")
    assert coumarin["finished_pct"] == pytest.approx(5 * CONCENTRATIONS["edp"] / 100)
    for line in data["allergens_to_declare"]:
        assert {"name", "cas", "finished_pct"} <= set(line)
    assert isinstance(data["warnings"], list)


async def test_a_non_compliant_formula_reports_and_corrects(perfumery_client: httpx.AsyncClient) -> None:
    limit = cat4_limit(ifra_row("IFRA_STD_023"))
    assert limit is not None
    body = {
        "dilution_pct": 20,
        "ingredients": [
            {"name": "Coumarin", "cas": "91-64-5", "pct": 10},
            {"name": "Unobtainium Accord 7", "pct": 5},
            {"name": "Hedione", "pct": 45},
            {"name": FILLER, "pct": 40},
        ],
    }
    data = await _ok(perfumery_client, VALIDATE, body)
    assert set(data) >= REPORT_KEYS
    assert data["compliant"] is False
    for violation in data["violations"]:
        assert {"cas", "name", "kind", "limit_pct", "actual_pct"} <= set(violation)
    by_kind = {v["kind"]: v for v in data["violations"]}
    assert by_kind["ifra_limit"]["cas"] == "91-64-5"
    assert by_kind["ifra_limit"]["limit_pct"] == pytest.approx(limit)
    assert by_kind["ifra_limit"]["actual_pct"] == pytest.approx(10 * 20 / 100)
    assert by_kind["unknown_material"]["name"] == "Unobtainium Accord 7"
    corrected = data["corrected"]
    assert corrected is not None
    assert sum(i["pct"] for i in corrected["ingredients"]) == pytest.approx(100, abs=0.01)
    assert "Unobtainium Accord 7" not in {i["name"] for i in corrected["ingredients"]}
    again = await _ok(perfumery_client, VALIDATE, corrected)
    assert again["compliant"] is True


GOOD = [{"name": "Hedione", "pct": 60}, {"name": "Galaxolide", "pct": 40}]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"dilution_pct": 20, "ingredients": [{"name": "Hedione", "pct": -5}]}, ["pct"]),
        ({"dilution_pct": 20, "ingredients": [{"name": "Hedione", "pct": "lots"}]}, ["pct"]),
        ({"dilution_pct": 20, "ingredients": [{"name": "Hedione", "pct": 150}]}, ["pct"]),
        ({"dilution_pct": 20, "ingredients": [{"name": "Hedione"}]}, ["pct"]),
        ({"dilution_pct": 20, "ingredients": []}, ["ingredients"]),
        ({"dilution_pct": 20}, ["ingredients"]),
        ({"concentration": "eau de vie", "ingredients": GOOD}, ["unknown concentration", "eau de vie"]),
        ({"dilution_pct": 20, "ifra_category": "13", "ingredients": GOOD}, ["IFRA category", "13"]),
        ({"dilution_pct": 20, "ingredients": [{"name": "Hedione", "cas": "31906-04-4", "pct": 100}]}, ["Lyral"]),
        ({"dilution_pct": 0, "ingredients": GOOD}, ["dilution_pct"]),
        ({"dilution_pct": 20, "ingredients": GOOD, "fragrance": "rose"}, ["fragrance"]),
        ({"dilution_pct": 20, "ingredients": [{"name": "Hedione", "pct": 5, "grams": 2}]}, ["grams"]),
        ({"dilution_pct": 20, "ingredients": [{"pct": 5}]}, ["neither a name nor a CAS"]),
    ],
)
async def test_a_bad_formula_is_422_with_a_message(
    perfumery_client: httpx.AsyncClient, body: dict[str, Any], words: list[str]
) -> None:
    message = await _rejected(perfumery_client, VALIDATE, body)
    for word in words:
        assert word.lower() in message.lower(), (word, message)


async def test_a_body_that_is_not_json_is_422(perfumery_client: httpx.AsyncClient) -> None:
    response = await perfumery_client.post(VALIDATE, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert isinstance(response.json()["message"], str)


async def test_openapi_lists_both_paths(perfumery_client: httpx.AsyncClient) -> None:
    paths = (await perfumery_client.get("/openapi.json")).json()["paths"]
    assert "post" in paths[GENERATE] and "post" in paths[VALIDATE]


async def test_no_concentration_is_judged_as_edp_and_says_so(perfumery_client: httpx.AsyncClient) -> None:
    data = await _ok(perfumery_client, VALIDATE, {"ingredients": GOOD})
    assert data["dilution_pct"] == CONCENTRATIONS["edp"]
    assert data["assumed"] and "EDP" in data["assumed"][0]
    schema = (await perfumery_client.get("/openapi.json")).json()["components"]["schemas"]["FormulaIn"]
    assert "EDP" in schema["properties"]["concentration"]["description"]
    assert "EDP" in schema["properties"]["dilution_pct"]["description"]
    assert "concentration" not in schema.get("required", [])


async def test_a_name_that_contradicts_its_cas_is_422(perfumery_client: httpx.AsyncClient) -> None:
    body = {"concentration": "EDP", "ingredients": [{"name": "Hedione", "cas": "31906-04-4", "pct": 100}]}
    message = await _rejected(perfumery_client, VALIDATE, body)
    assert "Hedione" in message and "31906-04-4 is Lyral" in message


@pytest.mark.parametrize(
    "ingredients",
    [[{"name": "Hedione", "pct": 0}], [{"name": "Hedione", "pct": 100}, {"name": "Galaxolide", "pct": 100}]],
    ids=["0 %", "200 %"],
)
async def test_a_concentrate_that_does_not_add_up_cannot_be_judged(
    perfumery_client: httpx.AsyncClient, ingredients: list[dict[str, Any]]
) -> None:
    body = {"concentration": "EDP", "ingredients": ingredients}
    data = await _ok(perfumery_client, VALIDATE, body)
    assert data["verdict"] == "cannot_judge"
    assert data["compliant"] is False and data["judgeable"] is False
    assert "100" in data["cannot_judge"]


async def test_a_prohibited_material_comes_with_substitutes(perfumery_client: httpx.AsyncClient) -> None:
    body = {"concentration": "EDP", "ingredients": [{"name": "Lilial", "pct": 5}, {"name": FILLER, "pct": 95}]}
    data = await _ok(perfumery_client, VALIDATE, body)
    assert data["verdict"] == "not_compliant"
    assert data["substitutes"]["Lilial"] and all(s["role"] for s in data["substitutes"]["Lilial"])
