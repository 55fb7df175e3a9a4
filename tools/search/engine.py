"""Hybrid perfume search: hard filters, vector similarity, BM25 and preferences, fused.

Ranking of one query:
1. The parser's hard constraints (notes, exclusions, brand, gender, years, longevity,
   sillage, explicit API filters) become a boolean mask over the whole catalog.
2. Named accords, then each season/mood/occasion accord group, narrow the mask too, but
   only while at least `top_k` perfumes remain: a preference never empties the answer.
3. Survivors are scored by a weighted sum of cosine similarity (the whole catalog's
   embeddings are in memory, so this is exact, not approximate-after-filter), BM25 over
   names/notes/accords, how prominently they carry the preferred accords, and a small
   popularity prior. If fewer than `top_k` perfumes meet every hard constraint, the rest
   of the list is filled with the nearest misses, each saying what it misses.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import bm25s
import numpy as np
import threadpoolctl

import tools.search.text as text_module
from core.settings import Settings
from tools.search.artifacts import digest, load_arrays, save_arrays, source_digest
from tools.search.catalog import LONGEVITY_LABELS, SILLAGE_LABELS, Perfume, PerfumeRows
from tools.search.embeddings import Embedder, QueryEmbeddingBatcher, embedder_for
from tools.search.fit import accord_weights, of_its_line
from tools.search.lexicon import Lexicon, default_lexicon
from tools.search.query import ParsedQuery, QueryParser
from tools.search.store import (
    CatalogStore,
    catalog_digest,
    embeddings_from_chroma,
    embeddings_key,
    load_embeddings,
    open_vectorstore,
    save_embeddings,
)
from tools.search.text import key

log = logging.getLogger(__name__)

SearchType = Literal["similarity", "hybrid"]
# A season/mood/occasion group narrows by its first (most typical) accords before all of them.
TYPICAL_ACCORDS = 4
# Likeness of two perfumes (`alike`): the share of the reference's weighted accords the other has, and the
# rest from how close their descriptions' embeddings are.
LIKENESS_ACCORDS = 0.6
WEIGHTS = {"vector": 0.45, "lexical": 0.20, "preference": 0.25, "popularity": 0.10}
_GENDER_OK = {"women": ("women", "unisex"), "men": ("men", "unisex"), "unisex": ("unisex",)}
GENDER_CODES = {"": 0, "women": 1, "men": 2, "unisex": 3}
_KO_GENDER = {"women": "여성", "men": "남성", "unisex": "남녀공용"}
# The catalog's longevity and sillage labels in Korean, for reasons written in Korean.
_KO_LABEL = {
    "very weak": "매우 약함", "weak": "약함", "moderate": "보통", "long lasting": "오래감", "eternal": "매우 오래감",
    "intimate": "은은함", "strong": "강함", "enormous": "매우 강함",
}  # fmt: skip


@dataclass(slots=True)
class SearchResult:
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
    reason: str
    price: float | None = None
    currency: str | None = None
    size_ml: float | None = None
    stock: int | None = None
    sample_data: bool = False
    misses: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SearchResponse:
    results: list[SearchResult]
    parsed: ParsedQuery
    search_type: SearchType
    relaxed: list[str]
    took_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "results": [r.to_dict() for r in self.results],
            "parsed": self.parsed.to_dict(),
            "search_type": self.search_type,
            "relaxed": self.relaxed,
            "took_ms": self.took_ms,
        }


def _doc_tokens(p: Perfume, keys: dict[str, str] | None = None) -> list[str]:
    """BM25 tokens of a perfume; `keys` memoises `key` of brands, accords and notes, which repeat
    across a catalog (550k calls on the 38k catalog, 3 s, without it)."""
    keys = {} if keys is None else keys

    def cached(text: str) -> str:
        found = keys.get(text)
        if found is None:
            found = keys[text] = key(text)
        return found

    tokens = cached(p.brand).split() + key(p.name).split()
    tokens += ["accord:" + cached(a) for a in p.accords]
    tokens += ["note:" + cached(n) for n in p.notes]
    return tokens


class CatalogIndex:
    """The ingested catalog held in memory as arrays, for filtering and exact scoring.

    Everything but the perfumes and their vectors is derived from the perfumes (`state`); a
    start loads it from the snapshot `load_or_build` keeps beside the catalog instead of
    deriving it again (two seconds on the 38k catalog).
    """

    def __init__(
        self, perfumes: Sequence[Perfume], embeddings: np.ndarray, state: dict[str, np.ndarray] | None = None
    ) -> None:
        self.perfumes = perfumes
        self.size = len(perfumes)
        self.embeddings = embeddings
        ids = perfumes.ids if isinstance(perfumes, PerfumeRows) else [p.id for p in perfumes]
        self.by_id = {pid: i for i, pid in enumerate(ids)}
        if state is None:
            self._derive(perfumes)
        else:
            self._restore(state)

    @classmethod
    def load_or_build(
        cls, perfumes: Sequence[Perfume], embeddings: np.ndarray, path: Path, catalog: str
    ) -> CatalogIndex:
        """The index of `perfumes`, its derived arrays loaded from `path` when they were saved for
        this catalog (`catalog`: its digest) by this code, derived and saved there otherwise."""
        key = digest(["catalog-index/1", catalog, source_digest(_INDEX_SOURCES), f"bm25s={bm25s.__version__}"])
        state = load_arrays(path, key)
        if state is not None:
            try:
                return cls(perfumes, embeddings, state)
            except (KeyError, ValueError) as exc:
                log.warning("ignoring a catalog index snapshot that does not fit (%s); deriving it again", exc)
        index = cls(perfumes, embeddings)
        save_arrays(path, index.state(), key)
        return index

    def _derive(self, perfumes: Sequence[Perfume]) -> None:
        self.year = np.array([p.year if p.year else np.nan for p in perfumes], dtype=np.float32)
        self.gender = np.array([GENDER_CODES.get(p.gender or "", 0) for p in perfumes], dtype=np.int8)
        self.longevity = np.array(
            [LONGEVITY_LABELS.index(p.longevity) if p.longevity else -1 for p in perfumes], dtype=np.int8
        )
        self.sillage = np.array([SILLAGE_LABELS.index(p.sillage) if p.sillage else -1 for p in perfumes], dtype=np.int8)
        self.price = np.array([p.price if p.price is not None else np.nan for p in perfumes], dtype=np.float32)
        self.stock = np.array([p.stock if p.stock is not None else -1 for p in perfumes], dtype=np.int32)
        brands: dict[str, list[int]] = {}
        notes: dict[str, list[int]] = {}
        self.accord_weight: dict[str, np.ndarray] = {}
        accord_rows: dict[str, list[tuple[int, float]]] = {}
        for i, p in enumerate(perfumes):
            brands.setdefault(p.brand, []).append(i)
            for note in p.notes:
                notes.setdefault(note, []).append(i)
            for pos, accord in enumerate(p.accords):
                # The first accord is the dominant one; later ones count a little less.
                accord_rows.setdefault(accord, []).append((i, 1.0 - 0.08 * min(pos, 6)))
        # Row numbers as arrays: indexing a mask with an array is ~20x faster than with a list.
        self.brands = {b: np.asarray(rows, dtype=np.int32) for b, rows in brands.items()}
        self.notes = {n: np.asarray(rows, dtype=np.int32) for n, rows in notes.items()}
        for accord, rows in accord_rows.items():
            weights = np.zeros(self.size, dtype=np.float32)
            idx, w = zip(*rows, strict=True)
            weights[list(idx)] = w
            self.accord_weight[accord] = weights
        counts = np.array([p.rating_count or 0 for p in perfumes], dtype=np.float32)
        top = float(np.log1p(counts).max()) or 1.0
        self.popularity = np.log1p(counts) / top
        self.bm25 = bm25s.BM25()
        keys: dict[str, str] = {}
        self.bm25.index([_doc_tokens(p, keys) for p in perfumes], show_progress=False)

    def state(self) -> dict[str, np.ndarray]:
        """What `_derive` computed, as arrays (dicts of arrays as keys, offsets and values)."""
        state = {name: getattr(self, name) for name in _COLUMNS}
        for name in ("brands", "notes"):
            groups: dict[str, np.ndarray] = getattr(self, name)
            state[f"{name}_keys"] = np.asarray(list(groups), dtype=str)
            state[f"{name}_offsets"] = np.cumsum([0, *(len(rows) for rows in groups.values())], dtype=np.int64)
            state[f"{name}_rows"] = np.concatenate([np.zeros(0, np.int32), *groups.values()])
        state["accord_keys"] = np.asarray(list(self.accord_weight), dtype=str)
        weights = list(self.accord_weight.values())
        state["accord_weights"] = np.stack(weights) if weights else np.zeros((0, self.size), dtype=np.float32)
        vocabulary = self.bm25.vocab_dict
        state["bm25_terms"] = np.asarray(list(vocabulary), dtype=str)
        state["bm25_ids"] = np.asarray(list(vocabulary.values()), dtype=np.int64)
        for part in ("data", "indices", "indptr"):
            state[f"bm25_{part}"] = np.asarray(self.bm25.scores[part])
        state["bm25_num_docs"] = np.asarray(self.bm25.scores["num_docs"])
        return state

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        for name in _COLUMNS:
            if state[name].shape != (self.size,):
                raise ValueError(f"{name} has {state[name].shape[0]} rows, the catalog {self.size}")
            setattr(self, name, state[name])
        for name in ("brands", "notes"):
            keys, offsets, rows = state[f"{name}_keys"].tolist(), state[f"{name}_offsets"], state[f"{name}_rows"]
            setattr(self, name, {k: rows[offsets[i] : offsets[i + 1]] for i, k in enumerate(keys)})
        weights = state["accord_weights"]
        self.accord_weight = {accord: weights[i] for i, accord in enumerate(state["accord_keys"].tolist())}
        self.bm25 = bm25s.BM25()
        if self.bm25.method in self.bm25.methods_requiring_nonoccurrence:
            raise ValueError(f"BM25 method {self.bm25.method} is not restored from a snapshot")
        self.bm25.scores = {part: state[f"bm25_{part}"] for part in ("data", "indices", "indptr")}
        self.bm25.scores["num_docs"] = int(state["bm25_num_docs"])
        self.bm25.vocab_dict = dict(zip(state["bm25_terms"].tolist(), state["bm25_ids"].tolist(), strict=True))
        self.bm25.unique_token_ids_set = set(self.bm25.vocab_dict.values())
        self.bm25.nonoccurrence_array = None

    def mask_notes(self, notes: list[str]) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        for note in notes:
            rows = self.notes.get(note)
            if rows is not None:
                mask[rows] = True
        return mask

    def mask_accord(self, accord: str) -> np.ndarray:
        weights = self.accord_weight.get(accord)
        return weights > 0 if weights is not None else np.zeros(self.size, dtype=bool)


@dataclass(slots=True)
class _Constraint:
    label_en: str
    label_ko: str
    mask: np.ndarray
    # A firm constraint (a dislike, a sillage ceiling) is never relaxed to fill the list: a
    # shorter list beats a perfume the customer said they cannot wear.
    firm: bool = False


_COLUMNS = ("year", "gender", "longevity", "sillage", "price", "stock", "popularity")
# The code that derives a CatalogIndex: a snapshot saved by other code is derived again.
_INDEX_SOURCES = (Path(__file__).resolve(), Path(text_module.__file__).resolve())
INDEX_FILE = "catalog_index.npz"


class SearchEngine:
    """Parses and ranks queries over one loaded `CatalogIndex`."""

    def __init__(
        self,
        index: CatalogIndex,
        embedder: Embedder,
        lexicon: Lexicon,
        vectorstore: Any = None,
        cache_size: int = 4096,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.lexicon = lexicon
        self._vectorstore = vectorstore
        self._open_vectorstore: Callable[[], Any] | None = None
        self.parser = QueryParser(
            lexicon,
            set(index.brands),
            {note: len(rows) for note, rows in index.notes.items()},
            index.accord_weight,
            embedder.vocabulary(),
        )
        self.batcher = QueryEmbeddingBatcher(embedder, cache_size=cache_size)
        # Where artifacts built from this catalog are kept (FRAGRANCE_HOME/models), when loaded from one.
        self.models_dir: Path | None = None
        self._catalog_digest: str | None = None

    @property
    def catalog_digest(self) -> str:
        """Digest of the catalog's content (see `store.catalog_digest`): what artifacts derived
        from it are keyed by."""
        if self._catalog_digest is None:
            self._catalog_digest = catalog_digest(p.to_json() for p in self.index.perfumes)
        return self._catalog_digest

    @property
    def vectorstore(self) -> Any:
        """The Chroma collection, opened on first use: ranking never needs it (the vectors are in
        `index.embeddings`), and importing Chroma costs a start seconds."""
        if self._vectorstore is None and self._open_vectorstore is not None:
            self._vectorstore = self._open_vectorstore()
        return self._vectorstore

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None) -> SearchEngine:
        """Load what the last `ingest` wrote under FRAGRANCE_HOME.

        The vectors come from the catalog-ordered copy ingest saves beside the catalog; when it is
        missing or stale (a home ingested by an older version), from Chroma, and the copy is saved.
        """
        if settings.blas_threads:
            threadpoolctl.threadpool_limits(limits=settings.blas_threads, user_api="blas")
        perfumes, catalog = CatalogStore(settings.catalog_db).load_with_digest()
        embedder = embedder or embedder_for(settings)
        ids = perfumes.ids
        key = embeddings_key(catalog, embedder.name)
        embeddings = load_embeddings(settings.fragrance_home, ids, key)
        vectorstore = None
        if embeddings is None:
            vectorstore = open_vectorstore(settings.chroma_dir, embedder, embedder.name)
            embeddings = embeddings_from_chroma(vectorstore, ids)
            save_embeddings(settings.fragrance_home, ids, embeddings, key)
        index = CatalogIndex.load_or_build(perfumes, embeddings, settings.fragrance_home / INDEX_FILE, catalog)
        engine = cls(index, embedder, default_lexicon(), vectorstore, settings.embedding_cache_size)
        engine._open_vectorstore = lambda: open_vectorstore(settings.chroma_dir, embedder, embedder.name)
        engine.models_dir = settings.fragrance_home / "models"
        engine._catalog_digest = catalog
        return engine

    # -- public API ---------------------------------------------------------------------
    def parse(self, query: str) -> ParsedQuery:
        """What the text says; explicit filters are kept apart because they are strict."""
        return self.parser.parse(query)

    async def search(
        self,
        query: str,
        top_k: int = 10,
        search_type: SearchType = "hybrid",
        filters: dict[str, Any] | None = None,
    ) -> SearchResponse:
        started = time.perf_counter()
        parsed = self.parse(query)
        text = parsed.text if search_type == "similarity" else parsed.embedding_text()
        vector = await self.batcher.embed(text)
        results, relaxed = await asyncio.to_thread(self._rank, parsed, vector, top_k, search_type, filters)
        return SearchResponse(results, parsed, search_type, relaxed, (time.perf_counter() - started) * 1000)

    def search_sync(
        self,
        query: str,
        top_k: int = 10,
        search_type: SearchType = "hybrid",
        filters: dict[str, Any] | None = None,
    ) -> SearchResponse:
        started = time.perf_counter()
        parsed = self.parse(query)
        text = parsed.text if search_type == "similarity" else parsed.embedding_text()
        vector = self.batcher.embed_sync(text)
        results, relaxed = self._rank(parsed, vector, top_k, search_type, filters)
        return SearchResponse(results, parsed, search_type, relaxed, (time.perf_counter() - started) * 1000)

    def alike(
        self,
        perfume_id: str,
        top_k: int,
        filters: dict[str, Any] | None = None,
        rarity: dict[str, float] | None = None,
        language: str = "en",
    ) -> SearchResponse:
        """The catalog's perfumes most like one of its own, under `filters` (a budget, exclusions): "분위기
        비슷한데 14만원 안쪽으로" after Coco Mademoiselle. Likeness is what the two perfumes' data share, the
        reference's accords weighed by their rank and rarity (patchouli and rose tell Coco Mademoiselle from
        the many citrus openings), blended with how close their descriptions' embeddings are. Never the
        reference itself, nor its own line under another name ("Bleu de Chanel Eau de Parfum")."""
        started = time.perf_counter()
        ix = self.index
        row = ix.by_id.get(perfume_id)
        parsed = ParsedQuery(text="", language=language)
        if row is None:
            return SearchResponse([], parsed, "similarity", [], 0.0)
        reference = ix.perfumes[row]
        weights = accord_weights(reference, rarity)
        total = sum(weights.values()) or 1.0
        shared = np.zeros(ix.size, dtype=np.float32)
        for accord, weight in weights.items():
            present = ix.accord_weight.get(accord)
            if present is not None:
                shared += weight * present
        score = LIKENESS_ACCORDS * shared / total + (1 - LIKENESS_ACCORDS) * (ix.embeddings @ ix.embeddings[row])
        mask = np.ones(ix.size, dtype=bool)
        for c in self._filter_constraints(filters):
            mask &= c.mask
        for other in ix.brands.get(reference.brand, np.zeros(0, dtype=np.int32)):  # the reference among them
            if of_its_line(reference, reference.brand, ix.perfumes[int(other)].name):
                mask[int(other)] = False
        rows = np.flatnonzero(mask)
        top = self._top(score[rows], 2 * top_k) if rows.size else np.zeros(0, dtype=np.int64)
        # The reasons name the accords it shares with the reference, its most telling first.
        parsed.accords = sorted(weights, key=lambda a: -weights[a])[:3]
        groups = [[a] for a in parsed.accords]
        results = self._distinct(
            [self._result(int(rows[j]), float(score[rows[j]]), parsed, groups, []) for j in top], top_k
        )
        return SearchResponse(results, parsed, "similarity", [], (time.perf_counter() - started) * 1000)

    def get(self, perfume_id: str) -> Perfume | None:
        row = self.index.by_id.get(perfume_id)
        return self.index.perfumes[row] if row is not None else None

    # -- filters --------------------------------------------------------------------------
    def _filter_constraints(self, filters: dict[str, Any] | None) -> list[_Constraint]:
        """Explicit API filters: they hold in every result, never padded around."""
        if not filters:
            return []
        ix, lex = self.index, self.lexicon
        explicit = ParsedQuery(text="", language="en")
        explicit.notes = [lex.canonical_note(n) for n in filters.get("notes") or []]
        explicit.exclude_notes = [lex.canonical_note(n) for n in filters.get("exclude_notes") or []]
        explicit.exclude_accords = [lex.canonical_accord(a) for a in filters.get("exclude_accords") or []]
        if filters.get("brand"):
            explicit.brands = self.parser.resolve_brand(filters["brand"]) or [filters["brand"]]
        for name in filters.get("exclude_brands") or []:  # houses ruled out earlier ("no Dior"): still out
            for brand in self.parser.resolve_brand(name) or [name]:
                if brand not in explicit.exclude_brands:
                    explicit.exclude_brands.append(brand)
        explicit.gender = filters.get("gender")
        explicit.year_min, explicit.year_max = filters.get("year_min"), filters.get("year_max")
        if filters.get("longevity_min"):
            explicit.longevity = list(LONGEVITY_LABELS[LONGEVITY_LABELS.index(filters["longevity_min"]) :])
        if filters.get("sillage_min") or filters.get("sillage_max"):
            lo = SILLAGE_LABELS.index(filters.get("sillage_min") or SILLAGE_LABELS[0])
            hi = SILLAGE_LABELS.index(filters.get("sillage_max") or SILLAGE_LABELS[-1])
            explicit.sillage = list(SILLAGE_LABELS[lo : hi + 1])
        out = self._hard_constraints(explicit)
        for name in filters.get("accords") or []:
            accord = lex.canonical_accord(name)
            out.append(
                _Constraint(f"{accord} accord", f"{lex.korean('accord', accord)} 어코드", ix.mask_accord(accord))
            )
        if filters.get("price_max") is not None:
            # Prices are float32: a ceiling beyond its range (a fuzzer's 1e300) means "no ceiling", not a warning.
            with np.errstate(invalid="ignore", over="ignore"):
                mask = ix.price <= float(filters["price_max"])
            out.append(_Constraint(f"under {filters['price_max']:g}", f"{filters['price_max']:g} 이하", mask))
        if filters.get("in_stock"):
            out.append(_Constraint("in stock", "재고 있음", ix.stock > 0))
        excluded = [ix.by_id[pid] for pid in filters.get("exclude_ids") or [] if pid in ix.by_id]
        if excluded:  # perfumes the customer owns or tried ("I already own Sauvage, what else?")
            mask = np.ones(ix.size, dtype=bool)
            mask[excluded] = False
            out.append(_Constraint("not one you own", "보유 향수 제외", mask, firm=True))
        return out

    def _hard_constraints(self, parsed: ParsedQuery) -> list[_Constraint]:
        ix, lex = self.index, self.lexicon
        out: list[_Constraint] = []
        for note in parsed.notes:
            mask = ix.mask_notes([note])
            if note.lower() in parsed.accords:  # a twin: the accord alone also qualifies
                mask |= ix.mask_accord(note.lower())
            out.append(_Constraint(note.lower(), lex.korean("note", note), mask))
        if parsed.exclude_notes:
            for note in parsed.exclude_notes:
                # A disliked note is avoided with its family: White Musk and the musky accord with musk.
                relatives, accords = self.parser.family(note)
                mask = ~ix.mask_notes([note, *relatives])
                for accord in accords:
                    mask &= ~ix.mask_accord(accord)
                out.append(_Constraint(f"no {note.lower()}", f"{lex.korean('note', note)} 없음", mask, firm=True))
        for accord in parsed.exclude_accords:
            # A family word excludes its members too: "no citrus" is no bergamot or lemon either.
            notes, accords = self.parser.accord_family(accord)
            mask = ~ix.mask_accord(accord)
            for other in accords:
                mask &= ~ix.mask_accord(other)
            if notes:
                mask &= ~ix.mask_notes(notes)
            out.append(_Constraint(f"not {accord}", f"{lex.korean('accord', accord)} 아님", mask, firm=True))
        if parsed.brands:
            mask = np.zeros(ix.size, dtype=bool)
            for brand in parsed.brands:
                rows = ix.brands.get(brand)
                if rows is not None:
                    mask[rows] = True
            out.append(_Constraint(" / ".join(parsed.brands), " / ".join(parsed.brands), mask))
        if parsed.exclude_brands:
            # A house ruled out ("please no Dior", "샤넬 말고") holds in every result: never padded back in.
            mask = np.ones(ix.size, dtype=bool)
            for brand in parsed.exclude_brands:
                rows = ix.brands.get(brand)
                if rows is not None:
                    mask[rows] = False
            names = ", ".join(parsed.exclude_brands)
            out.append(_Constraint(f"not {names}", f"{names} 제외", mask, firm=True))
        if parsed.gender:
            mask = np.isin(ix.gender, [GENDER_CODES[g] for g in _GENDER_OK[parsed.gender]])
            out.append(_Constraint(f"for {parsed.gender}", _KO_GENDER[parsed.gender], mask))
        if parsed.year_min is not None or parsed.year_max is not None:
            lo = parsed.year_min if parsed.year_min is not None else -math.inf
            hi = parsed.year_max if parsed.year_max is not None else math.inf
            with np.errstate(invalid="ignore"):
                mask = (ix.year >= lo) & (ix.year <= hi)
            span = f"{parsed.year_min or ''}-{parsed.year_max or ''}"
            out.append(_Constraint(f"year {span}", f"{span}년", mask))
        if parsed.longevity:
            ranks = [LONGEVITY_LABELS.index(x) for x in parsed.longevity]
            out.append(
                _Constraint(
                    parsed.longevity[0] if len(ranks) == 1 else "longevity " + "/".join(parsed.longevity),
                    "지속력 " + "/".join(parsed.longevity),
                    np.isin(ix.longevity, ranks),
                )
            )
        if parsed.sillage:
            ranks = [SILLAGE_LABELS.index(x) for x in parsed.sillage]
            out.append(
                _Constraint(
                    "sillage " + "/".join(parsed.sillage),
                    "확산력 " + "/".join(parsed.sillage),
                    np.isin(ix.sillage, ranks),
                    # a ceiling ("nothing loud", "headaches from strong stuff") is firm; a wish for more is not
                    firm="strong" not in parsed.sillage and "enormous" not in parsed.sillage,
                )
            )
        return out

    # -- ranking --------------------------------------------------------------------------
    def _rank(
        self,
        parsed: ParsedQuery,
        vector: np.ndarray,
        top_k: int,
        search_type: SearchType,
        filters: dict[str, Any] | None,
    ) -> tuple[list[SearchResult], list[str]]:
        ix = self.index
        strict = np.ones(ix.size, dtype=bool)
        for c in self._filter_constraints(filters):
            strict &= c.mask
        if search_type == "similarity":
            # Meaning only: the text's constraints are not applied, explicit filters are.
            similarity = ix.embeddings @ vector
            mask = strict
            top = self._top(np.where(mask, similarity, -np.inf), top_k)
            return [self._result(int(i), float(similarity[i]), parsed, [], []) for i in top if mask[i]], []

        hard = self._hard_constraints(parsed)
        mask = strict.copy()
        for c in hard:
            mask &= c.mask
        relaxed: list[str] = []
        # A liked family word is met by its members too: "gourmand" by a sweet, vanilla or caramel perfume
        # (a catalog may not label a single perfume with the family word itself).
        groups = [[a, *self.parser.accord_family(a)[1]] for a in parsed.accords] + parsed.preferred_accords
        # Preferences narrow the candidates only while enough remain, in this order:
        # named accords, the literal note of a note/accord twin, then mood/season groups.
        # Each stage is tried narrowest first: a season/mood group by its most typical accords (the
        # first listed), then by all of them.
        stages: list[tuple[str, list[np.ndarray]]] = []
        for group in groups[: len(parsed.accords)]:
            family_mask = ix.mask_accord(group[0])
            for member in group[1:]:
                family_mask |= ix.mask_accord(member)
            stages.append((group[0], [ix.mask_accord(group[0]), family_mask]))
        for note in parsed.notes:
            if note.lower() in parsed.accords:
                stages.append((f"note {note.lower()}", [ix.mask_notes([note])]))
        for group in groups[len(parsed.accords) :]:
            core_mask = np.zeros(ix.size, dtype=bool)
            for accord in group[:TYPICAL_ACCORDS]:
                core_mask |= ix.mask_accord(accord)
            group_mask = core_mask.copy()
            for accord in group[TYPICAL_ACCORDS:]:
                group_mask |= ix.mask_accord(accord)
            stages.append((" | ".join(group), [core_mask, group_mask]))
        for label, stage_masks in stages:
            for stage_mask in stage_masks:
                narrowed = mask & stage_mask
                if int(narrowed.sum()) >= top_k:
                    mask = narrowed
                    break
            else:
                relaxed.append(label)

        tokens = ["note:" + key(n) for n in parsed.notes] + ["accord:" + key(a) for a in parsed.accords]
        # Leftover words reach the names only with evidence that a name is meant ("hot", "he" never alone).
        tokens += [w for b in parsed.brands for w in key(b).split()] + self.parser.name_words(parsed)
        lexical = None
        if tokens:
            lexical = ix.bm25.get_scores(tokens)
            peak = float(lexical.max())
            lexical = lexical / peak if peak > 0 else None

        # Score only the candidates: a filtered query touches a few hundred rows, not 38k.
        rows = np.flatnonzero(mask)
        scores = self._score(rows, vector, groups, lexical)
        # Twice as many as asked, for the catalog's twins (one perfume listed twice) to drop out.
        top = self._top(scores, 2 * top_k) if rows.size else np.zeros(0, dtype=np.int64)
        results = self._distinct([self._result(int(rows[j]), float(scores[j]), parsed, groups, []) for j in top], top_k)
        if len(results) < top_k and hard:
            # Fill with the nearest misses: fewest unmet hard constraints, then score.
            everything = self._score(None, vector, groups, lexical)
            unmet = np.zeros(ix.size, dtype=np.int16)
            for c in hard:
                unmet += ~c.mask
            firm = strict.copy()
            for c in hard:
                if c.firm:
                    firm &= c.mask
            candidates = np.flatnonzero(firm & ~mask)
            ranked = candidates[np.lexsort((-everything[candidates], unmet[candidates]))][: 2 * top_k]
            fill = [
                self._result(int(i), float(everything[i]), parsed, groups, [c for c in hard if not c.mask[i]])
                for i in ranked
            ]
            results = self._distinct(results + fill, top_k)
        return results, relaxed

    @staticmethod
    def _distinct(results: list[SearchResult], top_k: int) -> list[SearchResult]:
        """The first `top_k` of `results`, each perfume once: a large catalog lists some perfumes twice
        (two Fragrantica pages of Demeter's Vetiver, same notes), and a customer shown the same card twice
        is shown one perfume fewer."""
        seen: set[tuple[str, str, int | None]] = set()
        out = []
        for result in results:
            twin = (result.brand.casefold(), result.name.casefold(), result.year)
            if twin not in seen:
                seen.add(twin)
                out.append(result)
        return out[:top_k]

    def _score(
        self, rows: np.ndarray | None, vector: np.ndarray, groups: list[list[str]], lexical: np.ndarray | None
    ) -> np.ndarray:
        """Fused score of `rows` (all perfumes when None), in the order given."""
        ix = self.index

        def take(values: np.ndarray) -> np.ndarray:
            return values if rows is None else values[rows]

        score = WEIGHTS["vector"] * (take(ix.embeddings) @ vector) + WEIGHTS["popularity"] * take(ix.popularity)
        if groups:
            preference = np.zeros(score.shape[0], dtype=np.float32)
            for group in groups:
                best = np.zeros(score.shape[0], dtype=np.float32)
                for accord in group:
                    weights = ix.accord_weight.get(accord)
                    if weights is not None:
                        np.maximum(best, take(weights), out=best)
                preference += best
            score += WEIGHTS["preference"] * preference / len(groups)
        if lexical is not None:
            score += WEIGHTS["lexical"] * take(lexical)
        return score

    @staticmethod
    def _top(scores: np.ndarray, k: int) -> np.ndarray:
        k = min(k, scores.size)
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.argsort(-scores[part], kind="stable")]

    def _result(
        self, i: int, score: float, parsed: ParsedQuery, groups: list[list[str]], misses: list[_Constraint]
    ) -> SearchResult:
        p = self.index.perfumes[i]
        return SearchResult(
            id=p.id,
            brand=p.brand,
            name=p.name,
            year=p.year,
            gender=p.gender,
            accords=p.accords,
            notes=p.notes,
            longevity=p.longevity,
            sillage=p.sillage,
            score=round(score, 4),
            reason=self._reason(p, parsed, groups, misses),
            price=p.price,
            currency=p.currency,
            size_ml=p.size_ml,
            stock=p.stock,
            sample_data=p.sample_data,
            misses=[m.label_en for m in misses],
        )

    def _reason(self, p: Perfume, parsed: ParsedQuery, groups: list[list[str]], misses: list[_Constraint]) -> str:
        ko = parsed.language == "ko"
        lex = self.lexicon
        matched: list[str] = []
        for note in parsed.notes:
            if note in p.notes:
                matched.append(lex.korean("note", note) if ko else note.lower())
        accords_seen: list[str] = []
        for group in groups:
            for accord in group:
                if accord in p.accords and accord not in accords_seen:
                    accords_seen.append(accord)
                    break
        for accord in accords_seen:
            matched.append(f"{lex.korean('accord', accord)} 어코드" if ko else f"{accord} accord")
        if parsed.brands and p.brand in parsed.brands:
            matched.append(p.brand)
        if parsed.gender and p.gender:
            matched.append(_KO_GENDER[p.gender] if ko else f"for {p.gender}" if p.gender != "unisex" else "unisex")
        if (parsed.year_min or parsed.year_max) and p.year:
            matched.append(f"{p.year}년" if ko else str(p.year))
        if parsed.longevity and p.longevity:
            matched.append(f"지속력: {_KO_LABEL.get(p.longevity, p.longevity)}" if ko else p.longevity)
        if parsed.sillage and p.sillage:
            matched.append(f"확산력: {_KO_LABEL.get(p.sillage, p.sillage)}" if ko else f"{p.sillage} sillage")
        for note in parsed.exclude_notes:
            matched.append(f"{lex.korean('note', note)} 없음" if ko else f"no {note.lower()}")
        if misses:
            missed = ", ".join(m.label_ko if ko else m.label_en for m in misses)
            prefix = "일치: " if ko else "matches: "
            head = prefix + ", ".join(matched) + "; " if matched else ""
            return head + (f"조건 미충족: {missed}" if ko else f"misses: {missed}")
        if not matched:
            return "검색어와 의미가 비슷한 향" if ko else "close in meaning to your query"
        return ("일치: " if ko else "matches: ") + ", ".join(matched)
