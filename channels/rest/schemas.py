"""Request and response bodies of the REST API; the validation rules live here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from tools.search.catalog import LONGEVITY_LABELS, SILLAGE_LABELS

Longevity = Literal["very weak", "weak", "moderate", "long lasting", "eternal"]
Sillage = Literal["intimate", "moderate", "strong", "enormous"]
assert set(Longevity.__args__) == set(LONGEVITY_LABELS)  # type: ignore[attr-defined]
assert set(Sillage.__args__) == set(SILLAGE_LABELS)  # type: ignore[attr-defined]
Term = Annotated[str, StringConstraints(min_length=1, max_length=60)]
"""A note or accord name: every list item of a request is bounded, not only the list."""


class SearchFilters(BaseModel):
    """Explicit filters; they join what the query text says and always hold."""

    model_config = ConfigDict(extra="forbid")

    notes: list[Term] = Field(default_factory=list, max_length=20, description="Every note must be present.")
    exclude_notes: list[Term] = Field(default_factory=list, max_length=20)
    accords: list[Term] = Field(default_factory=list, max_length=20, description="Every accord must be a main accord.")
    exclude_accords: list[Term] = Field(default_factory=list, max_length=20)
    brand: str | None = Field(default=None, max_length=200)
    gender: Literal["women", "men", "unisex"] | None = Field(
        default=None, description="women and men also accept unisex perfumes."
    )
    year_min: int | None = Field(default=None, ge=1700, le=2100)
    year_max: int | None = Field(default=None, ge=1700, le=2100)
    longevity_min: Longevity | None = None
    sillage_min: Sillage | None = None
    sillage_max: Sillage | None = None
    price_max: float | None = Field(
        default=None, ge=0, description="Shop price ceiling (perfumes without a price fail)."
    )
    in_stock: bool = False

    @model_validator(mode="after")
    def _ordered_bounds(self) -> SearchFilters:
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            raise ValueError("year_min is after year_max")
        if (
            self.sillage_min
            and self.sillage_max
            and SILLAGE_LABELS.index(self.sillage_min) > SILLAGE_LABELS.index(self.sillage_max)
        ):
            raise ValueError("sillage_min is stronger than sillage_max")
        return self


class SearchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"query": "상큼한 로맨틱 봄 향수", "top_k": 5},
                {"query": "woody fragrance for men without oud", "top_k": 10, "search_type": "hybrid"},
            ]
        },
    )

    query: str = Field(min_length=1, max_length=2000, description="Korean or English.")
    top_k: int = Field(default=10, ge=1, le=100)
    search_type: Literal["similarity", "hybrid"] = "hybrid"
    filters: SearchFilters | None = None

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the query is blank")
        return value


class SearchResultOut(BaseModel):
    id: str
    brand: str
    name: str
    year: int | None
    gender: str | None
    accords: list[str]
    notes: list[str]
    longevity: str | None
    sillage: str | None
    score: float
    reason: str = Field(description='Why it matched, in the query\'s language ("matches: vetiver, woody accord").')
    price: float | None = None
    currency: str | None = None
    size_ml: float | None = None
    stock: int | None = None
    sample_data: bool = Field(default=False, description="True when the shop fields are sample data.")
    misses: list[str] = Field(default_factory=list, description="Hard constraints this result does not meet.")


class SearchResponseOut(BaseModel):
    results: list[SearchResultOut]
    parsed: dict[str, Any] = Field(description="What the query was understood as.")
    search_type: str
    relaxed: list[str] = Field(description="Accord preferences dropped because too few perfumes had them.")
    took_ms: float


class ErrorOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"message": "message is 2500 characters long; the limit is 2000"}]}
    )

    message: str
    detail: Any = None
