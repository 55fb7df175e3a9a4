"""What the benchmarks share: the server process, the load driver and the statistics."""

from __future__ import annotations

import asyncio
import os
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


def percentiles(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples)
    return {
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "p99": float(np.percentile(arr, 99)),
        "mean": float(arr.mean()),
    }


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


async def drive(port: int, path: str, bodies: list[dict[str, Any]], concurrency: int, label: str) -> dict[str, Any]:
    """POST every body once to `path` with `concurrency` requests in flight; per-request latency."""
    samples: list[float] = []
    errors = 0
    feed = iter(bodies)
    bar = tqdm(total=len(bodies), desc=label, unit="req")
    url = f"http://127.0.0.1:{port}{path}"
    # aiohttp rather than httpx: the client shares the two cores with the server, and
    # aiohttp spends about half the CPU per request.
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:

        async def worker() -> None:
            nonlocal errors
            for payload in feed:
                started = time.perf_counter()
                async with client.post(url, json=payload) as response:
                    await response.read()
                elapsed = (time.perf_counter() - started) * 1000
                if response.status != 200:
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


def plot(result: dict[str, Any], path: Path, *, floor_label: str, title: str, target_p50_ms: float) -> None:
    """Latency CDFs and p50/p95/p99 bars: the floor next to each load level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    curves = [(floor_label, result["floor"]), ("REST, 1 in flight", result["sequential"])]
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
    right.axhline(target_p50_ms, color="tab:red", linestyle="--", linewidth=1, label=f"p50 target {target_p50_ms:g} ms")
    right.set_ylabel("ms")
    right.set_title(title)
    right.legend()
    fig.suptitle(f"POST {result['path']} vs the in-process floor, {result['machine']['cpus']} CPUs")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def machine() -> dict[str, str]:
    import platform

    return {"cpus": str(os.cpu_count()), "python": platform.python_version(), "platform": platform.platform()}


def print_summary(result: dict[str, Any], *written: Path) -> None:
    """The figures worth quoting, as JSON on stdout, and where the full results went."""
    import json

    floor = result["floor"]["latency_ms"]["p50"]
    summary = {
        "floor_p50_ms": round(floor, 2),
        "sequential_p50_ms": round(result["sequential"]["latency_ms"]["p50"], 2),
        "load": [
            {
                "concurrency": run["concurrency"],
                **{k: round(v, 2) for k, v in run["latency_ms"].items()},
                "throughput_rps": round(run["throughput_rps"], 1),
                "errors": run["errors"],
                "p50_over_floor": round(run["latency_ms"]["p50"] / floor, 2),
            }
            for run in result["load"]
        ],
    }
    print(json.dumps(summary, indent=2))
    print("wrote " + " and ".join(str(p) for p in written))


def serve_and_load(path: str, bodies: list[dict[str, Any]], requests: int, concurrency: list[int]) -> tuple[Any, Any]:
    """Start `fragrance-ai serve`, warm it up on bodies[:200], measure one request in flight on
    bodies[200:500], then each concurrency level on the next `requests` bodies; stop it.

    Returns (the one-in-flight run, the list of load runs)."""
    port = free_port()
    server = start_server(port)
    try:
        asyncio.run(drive(port, path, bodies[:200], max(concurrency), "warm-up"))
        sequential = asyncio.run(drive(port, path, bodies[200:500], 1, "REST, 1 in flight"))
        load = []
        for level, start in zip(concurrency, range(500, len(bodies), requests), strict=False):
            chunk = bodies[start : start + requests]
            load.append(asyncio.run(drive(port, path, chunk, level, f"REST, {level} in flight")))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return sequential, load
