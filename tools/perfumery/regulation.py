"""IFRA Standards and the EU allergen list, loaded from CSV files.

IFRA limits are percentages of the FINISHED product per product category; a standard
can cover several CAS numbers. The EU list (Regulation 2023/1545) names the substances
to declare above 0.001 % in a leave-on product. The shipped starter tables are written
by hand; `fragrance-ai ingest --ifra PATH --allergens PATH` replaces them with fuller
ones (the 51st Amendment overview and the EU transcription in ../shared/data), which
are checked against, never trusted over, the starter allergen list: a fuller file that
misses an allergen the starter knows does not make that allergen disappear.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import FragranceError
from tools.search.text import compact

DATA_DIR = Path(__file__).resolve().parent / "data"
STARTER_IFRA = DATA_DIR / "ifra_standards.csv"
STARTER_ALLERGENS = DATA_DIR / "eu_allergens.csv"
STARTER_CONSTITUENTS = DATA_DIR / "naturals_constituents.csv"
EU_PROHIBITED = DATA_DIR / "eu_prohibited.csv"  # EU Annex II: banned in cosmetics outright
SUBSTITUTES = DATA_DIR / "substitutes.csv"  # hand-curated: compliant alternatives and the role they play

CATEGORIES = (
    "1", "2", "3", "4", "5A", "5B", "5C", "5D", "6", "7A", "7B", "8", "9", "10A", "10B", "11A", "11B", "12",
)  # fmt: skip
LEAVE_ON_THRESHOLD_PCT = 0.001
RINSE_OFF_THRESHOLD_PCT = 0.01
_CAS = re.compile(r"^\d{2,7}-\d{2}-\d$")


_CAS_ANYWHERE = re.compile(r"(?<![\d-])\d{2,7}-\d{2}-\d(?![\d-])")
_TOGETHER = re.compile(r"(\w+)\s*\+\s*(\w+) together must not exceed the limit", re.IGNORECASE)
# "the sum of each oil's level as % of its own limit must not exceed 100" (starter table) or "The sum of
# the concentrations of all furocoumarin-containing ... expressed in of their recommended upper
# concentration level ... shall not exceed 100" (the 51st Amendment overview).
_SUM_OF_RATIOS = re.compile(r"sum of [^|]*?(?:limit|upper concentration level)[^|]*?exceed 100\b", re.IGNORECASE)
# "From natural sources acceptable while ... at most 0.01%" (starter) or "... natural sources (like
# essential oils ...) ... as long as the level of X in the finished product does not exceed 0.01%" (overview).
_NATURAL_CAP = re.compile(
    r"natural sources.*?(?:at most|does not exceed|not exceed)\s*(\d+(?:\.\d+)?)\s*%", re.IGNORECASE | re.DOTALL
)


def read_table(path: Path, what: str) -> list[dict[str, str]]:
    """All rows of a CSV table; a file that cannot be read raises a sentence naming it."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FragranceError(f"{path}: cannot read the {what} ({exc}).") from exc


def split_cas(cell: str) -> list[str]:
    """Every CAS number in a cell, whatever surrounds it ("68737-61-1 (mixed isomers)")."""
    return list(dict.fromkeys(_CAS_ANYWHERE.findall(cell or "")))


def prohibited_part(cell: str) -> set[str]:
    """CAS numbers a mixed standard lists under a "Prohibition ..." label (Tagetes erecta)."""
    prohibited: set[str] = set()
    allowed: set[str] = set()
    current: set[str] | None = None
    for part in (cell or "").split("|"):
        text = part.strip()
        if not _CAS_ANYWHERE.fullmatch(text):
            lowered = text.lower()
            current = prohibited if lowered.startswith("prohibit") else allowed if lowered else current
            continue
        if current is not None:
            current.add(text)
    return prohibited - allowed


