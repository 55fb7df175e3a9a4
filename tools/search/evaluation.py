"""`fragrance-ai eval search`: precision@5 against constraints checkable on catalog metadata.

Each evaluation query states constraints (notes present or absent, accords, gender,
longevity, sillage, brand, years). A top-5 result counts only if it meets every one;
a missing result counts as a miss, so returning fewer than five never helps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from core.errors import FragranceError
from core.jsonl import read_jsonl
from tools.search.catalog import LONGEVITY_LABELS, SILLAGE_LABELS, Perfume
from tools.search.engine import SearchEngine, SearchType
from tools.search.lexicon import Lexicon
from tools.search.query import QueryParser
from tools.search.text import is_korean, key

DEFAULT_QUERIES = Path(__file__).resolve().parent / "data" / "eval_queries.jsonl"
# Written by someone who had not read the parser or the lexicon: what generalisation is measured on.
HELDOUT_QUERIES = Path(__file__).resolve().parent / "data" / "eval_queries_heldout.jsonl"
CONSTRAINT_KEYS = {
    "notes_all",
    "notes_none",
    "accords_all",
    "accords_any",
    "accords_none",
    "gender",
    "longevity_min",
    "sillage_min",
    "sillage_max",
    "brand",
    "year_min",
    "year_max",
}
K = 5


@dataclass(slots=True)
class EvalReport:
    overall: float
    by_language: dict[str, float]
    counts: dict[str, int]
    per_query: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # Korean words the lexicon does not know, and how many the transliteration path recovered.
    hangul: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision_at_5": self.overall,
            "by_language": self.by_language,
            "queries": self.counts,
            "hangul_unknown_words": self.hangul,
            "per_query": self.per_query,
        }


def load_eval_queries(path: Path) -> list[dict[str, Any]]:
    items = []
    for number, item in read_jsonl(path):
        constraints = item.get("constraints") if isinstance(item, dict) else None
        unknown = set(constraints or {}) - CONSTRAINT_KEYS
        if not isinstance(constraints, dict) or not item.get("query") or not constraints or unknown:
            raise FragranceError(
                f"{path}: line {number}: needs a query and constraints"
                + (f"; unknown constraint keys: {', '.join(sorted(unknown))}" if unknown else "")
            )
        items.append(item)
    return items


def broken_constraints(p: Perfume, constraints: dict[str, Any], lexicon: Lexicon) -> list[str]:
    """The constraints `p` breaks (empty: it satisfies the query)."""
    broken: list[str] = []
    notes = set(p.notes)
    accords = set(p.accords)
    for n in constraints.get("notes_all", []):
        if lexicon.canonical_note(n) not in notes:
            broken.append(f"note {n} missing")
    for n in constraints.get("notes_none", []):
        if lexicon.canonical_note(n) in notes:
            broken.append(f"note {n} present")
    for a in constraints.get("accords_all", []):
        if lexicon.canonical_accord(a) not in accords:
            broken.append(f"accord {a} missing")
    any_of = {lexicon.canonical_accord(a) for a in constraints.get("accords_any", [])}
    if any_of and not accords & any_of:
        broken.append(f"none of accords {sorted(any_of)}")
    for a in constraints.get("accords_none", []):
        if lexicon.canonical_accord(a) in accords:
            broken.append(f"accord {a} present")
    gender = constraints.get("gender")
    if (
        gender
        and p.gender not in {"women": {"women", "unisex"}, "men": {"men", "unisex"}, "unisex": {"unisex"}}[gender]
    ):
        broken.append(f"gender {p.gender} not {gender}")
    for name, labels, below in (
        ("longevity_min", LONGEVITY_LABELS, True),
        ("sillage_min", SILLAGE_LABELS, True),
        ("sillage_max", SILLAGE_LABELS, False),
    ):
        bound = constraints.get(name)
        value = p.longevity if name.startswith("longevity") else p.sillage
        if not bound:
            continue
        if value is None or (
            labels.index(value) < labels.index(bound) if below else labels.index(value) > labels.index(bound)
        ):
            broken.append(f"{name.split('_')[0]} {value} {'below' if below else 'above'} {bound}")
    brand = constraints.get("brand")
    if brand and key(p.brand) != key(brand):
        broken.append(f"brand {p.brand} not {brand}")
    if (lo := constraints.get("year_min")) is not None and (p.year is None or p.year < lo):
        broken.append(f"year {p.year} before {lo}")
    if (hi := constraints.get("year_max")) is not None and (p.year is None or p.year > hi):
        broken.append(f"year {p.year} after {hi}")
    return broken


def hangul_coverage(parser: QueryParser, queries: list[str]) -> dict[str, Any]:
    """Content words of Korean queries the lexicon does not know (particles, endings and everyday
    words aside), and how many of them the transliteration path maps to a catalog note or accord."""
    unknown: list[tuple[str, str | None]] = []
    for query in queries:
        if is_korean(query):
            unknown += parser.understand(query)[1]
    recovered = [(word, found) for word, found in unknown if found is not None]
    return {
        "unknown": len(unknown),
        "recovered": len(recovered),
        "recovered_words": [f"{word}->{found}" for word, found in recovered],
        "missed_words": sorted({word for word, found in unknown if found is None}),
    }


def evaluate_search(
    engine: SearchEngine, items: list[dict[str, Any]], search_type: SearchType = "hybrid"
) -> EvalReport:
    """`search_type="similarity"` measures the plain vector baseline on the same index."""
    per_query: list[dict[str, Any]] = []
    failures: list[str] = []
    for item in items:
        response = engine.search_sync(item["query"], top_k=K, search_type=search_type)
        good = 0
        for result in response.results[:K]:
            perfume = engine.get(result.id)
            assert perfume is not None
            broken = broken_constraints(perfume, item["constraints"], engine.lexicon)
            if broken:
                failures.append(
                    f"{item.get('id', '?')} {item['query']!r}: {perfume.brand} {perfume.name}: {'; '.join(broken)}"
                )
            else:
                good += 1
        per_query.append(
            {"id": item.get("id"), "lang": item.get("lang"), "query": item["query"], "precision": good / K}
        )
    langs = sorted({q["lang"] for q in per_query if q["lang"]})
    by_language = {lang: mean(q["precision"] for q in per_query if q["lang"] == lang) for lang in langs}
    counts = {lang: sum(1 for q in per_query if q["lang"] == lang) for lang in langs}
    overall = mean(q["precision"] for q in per_query) if per_query else 0.0
    hangul = hangul_coverage(engine.parser, [item["query"] for item in items])
    return EvalReport(overall, by_language, counts, per_query, failures, hangul)
