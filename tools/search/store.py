"""Where the ingested catalog lives: a SQLite table of perfumes and the Chroma collection.

SQLite holds the normalised records (the catalog of record for product look-ups);
Chroma holds one embedding per perfume, keyed by catalog id, with a content hash so a
re-ingest embeds only what changed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from core.errors import IndexMissingError
from tools.search.catalog import Perfume

COLLECTION = "perfumes"


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
        if not self.exists():
            raise IndexMissingError(
                f"No catalog has been ingested into {self.path.parent} yet. "
                "Run `fragrance-ai ingest --catalog PATH` first."
            )
        with closing(self._connect()) as conn:
            return [Perfume.from_json(row[0]) for row in conn.execute("SELECT data FROM perfumes ORDER BY rowid")]

    def meta(self) -> dict[str, object]:
        if not self.path.exists():
            return {}
        with closing(self._connect()) as conn:
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}


def chroma_client(path: Path) -> chromadb.ClientAPI:
    """A persistent Chroma client with telemetry off: the service makes no outside calls."""
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def open_vectorstore(path: Path, embeddings: Embeddings, model_name: str) -> Chroma:
    """The perfume collection; recreated empty when it was built with another model."""
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
