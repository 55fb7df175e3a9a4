"""Search benchmark: POST /api/v1/search/semantic under concurrent load vs the in-process floor.

The floor is the least any search must cost: one query embedding plus one Chroma
vector lookup, in-process, one query at a time. The server runs as its own process
(`fragrance-ai serve`) on loopback and is driven by an async client in this one, so
both share the machine's cores, as they would on a one-box deployment. The server runs
with its query-embedding cache switched off, so every request pays for its embedding.

Run: `fragrance-ai bench search` (after ingesting the catalog to measure).
"""

from __future__ import annotations

import itertools
import json
import random
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.common import machine, percentiles, plot, print_summary, serve_and_load
from core.errors import FragranceError
from core.settings import get_settings
from tools.search.embeddings import embedder_for
from tools.search.store import CatalogStore, open_vectorstore

NOTES_EN = [
    "rose",
    "vanilla",
    "oud",
    "bergamot",
    "vetiver",
    "jasmine",
    "sandalwood",
    "lavender",
    "iris",
    "musk",
    "patchouli",
    "amber",
    "leather",
    "tonka bean",
    "neroli",
    "fig",
    "pink pepper",
    "cardamom",
]
NOTES_KO = [
    "장미",
    "바닐라",
    "오우드",
    "베르가못",
    "베티버",
    "재스민",
    "샌달우드",
    "라벤더",
    "아이리스",
    "머스크",
    "패출리",
    "앰버",
    "가죽",
    "통카빈",
    "네롤리",
    "무화과",
    "핑크 페퍼",
    "카다멈",
]
FRAMES_EN = [
    "{a} perfume with {n} for {g}",
    "something {a} with {n}, no {x}",
    "{n} and {m} {a} scent",
    "long lasting {a} fragrance with {n}",
    "{a} {n} cologne after 2010",
    "fresh summer scent with {n}",
]
FRAMES_KO = [
    "{n} 들어간 {a} {g} 향수",
    "{x} 없는 {a} 향수 추천해 주세요, {n} 좋아해요",
    "{n}랑 {m} 들어간 향수",
    "오래 지속되는 {a} 향수, {n} 노트",
    "2010년 이후 나온 {n} 향수",
    "봄에 어울리는 {n} 향수",
]
ACCORDS_EN = ["woody", "floral", "citrus", "sweet", "powdery", "fresh", "warm spicy", "green"]
ACCORDS_KO = ["우디한", "플로럴", "시트러스", "달콤한", "파우더리한", "상쾌한", "스파이시한", "그린"]
GENDERS = (["women", "men", "her", "him"], ["여자", "남자", "여성", "남성"])


PATH = "/api/v1/search/semantic"


def bodies(queries: list[str]) -> list[dict[str, Any]]:
    return [{"query": q, "top_k": 10} for q in queries]


def query_pool(size: int, seed: int = 7) -> list[str]:
    """Distinct, realistic queries in both languages (half each)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    langs = itertools.cycle(
        [(FRAMES_EN, NOTES_EN, ACCORDS_EN, GENDERS[0]), (FRAMES_KO, NOTES_KO, ACCORDS_KO, GENDERS[1])]
    )
    while len(out) < size:
        frames, notes, accords, genders = next(langs)
        n, m, x = rng.sample(notes, 3)
        text = rng.choice(frames).format(n=n, m=m, x=x, a=rng.choice(accords), g=rng.choice(genders))
        text = f"{text} #{len(out)}" if text in seen else text
        seen.add(text)
        out.append(text)
    return out


def measure_floor(queries: list[str]) -> dict[str, Any]:
    """One embedding + one Chroma query, sequential, in-process."""
    settings = get_settings()
    embedder = embedder_for(settings)
    store = open_vectorstore(settings.chroma_dir, embedder, embedder.name)
    collection = store._collection
    for text in queries[:20]:
        collection.query(query_embeddings=embedder.encode([text]), n_results=10)
    samples = []
    for text in tqdm(queries, desc="floor (embed + vector lookup)", unit="query"):
        started = time.perf_counter()
        vector = embedder.encode([text])
        collection.query(query_embeddings=vector, n_results=10)
        samples.append((time.perf_counter() - started) * 1000)
    return {"queries": len(samples), "latency_ms": percentiles(samples), "samples_ms": samples}


def run_search_benchmark(requests: int, concurrency: list[int], out_dir: Path) -> dict[str, Any]:
    settings = get_settings()
    meta = CatalogStore(settings.catalog_db).meta()
    if not meta:
        raise FragranceError(f"no catalog ingested in {settings.fragrance_home}; run `fragrance-ai ingest` first.")
    pool = query_pool(800 + requests * len(concurrency))
    floor = measure_floor(pool[:300])
    sequential, load = serve_and_load(PATH, bodies(pool[300:]), requests, concurrency)
    result: dict[str, Any] = {
        "benchmark": "search",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "path": PATH,
        "catalog": meta.get("catalog"),
        "catalog_perfumes": meta.get("perfumes"),
        "floor": floor,
        "sequential": sequential,
        "load": load,
        "ratios": {
            "sequential_p50_over_floor_p50": sequential["latency_ms"]["p50"] / floor["latency_ms"]["p50"],
            **{
                f"load{run['concurrency']}_p50_over_floor_p50": run["latency_ms"]["p50"] / floor["latency_ms"]["p50"]
                for run in load
            },
        },
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "search.json").write_text(json.dumps(result, indent=2))
    plot(
        result,
        out_dir / "search.png",
        floor_label="floor: embed + vector lookup",
        title=f"{result['catalog_perfumes']} perfumes, distinct queries, no cache",
        target_p50_ms=20,
    )
    print_summary(result, out_dir / "search.json", out_dir / "search.png")
    return result