@dataclass(slots=True)
class Standard:
    """One IFRA Standard."""

    key: str
    name: str
    kinds: frozenset[str]  # {restriction, prohibition, specification}; IFRA combines them
    cas: list[str]
    synonyms: list[str]
    limits: dict[str, float | None]  # category -> max % in finished product; None: no number
    limit_text: dict[str, str]  # the cell as written ("No Restriction", "See Notebox", "0.0015 (5-MOP)")
    amendment: str
    notes: str = ""
    prohibited_cas: frozenset[str] = frozenset()  # banned CAS numbers of a mixed standard
    natural_cap: float | None = None  # % a banned substance may reach when naturals bring it
    specification: str = ""  # what the material must meet (oakmoss: atranol and chloroatranol below 100 ppm)
    combined_with: str = ""  # first word of a standard whose amount counts against the same limit
    # Furocoumarin oils: with the others so marked, the sum of each one's level as % of its limit <= 100.
    sum_of_ratios: bool = False

    def limit(self, category: str) -> float | None:
        return self.limits.get(category)

    def unrestricted(self, category: str) -> bool:
        text = self.limit_text.get(category, "").strip().lower()
        return not text or text.startswith("no restriction")


@dataclass(slots=True)
class Allergen:
    """An EU-listed substance: an allergen to declare, or (with `reference`) one banned outright."""

    name: str
    cas: list[str]
    korean: str = ""
    reference: str = ""


@dataclass(slots=True)
class Substitute:
    """A compliant alternative to a prohibited or restricted material, with the role it plays."""

    material: str  # what it replaces, as the table names it
    cas: list[str]  # the replaced material's CAS numbers
    substitute: str  # a material of the materials table
    role: str
    note: str = ""


@dataclass(slots=True)
class Regulations:
    """What a validation checks against, with where it came from."""

    standards: list[Standard]
    allergens: list[Allergen]
    constituents: dict[str, list[tuple[str, str, float]]]  # natural key -> (name, cas, pct)
    amendment: str
    eu_prohibited: list[Allergen] = field(default_factory=list)
    substitutes: list[Substitute] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    by_cas: dict[str, list[Standard]] = field(default_factory=dict)
    by_name: dict[str, Standard] = field(default_factory=dict)
    allergen_by_cas: dict[str, Allergen] = field(default_factory=dict)
    eu_banned_by_cas: dict[str, Allergen] = field(default_factory=dict)
    eu_banned_by_name: dict[str, Allergen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for banned in self.eu_prohibited:
            for cas in banned.cas:
                self.eu_banned_by_cas.setdefault(cas, banned)
            plain = re.sub(r"\(.*?\)", " ", banned.name)
            for name in {banned.name, plain, *re.findall(r"\((.*?)\)", banned.name)}:
                for variant in name.split("/"):
                    if variant.strip():
                        self.eu_banned_by_name.setdefault(compact(variant), banned)
        for standard in self.standards:
            for cas in standard.cas:
                self.by_cas.setdefault(cas, []).append(standard)
            for name in [standard.name, *standard.synonyms]:
                self.by_name.setdefault(compact(name), standard)
        for allergen in self.allergens:
            for cas in allergen.cas:
                self.allergen_by_cas.setdefault(cas, allergen)


_LEADING_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?(?:e-?\d+)?)")


def _limit(cell: str) -> float | None:
    """The number a limit cell starts with ("0.0015 (5-MOP)" -> 0.0015); None when there is none."""
    match = _LEADING_NUMBER.match(cell or "")
    return float(match.group(1).replace(",", ".")) if match else None


def _partner(name: str, notes: str) -> str:
    """The other standard of "Oakmoss + treemoss together must not exceed the limit", by its first word."""
    match = _TOGETHER.search(notes)
    if not match:
        return ""
    own = name.split()[0].lower() if name.split() else ""
    words = [w.lower() for w in match.groups()]
    others = [w for w in words if w != own]
    return others[0] if others else ""


