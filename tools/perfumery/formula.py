"""A formula and the product it goes into: the input of validation and the output of composition."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tools.perfumery.regulation import CATEGORIES

# % of fragrance concentrate in the finished product, per concentration (the middle of
# the usual ranges: extrait 20-30, EDP 15-20, EDT 5-15, EDC 2-5).
CONCENTRATIONS: dict[str, float] = {"parfum": 25.0, "extrait": 25.0, "edp": 18.0, "edt": 10.0, "edc": 4.0}
DEFAULT_CONCENTRATION = "EDP"  # what a formula that names neither concentration nor dilution is judged as
CONCENTRATION_ALIASES = {
    "extrait de parfum": "extrait", "eau de parfum": "edp", "eau de toilette": "edt", "eau de cologne": "edc",
    "cologne": "edc", "퍼퓸": "parfum", "오드퍼퓸": "edp", "오 드 퍼퓸": "edp", "오드뚜왈렛": "edt",
    "오드 뚜왈렛": "edt", "오드트왈렛": "edt", "오드코롱": "edc", "코롱": "edc",
}  # fmt: skip


class FormulaError(ValueError):
    """The formula or product cannot be validated as given; the message says why."""


def concentration_dilution(name: str) -> float:
    key = name.strip().lower()
    key = CONCENTRATION_ALIASES.get(key, key)
    if key not in CONCENTRATIONS:
        raise FormulaError(
            f"unknown concentration {name!r}; use one of parfum, extrait, EDP, EDT, EDC or give dilution_pct"
        )
    return CONCENTRATIONS[key]


@dataclass(slots=True)
class Ingredient:
    name: str
    pct: float  # % of the concentrate
    cas: str | None = None


@dataclass(slots=True)
class Formula:
    ingredients: list[Ingredient]
    dilution_pct: float  # % of concentrate in the finished product
    ifra_category: str = "4"
    concentration: str | None = None
    leave_on: bool = True
    # What the formula did not say and validation took for granted, in a sentence each.
    assumed: list[str] = field(default_factory=list, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Formula:
        """The JSON shape of `fragrance-ai validate` and the REST API; FormulaError on bad input."""
        if not isinstance(data, dict):
            raise FormulaError("a formula is a JSON object with ingredients and a dilution_pct or concentration")
        raw = data.get("ingredients")
        if not isinstance(raw, list) or not raw:
            raise FormulaError("the formula has no ingredients")
        ingredients = []
        for number, item in enumerate(raw, 1):
            if not isinstance(item, dict):
                raise FormulaError(f"ingredient {number} is not an object with name and pct")
            name = item.get("name")
            cas = item.get("cas")
            if (not isinstance(name, str) or not name.strip()) and not (isinstance(cas, str) and cas.strip()):
                raise FormulaError(f"ingredient {number} has neither a name nor a CAS number")
            pct = item.get("pct")
            if isinstance(pct, bool) or not isinstance(pct, int | float):
                raise FormulaError(f"ingredient {number} ({name or cas}): pct must be a number, not {pct!r}")
            if pct < 0:
                raise FormulaError(f"ingredient {number} ({name or cas}): pct must not be negative ({pct})")
            if pct > 100:
                raise FormulaError(f"ingredient {number} ({name or cas}): pct {pct} is over 100")
            ingredients.append(
                Ingredient(str(name or cas).strip(), float(pct), cas.strip() if isinstance(cas, str) else None)
            )
        concentration = data.get("concentration")
        dilution = data.get("dilution_pct")
        assumed: list[str] = []
        if dilution is not None:
            if isinstance(dilution, bool) or not isinstance(dilution, int | float) or not 0 < dilution <= 100:
                raise FormulaError(f"dilution_pct must be a number above 0 and at most 100, not {dilution!r}")
            dilution_pct = float(dilution)
        elif concentration is not None:
            if not isinstance(concentration, str):
                raise FormulaError(f"concentration must be a name such as EDP, not {concentration!r}")
            dilution_pct = concentration_dilution(concentration)
        else:  # both are optional: the default is stated in the report, never silent
            dilution_pct = concentration_dilution(DEFAULT_CONCENTRATION)
            assumed.append(
                f"neither concentration nor dilution_pct was given: judged as {DEFAULT_CONCENTRATION} "
                f"({dilution_pct:g} % concentrate in the product)"
            )
        category = str(data.get("ifra_category", "4")).strip().upper()
        if category not in CATEGORIES:
            raise FormulaError(
                f"unknown IFRA category {data.get('ifra_category')!r}; use one of {', '.join(CATEGORIES)}"
            )
        leave_on = data.get("leave_on", True)
        if not isinstance(leave_on, bool):
            raise FormulaError("leave_on must be true or false")
        return cls(ingredients, dilution_pct, category, concentration, leave_on, assumed)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dilution_pct": self.dilution_pct,
            "ifra_category": self.ifra_category,
            "ingredients": [{k: v for k, v in asdict(i).items() if v is not None} for i in self.ingredients],
        }
        if self.concentration:
            out["concentration"] = self.concentration
        return out


@dataclass(slots=True)
class Violation:
    kind: str  # ifra_limit | prohibited | unknown_material
    name: str
    cas: str | None
    limit_pct: float | None = None
    actual_pct: float | None = None
    standard: str | None = None
    over_by: float | None = None  # actual / limit
    sources: list[str] = field(default_factory=list)
    message: str = ""


@dataclass(slots=True)
class AllergenLine:
    name: str
    cas: str
    finished_pct: float
    korean: str = ""
    sources: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Report:
    compliant: bool
    amendment: str
    ifra_category: str
    dilution_pct: float
    violations: list[Violation]
    allergens_to_declare: list[AllergenLine]
    warnings: list[str]
    concentrate_sum_pct: float
    balance: dict[str, float]
    resolved: list[dict[str, Any]]
    corrected: Formula | None = None
    # False when the amounts cannot be judged (a concentrate far from 100 %); `cannot_judge` says why.
    judgeable: bool = True
    cannot_judge: str | None = None
    assumed: list[str] = field(default_factory=list)  # defaults the formula left to the validator
    notes: list[str] = field(default_factory=list)  # merged lines, specified grades: what the verdict rests on
    correction_note: str | None = None  # why there is no correction, or what it had to do
    substitutes: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # violating material -> options

    @property
    def verdict(self) -> str:
        """compliant | not_compliant | cannot_judge (a formula refused outright raises FormulaError)."""
        if self.compliant:
            return "compliant"
        return "not_compliant" if self.violations or self.judgeable else "cannot_judge"

    def to_dict(self) -> dict[str, Any]:
        data = {
            "verdict": self.verdict,
            "compliant": self.compliant,
            "judgeable": self.judgeable,
            "cannot_judge": self.cannot_judge,
            "amendment": self.amendment,
            "ifra_category": self.ifra_category,
            "dilution_pct": self.dilution_pct,
            "violations": [asdict(v) for v in self.violations],
            "allergens_to_declare": [asdict(a) for a in self.allergens_to_declare],
            "warnings": self.warnings,
            "concentrate_sum_pct": self.concentrate_sum_pct,
            "balance": self.balance,
            "resolved": self.resolved,
            "corrected": self.corrected.to_dict() if self.corrected else None,
            "correction_note": self.correction_note,
            "assumed": self.assumed,
            "notes": self.notes,
            "substitutes": self.substitutes,
        }
        return data
