"""Whether a material may be used at an amount: "is 5% coumarin OK in an EDP?", "메틸 유제놀 넣어도
되나요?", "how much oakmoss can I put in a fine fragrance?".

The answer comes from the validator itself, so it is the same verdict a whole formula would get:
the material alone is checked as the product (100 % of it, no dilution), and each IFRA limit it
meets says how much of the product it may be (a natural counts through what it contains: oakmoss
through its own standard, bergamot through its furocoumarins). The amount asked about is then put
in the finished product (an amount "in an EDP" is of the EDP; one "in the concentrate" is diluted
at the concentration's usual level) and compared.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from tools.perfumery.database import Perfumery
from tools.perfumery.formula import DEFAULT_CONCENTRATION, Formula, FormulaError, Ingredient, concentration_dilution
from tools.search.text import compact

Basis = Literal["product", "concentrate"]
# Names customers use for regulated substances that are no material of the database (메틸 유제놀,
# safrole, 푸로쿠마린): each mapped to the name the IFRA / EU tables know it by.
REGULATED_NAMES = Path(__file__).resolve().parent / "data" / "regulated_names.csv"


@lru_cache(maxsize=1)
def regulated_names() -> dict[str, str]:
    """Every name of REGULATED_NAMES (the tables' own name too) -> the tables' name."""
    out: dict[str, str] = {}
    with REGULATED_NAMES.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for alias in [row["name"], *row["names"].split("|")]:
                if alias.strip():
                    out.setdefault(alias.strip(), row["name"])
    return out


@lru_cache(maxsize=1)
def prohibited_parts() -> dict[str, str]:
    """A form of a regulated substance that its standard bans while it allows another ("Verbena oil" of
    IFRA 083, which restricts the absolute): compact(the form's name) -> the standard's name."""
    with REGULATED_NAMES.open(encoding="utf-8", newline="") as handle:
        return {compact(row["name"]): row["prohibited_part_of"].strip()
                for row in csv.DictReader(handle) if (row.get("prohibited_part_of") or "").strip()}  # fmt: skip


def regulated_name(name: str) -> str | None:
    """The tables' name of a substance a customer names (folded, spacing ignored), or None."""
    wanted = compact(name)
    return next((canonical for alias, canonical in regulated_names().items() if compact(alias) == wanted), None)


@dataclass(slots=True)
class MaterialUse:
    """The verdict on one material at one amount (or, without an amount, how much is allowed)."""

    material: str
    known: bool
    category: str
    concentration: str
    dilution_pct: float  # % of concentrate in the finished product
    basis: Basis
    asked_pct: float | None = None
    product_pct: float | None = None  # the asked amount in the finished product
    concentrate_pct: float | None = None  # the asked amount in the concentrate
    prohibited: bool = False
    limit_product_pct: float | None = None  # None: no IFRA limit (or prohibited)
    limit_concentrate_pct: float | None = None  # the same limit as % of the concentrate at this dilution
    standard: str | None = None  # the IFRA standard (or EU entry) that decides
    standard_name: str | None = None
    allowed: bool | None = None  # None: no amount asked and usable up to the limit
    reasons: list[str] = field(default_factory=list)  # the validator's sentences
    notes: list[str] = field(default_factory=list)
    allergen: bool = False  # to be declared on the label above 0.001 % (leave-on)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def material_use(
    perfumery: Perfumery,
    name: str,
    pct: float | None = None,
    concentration: str | None = None,
    basis: Basis = "product",
    category: str = "4",
    dilution_pct: float | None = None,
) -> MaterialUse:
    """The verdict on `pct` % of `name` (of the finished product, or of the concentrate with
    basis="concentrate") in a product of `concentration` (EDP when not given) and IFRA `category`;
    `dilution_pct`: the concentrate's share of the product when the customer gives it ("a 20% EDP",
    "부향률 15%"), in place of the concentration's usual one."""
    whole = prohibited_parts().get(compact(regulated_name(name) or name))
    if whole is not None:  # the banned part of a standard that restricts its other part
        use = material_use(perfumery, whole, pct, concentration, basis, category, dilution_pct)
        standard = perfumery.regulations.by_name.get(compact(whole))
        use.material, use.prohibited, use.allowed = regulated_name(name) or name, True, False
        use.limit_product_pct = use.limit_concentrate_pct = None
        use.reasons = [standard.notes] if standard is not None and standard.notes else use.reasons
        return use
    concentration = concentration or DEFAULT_CONCENTRATION
    try:
        dilution = concentration_dilution(concentration)
    except FormulaError:
        concentration, dilution = DEFAULT_CONCENTRATION, concentration_dilution(DEFAULT_CONCENTRATION)
    if dilution_pct is not None and 0.0 < dilution_pct <= 100.0:
        dilution = dilution_pct
    material = perfumery.materials.resolve(name)
    name = name if material is not None else regulated_name(name) or name
    standard = perfumery.regulations.by_name.get(compact(name))
    banned = perfumery.regulations.eu_banned_by_name.get(compact(name))
    canonical = material.name if material else standard.name if standard else banned.name if banned else name
    use = MaterialUse(canonical, True, category, concentration.upper(), dilution, basis, asked_pct=pct)
    probe = perfumery.validator.validate(Formula([Ingredient(canonical, 100.0)], 100.0, category), correct=False)
    if any(v.kind == "unknown_material" for v in probe.violations):
        use.known = False
        return use
    prohibited = [v for v in probe.violations if v.kind == "prohibited"]
    limits = [v for v in probe.violations if v.kind == "ifra_limit" and v.limit_pct and v.actual_pct]
    use.notes = list(probe.notes)
    use.allergen = bool(probe.allergens_to_declare)
    if prohibited:
        use.prohibited, use.allowed = True, False
        use.standard, use.standard_name = prohibited[0].standard, prohibited[0].name
        use.reasons = [v.message for v in prohibited]
    elif limits:
        # 100 % of the material in the product brings `actual_pct` % of the regulated substance.
        deciding = min(limits, key=lambda v: (v.limit_pct or 0.0) / (v.actual_pct or 1.0))
        use.limit_product_pct = round(100.0 * (deciding.limit_pct or 0.0) / (deciding.actual_pct or 1.0), 6)
        use.limit_concentrate_pct = round(min(100.0, use.limit_product_pct * 100.0 / dilution), 6)
        use.standard, use.standard_name = deciding.standard, deciding.name
        use.reasons = [deciding.message]
    if pct is not None:
        if basis == "product":
            use.product_pct, use.concentrate_pct = pct, round(pct * 100.0 / dilution, 6)
        else:
            use.concentrate_pct, use.product_pct = pct, round(pct * dilution / 100.0, 6)
        if not use.prohibited:
            fits_product = use.concentrate_pct <= 100.0
            under_limit = use.limit_product_pct is None or use.product_pct <= use.limit_product_pct + 1e-9
            use.allowed = fits_product and under_limit
    return use