def load_standards(path: Path) -> list[Standard]:
    """Standards from a CSV in the layout of the IFRA 51st Amendment overview."""
    rows = read_table(path, "IFRA table")
    needed = {"ifra_key", "name", "cas_numbers", "standard_type", "cat4_pct"}
    if not rows or not needed <= set(rows[0]):
        missing = ", ".join(sorted(needed - set(rows[0] if rows else [])))
        raise FragranceError(f"{path}: line 1: not an IFRA standards table (missing columns: {missing}).")
    standards = []
    for line, row in enumerate(rows, 2):
        kinds = frozenset((row.get("standard_type") or "").strip().lower().split("_"))
        if not kinds or not kinds <= {"restriction", "prohibition", "specification"}:
            raise FragranceError(f"{path}: line {line}: unknown standard_type {row.get('standard_type')!r}.")
        standards.append(
            Standard(
                key=row["ifra_key"].strip(),
                name=row["name"].strip(),
                kinds=kinds,
                cas=split_cas(row["cas_numbers"]),
                synonyms=[s.strip() for s in (row.get("synonyms") or "").split("|") if s.strip()],
                limits={c: _limit(row.get(f"cat{c}_pct", "")) for c in CATEGORIES},
                limit_text={c: (row.get(f"cat{c}_pct") or "").strip() for c in CATEGORIES},
                amendment=(row.get("amendment") or "").strip(),
                prohibited_cas=frozenset(prohibited_part(row["cas_numbers"])),
                natural_cap=float(cap.group(1))
                if (cap := _NATURAL_CAP.search(row.get("restricted_notes") or ""))
                else None,
                specification=(row.get("specified_notes") or "").strip(),
                combined_with=_partner(row["name"], row.get("restricted_notes") or ""),
                sum_of_ratios=bool(_SUM_OF_RATIOS.search(row.get("phototoxicity_notes") or "")),
                notes=" ".join(
                    (row.get(k) or "").strip()
                    for k in ("prohibited_notes", "restricted_notes", "phototoxicity_notes", "specified_notes")
                ).strip(),
            )
        )
    return standards


def load_allergens(path: Path) -> list[Allergen]:
    """Allergens from the starter layout (name, cas, korean_name) or the EU transcription (Name, CAS)."""
    rows = read_table(path, "allergen list")
    if not rows:
        raise FragranceError(f"{path}: line 2: the allergen list is empty.")
    lower = {k.lower(): k for k in rows[0]}
    if "name" not in lower or "cas" not in lower:
        raise FragranceError(f"{path}: line 1: an allergen list needs name and cas columns.")
    out = []
    for row in rows:
        cas = split_cas(row[lower["cas"]])
        if cas:
            korean = (row.get("korean_name") or "").strip()
            out.append(Allergen(row[lower["name"]].strip(), cas, korean, (row.get("reference") or "").strip()))
    return out


def merge_allergens(primary: list[Allergen], safety_net: list[Allergen]) -> list[Allergen]:
    """`primary` completed by every entry of `safety_net` whose CAS it lacks."""
    known = {cas for a in primary for cas in a.cas}
    return primary + [a for a in safety_net if not set(a.cas) & known]


def load_constituents(path: Path) -> dict[str, list[tuple[str, str, float]]]:
    """Naturals' constituents, by the natural's compact name and by its CAS numbers.

    Reads the starter layout (natural_name, natural_cas, ...) and the IFRA annex layout
    (Natural_Name, Constituent_Name, Constituent_CAS, Percentage).
    """
    rows = read_table(path, "constituents table")
    out: dict[str, list[tuple[str, str, float]]] = {}
    for row in rows:
        lower = {k.lower(): v for k, v in row.items()}
        natural = lower.get("natural_name") or ""
        cas = (lower.get("constituent_cas") or "").strip()
        try:
            pct = float(lower.get("pct") or lower.get("percentage") or "")
        except ValueError:
            continue
        if natural and _CAS.match(cas):
            entry = (lower.get("constituent_name") or cas, cas, pct)
            for natural_key in [compact(natural), *split_cas(lower.get("natural_cas") or "")]:
                out.setdefault(natural_key, []).append(entry)
    return out


def load_substitutes(path: Path = SUBSTITUTES) -> list[Substitute]:
    """The curated substitutes table (material, cas, substitute, role, note)."""
    rows = read_table(path, "substitutes table")
    if rows and not {"material", "substitute", "role"} <= set(rows[0]):
        raise FragranceError(f"{path}: line 1: a substitutes table needs material, substitute and role columns.")
    return [
        Substitute(
            material=row["material"].strip(),
            cas=split_cas(row.get("cas") or ""),
            substitute=row["substitute"].strip(),
            role=row["role"].strip(),
            note=(row.get("note") or "").strip(),
        )
        for row in rows
        if (row.get("material") or "").strip() and (row.get("substitute") or "").strip()
    ]
