"""Shared ground truth for the perfumery tests: the starter tables as the csv module reads
them, and a few helpers. Expected values in the tests are derived from these rows, never
from what the product returns."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from tools.perfumery.formula import Formula, Report
from tools.perfumery.validation import Validator

DATA = Path(__file__).resolve().parent.parent / "tools" / "perfumery" / "data"
PERFUMERY_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "perfumery"
CAS_IN_TEXT = re.compile(r"\b\d{2,7}-\d{2}-\d\b")
LEADING_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
FILLER = "Dipropylene Glycol"  # a solvent: in no IFRA standard, on no EU list (checked in a test)


def rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def cas_numbers(cell: str) -> list[str]:
    """Every CAS number written in a cell, in order, whatever separates or annotates them."""
    out: list[str] = []
    for cas in CAS_IN_TEXT.findall(cell or ""):
        if cas not in out:
            out.append(cas)
    return out


def restricted_cas_numbers(cell: str) -> list[str]:
    """The CAS numbers a limit applies to: a mixed standard's "Prohibition of ...:" part is
    banned outright (IFRA_STD_097 lists Tagetes erecta there), unless also listed as restricted."""
    banned: set[str] = set()
    allowed: list[str] = []
    in_banned_part = False
    for part in (cell or "").split("|"):
        text = part.strip()
        found = CAS_IN_TEXT.findall(text)
        if not found:
            in_banned_part = text.lower().startswith("prohibit")
            continue
        for cas in found:
            if in_banned_part:
                banned.add(cas)
            elif cas not in allowed:
                allowed.append(cas)
    return [cas for cas in cas_numbers(cell) if cas in allowed or cas not in banned]


def cat4_limit(row: dict[str, str]) -> float | None:
    match = LEADING_NUMBER.match(row.get("cat4_pct") or "")
    return float(match.group(1)) if match else None


def ifra_rows() -> list[dict[str, str]]:
    return rows("ifra_standards.csv")


def ifra_row(key: str) -> dict[str, str]:
    return next(r for r in ifra_rows() if r["ifra_key"] == key)


def material_row(name: str) -> dict[str, str]:
    return next(r for r in rows("materials.csv") if r["name"] == name)


def constituent_share(natural_cas: str, constituent_cas: str) -> float:
    """% of a constituent in a natural, from naturals_constituents.csv (summed over rows)."""
    found = [
        float(r["pct"])
        for r in rows("naturals_constituents.csv")
        if r["natural_cas"] == natural_cas and r["constituent_cas"] == constituent_cas
    ]
    assert found, (natural_cas, constituent_cas)
    return sum(found)


def formula(ingredients: list[dict[str, Any]], **product: Any) -> Formula:
    data: dict[str, Any] = {"ingredients": ingredients}
    data.update(product)
    if "dilution_pct" not in data and "concentration" not in data:
        data["dilution_pct"] = 20
    return Formula.from_dict(data)


def validate(validator: Validator, ingredients: list[dict[str, Any]], **product: Any) -> Report:
    return validator.validate(formula(ingredients, **product))


def with_filler(ingredient: dict[str, Any]) -> list[dict[str, Any]]:
    """The ingredient, topped up to 100 % with the neutral filler."""
    rest = round(100.0 - float(ingredient["pct"]), 10)
    return [ingredient, {"name": FILLER, "pct": rest}] if rest > 0 else [ingredient]
