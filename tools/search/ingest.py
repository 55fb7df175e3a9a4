"""`fragrance-ai ingest`: validate a catalog CSV and bring the search index up to date.

Ingest is also where everything a replica derives from the catalog is built, once: the
vectors in catalog order, the catalog index snapshot, the perfume names and the trained
intent classifier (`prepare_start_up`). A start loads them; when one is missing or was
built from other inputs, the start builds and saves it instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from core.settings import Settings
from tools.search.catalog import RowProblem, read_catalog
from tools.search.embeddings import Embedder, embedder_for
from tools.search.lexicon import default_lexicon
from tools.search.repair import Repairer, RepairReport, load_spellings
from tools.search.store import (
    CatalogStore,
    catalog_digest,
    embeddings_from_chroma,
    embeddings_key,
    open_vectorstore,
    save_embeddings,
)

log = logging.getLogger(__name__)

UPSERT_CHUNK = 256


@dataclass(slots=True)
class IngestReport:
    catalog: Path
    rows_read: int
    perfumes: int
    embedded: int
    unchanged: int
    deleted: int
    seconds: float
    problems: list[RowProblem] = field(default_factory=list)
    # Names, brands and notes whose accented letters were lost, repaired (by source), and what
    # still looks damaged (see tools.search.repair).
    repairs: RepairReport = field(default_factory=RepairReport)


def ingest_catalog(
    catalog: Path,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: bool = True,
    prepare: bool = True,
    spellings: Path | None = None,
) -> IngestReport:
    """Read `catalog`, embed new or changed perfumes, drop removed ones, replace the store.

    Chroma is brought up to date before the SQLite catalog is replaced, so an ingest that
    dies half-way leaves the previous catalog searchable and the next run resumes.
    With `prepare`, what a replica loads at start from this catalog is built too (see
    `prepare_start_up`), so that the first start after an ingest is as quick as the next.
    Names whose accented letters were lost are repaired from the curated word list and the
    brand lexicon, and from `spellings` (another export of the same perfumes) when given.
    """
    started = time.perf_counter()
    lexicon = default_lexicon()
    repairer = Repairer(lexicon, spellings=load_spellings(spellings) if spellings is not None else None)
    result = read_catalog(catalog, lexicon, repairer)
    embedder = embedder or embedder_for(settings)
    store = open_vectorstore(settings.chroma_dir, embedder, embedder.name)

    existing = store.get(include=["metadatas"])
    known = {pid: (meta or {}).get("hash") for pid, meta in zip(existing["ids"], existing["metadatas"], strict=True)}
    wanted = {p.id: p for p in result.perfumes}
    changed = [p for p in result.perfumes if known.get(p.id) != p.content_hash()]
    removed = [pid for pid in known if pid not in wanted]

    with tqdm(
        total=len(changed), desc="Embedding perfumes", unit="perfume", disable=not progress or not changed
    ) as bar:
        for start in range(0, len(changed), UPSERT_CHUNK):
            chunk = changed[start : start + UPSERT_CHUNK]
            store.add_texts(
                texts=[p.embedding_text() for p in chunk],
                metadatas=[{"brand": p.brand, "name": p.name, "hash": p.content_hash()} for p in chunk],
                ids=[p.id for p in chunk],
            )
            bar.update(len(chunk))
    for start in range(0, len(removed), 5000):
        store.delete(ids=removed[start : start + 5000])

    # What a replica would otherwise rebuild at every start is built here, once: the vectors in
    # catalog order (before the catalog is replaced: a stale copy is never taken for the new one).
    ids = [p.id for p in result.perfumes]
    key = embeddings_key(catalog_digest(p.to_json() for p in result.perfumes), embedder.name)
    save_embeddings(settings.fragrance_home, ids, embeddings_from_chroma(store, ids), key)
    CatalogStore(settings.catalog_db).replace(
        result.perfumes,
        {
            "catalog": str(catalog.resolve()),
            "perfumes": len(result.perfumes),
            "embedding_model": embedder.name,
            "ingested_at": time.time(),
            "repairs": (result.repairs or RepairReport()).to_dict(),
        },
    )
    if prepare:
        try:
            prepare_start_up(settings, embedder)
        except Exception as exc:  # the catalog is in; the first start builds what could not be built here
            log.warning("start-up artifacts not built (%s); the first start builds them", exc)
    return IngestReport(
        catalog=catalog,
        rows_read=result.rows_read,
        perfumes=len(result.perfumes),
        embedded=len(changed),
        unchanged=len(result.perfumes) - len(changed),
        deleted=len(removed),
        seconds=time.perf_counter() - started,
        problems=result.problems,
        repairs=result.repairs or RepairReport(),
    )


def prepare_start_up(settings: Settings, embedder: Embedder) -> None:
    """Build the start-up artifacts of the catalog just ingested: loading the engine saves its
    vectors if needed, and building the NLU trains and saves the intent classifier for this
    catalog (its domain signals read the catalog's perfume names).

    The NLU is a role above the search tools; it is imported here, at call time, because
    ingest is the one step that owns everything derived from a catalog.
    """
    from agents.nlu import NLU
    from tools.perfumery.database import perfumery_for
    from tools.search.engine import SearchEngine

    engine = SearchEngine.load(settings, embedder=embedder)
    NLU.build(embedder, engine, perfumery_for(settings.fragrance_home).materials)
