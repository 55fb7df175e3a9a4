"""The materials database: what a perfumer composes with, found by name, synonym or CAS.

Matching ignores case, spacing and punctuation ("Iso E Super" == "iso-e-super"), and
a name that only differs by a generic word ("Bergamot Oil", "Bergamot essential oil",
"bergamot") finds the same material when that is unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import FragranceError
from tools.perfumery.regulation import read_table, split_cas
from tools.search.text import compact, fold

STARTER_MATERIALS = Path(__file__).resolve().parent / "data" / "materials.csv"
VOLATILITY = ("top", "heart", "base")
_GENERIC = re.compile(
    r"\b(?:essential oil|oil|absolute|abs|extract|resinoid|resin|natural|synthetic|eo|co2|pure|"
    r"concrete|tincture|오일|에센셜 오일|앱솔루트|추출물)\b"
)


@dataclass(slots=True)
class Material:
    name: str
    cas: list[str]
    synonyms: list[str] = field(default_factory=list)
    family: str = ""
    descriptors: list[str] = field(default_factory=list)
    volatility: str = "heart"  # top | heart | base
    use_min_pct: float = 0.0  # typical range in the concentrate
    use_max_pct: float = 100.0
    natural: bool = False
    notes_for: list[str] = field(default_factory=list)

    @property
    def korean(self) -> str:
        return next((s for s in self.synonyms if re.search(r"[\uac00-\ud7a3]", s)), self.name)


def _bare(name: str) -> str:
    return compact(_GENERIC.sub(" ", fold(name)))


class MaterialDB:
    def __init__(self, materials: list[Material]) -> None:
        self.materials = materials
        self.by_key: dict[str, Material] = {}
        self.by_cas: dict[str, Material] = {}
        bare: dict[str, set[int]] = {}
        for index, m in enumerate(materials):
            for name in [m.name, *m.synonyms]:
                self.by_key.setdefault(compact(name), m)
                bare.setdefault(_bare(name), set()).add(index)
            for cas in m.cas:
                self.by_cas.setdefault(cas, m)
        # A generic-word-free name counts only when it points at one material.
        self.by_bare = {k: materials[next(iter(v))] for k, v in bare.items() if k and len(v) == 1}

    def resolve(self, name: str | None, cas: str | None = None) -> Material | None:
        if cas:
            for number in split_cas(cas):
                if number in self.by_cas:
                    return self.by_cas[number]
        if name:
            return self.by_key.get(compact(name)) or self.by_bare.get(_bare(name))
        return None

    def for_note(self, note: str) -> list[Material]:
        wanted = compact(note)
        return [m for m in self.materials if any(compact(n) == wanted for n in m.notes_for)]


def _float(raw: str, what: str, path: Path, line: int) -> float:
    try:
        return float(raw)
    except ValueError:
        raise FragranceError(f"{path}: line {line}: {what} {raw!r} is not a number.") from None


def load_materials(path: Path = STARTER_MATERIALS) -> list[Material]:
    """The starter table's layout (see its header)."""
    rows = read_table(path, "materials table")
    out = []
    for line, row in enumerate(rows, 2):
        volatility = (row.get("volatility") or "heart").strip().lower()
        if volatility not in VOLATILITY:
            raise FragranceError(f"{path}: line {line}: volatility {volatility!r} is not top, heart or base.")
        out.append(
            Material(
                name=row["name"].strip(),
                cas=split_cas(row.get("cas", "")),
                synonyms=[s.strip() for s in (row.get("synonyms") or "").split("|") if s.strip()],
                family=(row.get("family") or "").strip().lower(),
                descriptors=[s.strip() for s in (row.get("descriptors") or "").split("|") if s.strip()],
                volatility=volatility,
                use_min_pct=_float(row.get("use_min_pct") or "0", "use_min_pct", path, line),
                use_max_pct=_float(row.get("use_max_pct") or "100", "use_max_pct", path, line),
                natural=(row.get("natural") or "").strip().lower() == "true",
                notes_for=[s.strip() for s in (row.get("notes_for") or "").split("|") if s.strip()],
            )
        )
    return out


def load_reference_materials(path: Path) -> list[Material]:
    """Materials from the merged reference table (../shared/data/fragrance_ingredients_merged.csv).

    Only what the file states is kept; a material without a CAS is skipped.
    """
    rows = read_table(path, "materials table")
    if rows and not {"cas", "name"} <= set(rows[0]):
        raise FragranceError(f"{path}: line 1: a materials table needs cas and name columns.")
    out = []
    for row in rows:
        cas = split_cas(row.get("cas", ""))
        if not cas or not row.get("name"):
            continue
        names = {row.get(k, "").strip() for k in ("name_gs", "name_leffingwell", "name_arctander")}
        names |= {s.strip() for s in (row.get("ifra_names_all") or "").split("|")}
        volatility = (row.get("volatility_class_derived") or "").strip().lower()
        try:
            use_max = float(row.get("gs_recommended_max_pct_in_concentrate") or 100.0)
        except ValueError:
            use_max = 100.0
        out.append(
            Material(
                name=row["name"].strip(),
                cas=cas,
                synonyms=sorted(n for n in names if n and n != row["name"].strip()),
                family=(row.get("odor_family") or "").strip().lower(),
                descriptors=[d for d in (row.get("descriptor_2", ""), row.get("descriptor_3", "")) if d],
                volatility=volatility if volatility in VOLATILITY else "heart",
                use_max_pct=use_max,
            )
        )
    return out
