"""POST /api/v1/generate/recipe and POST /api/v1/validate/recipe."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from channels.rest.deps import RuntimeDep
from tools.perfumery.composition import Brief
from tools.perfumery.formula import Formula, FormulaError

router = APIRouter(tags=["perfumery"])
Note = Annotated[str, StringConstraints(min_length=1, max_length=60)]


class RecipeBrief(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"fragrance_family": "플로럴", "mood": "로맨틱", "intensity": "보통", "season": "봄"},
                {"fragrance_family": "woody", "liked_notes": ["rose", "oud"], "disliked_notes": ["vanilla"]},
            ]
        },
    )

    fragrance_family: str = Field(default="floral", max_length=50, description="floral, woody, citrus, 플로럴 ...")
    mood: str | None = Field(default=None, max_length=50, description="romantic, fresh, 로맨틱 ...")
    intensity: str = Field(default="moderate", max_length=50, description="light, moderate, strong, 보통 ...")
    season: str | None = Field(default=None, max_length=50, description="spring, summer, 봄 ...")
    liked_notes: list[Note] = Field(default_factory=list, max_length=20)
    disliked_notes: list[Note] = Field(default_factory=list, max_length=20)
    concentration: str = Field(default="EDP", max_length=30, description="parfum, extrait, EDP, EDT or EDC")
    inspiration_id: str | None = Field(
        default=None, max_length=64, description="A catalog perfume to borrow notes from."
    )
    language: Literal["ko", "en"] | None = Field(default=None, description="Default: the brief's own language.")
    seed: int = Field(default=0, ge=0, le=1_000_000, description="0: the canonical formula; others: variants.")


class IngredientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    cas: str | None = Field(default=None, max_length=100)
    pct: float = Field(ge=0, le=100, description="% of the fragrance concentrate")


class FormulaIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "concentration": "EDP",
                    "ifra_category": "4",
                    "ingredients": [
                        {"name": "Bergamot Oil", "pct": 10},
                        {"name": "Hedione", "pct": 40},
                        {"name": "Iso E Super", "pct": 30},
                        {"name": "coumarin", "pct": 5},
                        {"name": "Galaxolide", "pct": 15},
                    ],
                }
            ]
        },
    )

    ingredients: list[IngredientIn] = Field(
        min_length=1,
        max_length=200,
        description="% of the concentrate per line; the lines must add up to 100 (+/- 0.5), else the report "
        "says it cannot judge (verdict cannot_judge). Lines of one material are merged. A name and a CAS "
        "number that name different materials are refused (422).",
    )
    dilution_pct: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="% of concentrate in the product. Optional: without it and without concentration the "
        "formula is judged as EDP (18 %), and the report's `assumed` says so.",
    )
    concentration: str | None = Field(
        default=None,
        max_length=30,
        description="parfum, extrait, EDP, EDT, EDC (25, 25, 18, 10, 4 % concentrate). Optional: the default "
        "is EDP (18 %), stated in the report's `assumed`.",
    )
    ifra_category: str = Field(default="4", max_length=4)
    leave_on: bool = True


def _json(data: dict[str, Any]) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


@router.post("/generate/recipe", summary="Compose a formula from a brief, with its validation report")
async def generate_recipe(body: RecipeBrief, runtime: RuntimeDep) -> Response:
    """Real materials, % summing to 100, a top/heart/base structure for the style, a name, a
    description and a reason for every material, in the brief's language; validated against
    IFRA and the EU allergen rules."""
    inspiration_notes: list[str] = []
    inspiration_name = None
    if body.inspiration_id is not None:
        engine = runtime.engine
        perfume = engine.get(body.inspiration_id) if engine is not None else None
        if perfume is None:
            raise HTTPException(status_code=422, detail=f"inspiration_id {body.inspiration_id!r} is not in the catalog")
        inspiration_notes, inspiration_name = perfume.notes, f"{perfume.brand} {perfume.name}"
    brief = Brief(
        fragrance_family=body.fragrance_family,
        mood=body.mood,
        intensity=body.intensity,
        season=body.season,
        liked_notes=body.liked_notes,
        disliked_notes=body.disliked_notes,
        concentration=body.concentration,
        inspiration_notes=inspiration_notes,
        inspiration_name=inspiration_name,
        language=body.language,
        seed=body.seed,
    )
    try:  # composition is CPU work: off the event loop, so /health and other requests go on
        composition = await asyncio.to_thread(runtime.composer.compose, brief)
    except FormulaError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return _json(composition.to_dict())


@router.post("/validate/recipe", summary="Validate a formula against IFRA and the EU allergen rules")
async def validate_recipe(body: FormulaIn, runtime: RuntimeDep) -> Response:
    """Limits are checked in the finished product (concentrate % x dilution), substances are
    summed over every source, unknown materials are reported. `verdict` is compliant,
    not_compliant or cannot_judge (the concentrate does not add up to 100 %: `cannot_judge`
    says why). A non-compliant formula comes with a corrected one, or `correction_note` says
    why there is none, and `substitutes` lists compliant alternatives for each material at
    fault. Defaults the formula left open (the concentration: EDP) are listed in `assumed`.
    422: the body is not a formula, or a line's name and CAS number name different materials."""
    try:
        formula = Formula.from_dict(body.model_dump(exclude_none=True))
        report = await asyncio.to_thread(runtime.perfumery.validator.validate, formula)
    except FormulaError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return _json(report.to_dict())
