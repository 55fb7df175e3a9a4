"""Search benchmark: POST /api/v1/search/semantic under concurrent load vs the in-process floor.

The floor is the least any search must cost: one query embedding plus one Chroma
vector lookup, in-process, one query at a time. The server runs as its own process
(`fragrance-ai serve`) on loopback and is driven by an async client in this one, so
both share the machine's cores, as they would on a one-box deployment. The server runs
with its query-embedding cache switched off, so every request pays for its embedding.

Run: `fragrance-ai bench search` (after ingesting the catalog to measure).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
from tqdm import tqdm

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


def percentiles(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples)
    return {
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "p99": float(np.percentile(arr, 99)),
        "mean": float(arr.mean()),
    }


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    # No query-embedding cache: the benchmark measures the cost of new queries only.
    env = {**os.environ, "LOG_LEVEL": "warning", "EMBEDDING_CACHE_SIZE": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "channels.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise FragranceError(f"the server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise FragranceError("the server did not become ready within 180 s")


async def drive(port: int, queries: list[str], concurrency: int, label: str) -> dict[str, Any]:
    """Send every query once with `concurrency` requests in flight; per-request latency."""
    samples: list[float] = []
    errors = 0
    feed = iter(queries)
    bar = tqdm(total=len(queries), desc=label, unit="req")
    url = f"http://127.0.0.1:{port}/api/v1/search/semantic"
    # aiohttp rather than httpx: the client shares the two cores with the server, and
    # aiohttp spends about half the CPU per request.
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:

        async def worker() -> None:
            nonlocal errors
            for text in feed:
                started = time.perf_counter()
                async with client.post(url, json={"query": text, "top_k": 10}) as response:
                    body = await response.read()
                elapsed = (time.perf_counter() - started) * 1000
                if response.status != 200 or b'"results":[]' in body:
                    errors += 1
                samples.append(elapsed)
                bar.update()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    bar.close()
    return {
        "requests": len(samples),
        "concurrency": concurrency,
        "errors": errors,
        "seconds": wall,
        "throughput_rps": len(samples) / wall,
        "latency_ms": percentiles(samples),
        "samples_ms": samples,
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    curves = [("floor: embed + vector lookup", result["floor"]), ("REST, 1 in flight", result["sequential"])]
    curves += [(f"REST, {run['concurrency']} in flight", run) for run in result["load"]]
    for label, run in curves:
        samples = np.sort(np.asarray(run["samples_ms"]))
        left.plot(samples, np.linspace(0, 1, samples.size), label=label)
    left.set_xlabel("latency (ms)")
    left.set_ylabel("share of requests")
    worst = max(float(np.percentile(run["samples_ms"], 99.5)) for _, run in curves)
    left.set_xlim(0, worst * 1.1)
    left.set_title("Latency distribution")
    left.legend()
    left.grid(alpha=0.3)
    names = ["floor"] + [f"{run['concurrency']} in flight" for run in result["load"]]
    x = np.arange(len(names))
    for offset, pct in ((-0.25, "p50"), (0.0, "p95"), (0.25, "p99")):
        values = [result["floor"]["latency_ms"][pct]] + [run["latency_ms"][pct] for run in result["load"]]
        bars = right.bar(x + offset, values, width=0.25, label=pct)
        right.bar_label(bars, fmt="%.1f", fontsize=8)
    right.set_xticks(
        x,
        [
            f"{n}\n{r}"
            for n, r in zip(names, [""] + [f"{run['throughput_rps']:.0f} req/s" for run in result["load"]], strict=True)
        ],
    )
    right.axhline(20, color="tab:red", linestyle="--", linewidth=1, label="p50 target 20 ms")
    right.set_ylabel("ms")
    right.set_title(f"{result['catalog_perfumes']} perfumes, distinct queries, no cache")
    right.legend()
    fig.suptitle("POST /api/v1/search/semantic vs the in-process floor, " + result["machine"]["cpus"] + " CPUs")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_search_benchmark(requests: int, concurrency: list[int], out_dir: Path) -> dict[str, Any]:
    settings = get_settings()
    meta = CatalogStore(settings.catalog_db).meta()
    if not meta:
        raise FragranceError(f"no catalog ingested in {settings.fragrance_home}; run `fragrance-ai ingest` first.")
    pool = query_pool(800 + requests * len(concurrency))
    floor = measure_floor(pool[:300])
    port = free_port()
    server = start_server(port)
    try:
        asyncio.run(drive(port, pool[300:500], max(concurrency), "warm-up"))
        sequential = asyncio.run(drive(port, pool[500:800], 1, "REST, 1 in flight"))
        load = []
        for level, start in zip(concurrency, range(800, len(pool), requests), strict=False):
            queries = pool[start : start + requests]
            load.append(asyncio.run(drive(port, queries, level, f"REST, {level} in flight")))
    finally:
        server.terminate()
        server.wait(timeout=30)
    result: dict[str, Any] = {
        "benchmark": "search",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": str(os.cpu_count()), "python": platform.python_version(), "platform": platform.platform()},
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
    plot(result, out_dir / "search.png")
    summary = {
        "floor_p50_ms": round(floor["latency_ms"]["p50"], 2),
        "sequential_p50_ms": round(sequential["latency_ms"]["p50"], 2),
        "load": [
            {
                "concurrency": run["concurrency"],
                **{k: round(v, 2) for k, v in run["latency_ms"].items()},
                "throughput_rps": round(run["throughput_rps"], 1),
                "errors": run["errors"],
                "p50_over_floor": round(run["latency_ms"]["p50"] / floor["latency_ms"]["p50"], 2),
            }
            for run in load
        ],
    }
    print(json.dumps(summary, indent=2))
    print(f"wrote {out_dir / 'search.json'} and {out_dir / 'search.png'}")
    return result
