"""`fragrance-ai ingest`: validate a catalog CSV and bring the search index up to date."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from core.settings import Settings
from tools.search.catalog import RowProblem, read_catalog
from tools.search.embeddings import Embedder, embedder_for
from tools.search.lexicon import default_lexicon
from tools.search.store import CatalogStore, open_vectorstore

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


def ingest_catalog(
    catalog: Path, settings: Settings, *, embedder: Embedder | None = None, progress: bool = True
) -> IngestReport:
    """Read `catalog`, embed new or changed perfumes, drop removed ones, replace the store.

    Chroma is brought up to date before the SQLite catalog is replaced, so an ingest that
    dies half-way leaves the previous catalog searchable and the next run resumes.
    """
    started = time.perf_counter()
    result = read_catalog(catalog, default_lexicon())
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

    CatalogStore(settings.catalog_db).replace(
        result.perfumes,
        {
            "catalog": str(catalog.resolve()),
            "perfumes": len(result.perfumes),
            "embedding_model": embedder.name,
            "ingested_at": time.time(),
        },
    )
    return IngestReport(
        catalog=catalog,
        rows_read=result.rows_read,
        perfumes=len(result.perfumes),
        embedded=len(changed),
        unchanged=len(result.perfumes) - len(changed),
        deleted=len(removed),
        seconds=time.perf_counter() - started,
        problems=result.problems,
    )
