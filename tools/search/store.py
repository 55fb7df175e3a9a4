"""Where the ingested catalog lives: a SQLite table of perfumes and the Chroma collection.

SQLite holds the normalised records (the catalog of record for product look-ups);
Chroma holds one embedding per perfume, keyed by catalog id, with a content hash so a
re-ingest embeds only what changed. Ingest also saves the collection's vectors in catalog
order (`embeddings.npz`, keyed by the catalog's digest and the model), which is what a
start loads: Chroma is opened only to ingest, or when that copy is missing or stale.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import IndexMissingError
from tools.search.artifacts import digest, load_arrays, save_arrays
from tools.search.catalog import Perfume, PerfumeRows

if TYPE_CHECKING:  # chromadb takes seconds to import (jsonschema builds a grammar): only ingest needs it
    import chromadb
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings

COLLECTION = "perfumes"
EMBEDDINGS_FILE = "embeddings.npz"  # the collection's vectors in catalog order, for a fast start


class CatalogStore:
    """The normalised catalog in one SQLite file, replaced as a whole on each ingest."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path)
        conn.execute("CREATE TABLE IF NOT EXISTS perfumes (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        return conn

    def exists(self) -> bool:
        if not self.path.exists():
            return False
        with closing(self._connect()) as conn:
            return conn.execute("SELECT 1 FROM perfumes LIMIT 1").fetchone() is not None

    def replace(self, perfumes: Iterable[Perfume], meta: dict[str, object]) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM perfumes")
            conn.executemany("INSERT INTO perfumes (id, data) VALUES (?, ?)", ((p.id, p.to_json()) for p in perfumes))
            conn.execute("DELETE FROM meta")
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                ((k, json.dumps(v, ensure_ascii=False)) for k, v in meta.items()),
            )

    def load(self) -> list[Perfume]:
        return list(self.load_with_digest()[0])

    def load_with_digest(self) -> tuple[PerfumeRows, str]:
        """The perfumes (read from their records as they are first used), and the digest of the
        catalog's content (`catalog_digest`): what artifacts derived from the catalog are keyed by."""
        if not self.exists():
            raise IndexMissingError(
                f"No catalog has been ingested into {self.path.parent} yet. "
                "Run `fragrance-ai ingest --catalog PATH` first."
            )
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT id, data FROM perfumes ORDER BY rowid").fetchall()
        ids, records = [row[0] for row in rows], [row[1] for row in rows]
        return PerfumeRows(ids, records), catalog_digest(records)

    def meta(self) -> dict[str, object]:
        if not self.path.exists():
            return {}
        with closing(self._connect()) as conn:
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}


def catalog_digest(rows: Iterable[str]) -> str:
    """Digest of a catalog as stored: its perfumes' JSON records, in order."""
    return digest(rows)


def embeddings_key(catalog: str, model_name: str) -> str:
    return digest(["embeddings/1", catalog, model_name])


def save_embeddings(home: Path, ids: Sequence[str], matrix: np.ndarray, key: str) -> bool:
    """The catalog's vectors, in catalog order, beside the catalog (see `load_embeddings`)."""
    return save_arrays(home / EMBEDDINGS_FILE, {"ids": np.asarray(ids, dtype=str), "matrix": matrix}, key)


def load_embeddings(home: Path, ids: Sequence[str], key: str) -> np.ndarray | None:
    """The vectors `save_embeddings` wrote for this catalog and model (`key`); None when they are
    absent, stale or unreadable, and the caller reads them from Chroma instead."""
    arrays = load_arrays(home / EMBEDDINGS_FILE, key)
    if arrays is None or arrays["ids"].tolist() != list(ids):
        return None
    matrix = arrays["matrix"]
    return matrix if matrix.dtype == np.float32 and matrix.shape[0] == len(ids) else None


def embeddings_from_chroma(store: Chroma, ids: Sequence[str]) -> np.ndarray:
    """The stored vector of each id, in the order given; IndexMissingError when any is missing."""
    stored = store.get(include=["embeddings"])
    row_of = {pid: i for i, pid in enumerate(stored["ids"])}
    missing = [pid for pid in ids if pid not in row_of]
    if missing:
        raise IndexMissingError(
            f"The search index lacks {len(missing)} perfumes of the catalog "
            f"(first: {missing[0]}); run `fragrance-ai ingest` again."
        )
    matrix = np.asarray(stored["embeddings"], dtype=np.float32)
    return matrix[[row_of[pid] for pid in ids]]


def chroma_client(path: Path) -> chromadb.ClientAPI:
    """A persistent Chroma client with telemetry off: the service makes no outside calls."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def open_vectorstore(path: Path, embeddings: Embeddings, model_name: str) -> Chroma:
    """The perfume collection; recreated empty when it was built with another model."""
    from langchain_chroma import Chroma

    client = chroma_client(path)
    existing = {c.name for c in client.list_collections()}
    if COLLECTION in existing:
        collection = client.get_collection(COLLECTION)
        if (collection.metadata or {}).get("embedding_model") != model_name:
            client.delete_collection(COLLECTION)
    return Chroma(
        collection_name=COLLECTION,
        embedding_function=embeddings,
        client=client,
        collection_metadata={"hnsw:space": "cosine", "embedding_model": model_name},
    )
