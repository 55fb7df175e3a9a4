"""Where the perfumery tables come from: FRAGRANCE_HOME when ingested, else the starter set.

`fragrance-ai ingest --ifra PATH --allergens PATH [--constituents PATH] [--materials PATH]`
checks the files and copies them under FRAGRANCE_HOME/perfumery; later validations use
them. The starter allergen list always completes an ingested one (the EU transcription
in ../shared/data misses coumarin, eugenol and cinnamal), and ingested reference
materials only add to the starter materials, which keep their Korean names and use
ranges.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sized
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.settings import Settings
from tools.perfumery.materials import STARTER_MATERIALS, MaterialDB, load_materials, load_reference_materials
from tools.perfumery.regulation import (
    EU_PROHIBITED,
    STARTER_ALLERGENS,
    STARTER_CONSTITUENTS,
    STARTER_IFRA,
    Regulations,
    load_allergens,
    load_constituents,
    load_standards,
    load_substitutes,
    merge_allergens,
)
from tools.perfumery.validation import Validator

TABLES = {
    "ifra": "ifra_standards.csv",
    "allergens": "eu_allergens.csv",
    "constituents": "naturals_constituents.csv",
    "materials": "materials_reference.csv",
}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(slots=True)
class Perfumery:
    materials: MaterialDB
    regulations: Regulations
    validator: Validator


def _table(home: Path, name: str, starter: Path | None) -> Path | None:
    ingested = home / "perfumery" / TABLES[name]
    return ingested if ingested.exists() else starter


def load_perfumery(home: Path) -> Perfumery:
    ifra_path = _table(home, "ifra", STARTER_IFRA)
    allergens_path = _table(home, "allergens", STARTER_ALLERGENS)
    constituents_path = _table(home, "constituents", STARTER_CONSTITUENTS)
    assert ifra_path and allergens_path and constituents_path
    standards = load_standards(ifra_path)
    allergens = load_allergens(allergens_path)
    if allergens_path != STARTER_ALLERGENS:
        allergens = merge_allergens(allergens, load_allergens(STARTER_ALLERGENS))
    constituents = load_constituents(constituents_path)
    if constituents_path != STARTER_CONSTITUENTS:
        for key, rows in load_constituents(STARTER_CONSTITUENTS).items():
            constituents.setdefault(key, rows)
    numbers = [int(s.amendment) for s in standards if s.amendment.isdigit()]
    amendment = f"IFRA Standards, {_ordinal(max(numbers))} Amendment" if numbers else "IFRA Standards"
    materials = load_materials(STARTER_MATERIALS)
    reference = _table(home, "materials", None)
    if reference is not None:
        materials += load_reference_materials(reference)
    regs = Regulations(
        standards=standards,
        allergens=allergens,
        constituents=constituents,
        amendment=amendment,
        eu_prohibited=load_allergens(EU_PROHIBITED),
        substitutes=load_substitutes(),
        sources={"ifra": str(ifra_path), "allergens": str(allergens_path), "constituents": str(constituents_path)},
    )
    db = MaterialDB(materials)
    return Perfumery(db, regs, Validator(db, regs))


@lru_cache(maxsize=4)
def perfumery_for(home: Path) -> Perfumery:
    """Loaded once per data folder and process."""
    return load_perfumery(home)


def ingest_tables(settings: Settings, **paths: Path | None) -> dict[str, str]:
    """Check each given table by loading it, then copy it under FRAGRANCE_HOME/perfumery."""
    loaders: dict[str, Callable[[Path], Sized]] = {
        "ifra": load_standards,
        "allergens": load_allergens,
        "constituents": load_constituents,
        "materials": load_reference_materials,
    }
    done = {}
    target_dir = settings.fragrance_home / "perfumery"
    for name, path in paths.items():
        if path is None:
            continue
        loaded = loaders[name](path)  # raises FragranceError with file and line
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target_dir / TABLES[name])
        done[name] = f"{len(loaded)} entries from {path}"
    perfumery_for.cache_clear()
    return done
