"""Recipe benchmark: POST /api/v1/generate/recipe (compose plus validate) under load.

The floor is the same work in-process, one brief at a time: `Composer.compose`, which
validates what it composes. Every request carries a distinct brief (families, moods,
seasons, notes and seeds drawn from fixed lists with a fixed seed), half of them Korean.

Run: `fragrance-ai bench recipe`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.common import machine, percentiles, plot, print_summary, serve_and_load
from core.settings import get_settings
from graphs.runtime import open_runtime
from tools.perfumery.composition import Brief, Composer

PATH = "/api/v1/generate/recipe"
KO: dict[str, list[str | None]] = {
    "family": ["플로럴", "우디", "시트러스", "프레시", "앰버", "구르망", "그린", "프루티", "머스크"],
    "mood": ["로맨틱", "포근한", "우아한", "섹시한", "차분한", None],
    "season": ["봄", "여름", "가을", "겨울", None],
    "intensity": ["가벼운", "보통", "진한"],
    "notes": ["장미", "바닐라", "베르가못", "머스크", "재스민", "샌달우드", "라벤더", "무화과"],
}
EN: dict[str, list[str | None]] = {
    "family": ["floral", "woody", "citrus", "fresh", "amber", "gourmand", "green", "fruity", "musky"],
    "mood": ["romantic", "cozy", "elegant", "sexy", "calm", None],
    "season": ["spring", "summer", "autumn", "winter", None],
    "intensity": ["light", "moderate", "strong"],
    "notes": ["rose", "vanilla", "bergamot", "musk", "jasmine", "sandalwood", "lavender", "fig"],
}


def brief_pool(size: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for n in range(size):
        words = KO if n % 2 else EN
        liked, disliked = rng.sample(words["notes"], 2)
        body = {
            "fragrance_family": rng.choice(words["family"]),
            "mood": rng.choice(words["mood"]),
            "season": rng.choice(words["season"]),
            "intensity": rng.choice(words["intensity"]),
            "liked_notes": [liked],
            "disliked_notes": [disliked],
            "seed": n,  # distinct briefs: no two requests compose the same formula
        }
        out.append({k: v for k, v in body.items() if v is not None})
    return out


async def _composer() -> Composer:
    """The composer as the server builds it (the one composition root)."""
    async with open_runtime(get_settings(), require_search=False) as runtime:
        return runtime.composer


def measure_floor(briefs: list[dict[str, Any]]) -> dict[str, Any]:
    composer = asyncio.run(_composer())
    samples = []
    for body in tqdm(briefs, desc="floor (compose + validate)", unit="brief"):
        brief = Brief(**body)
        started = time.perf_counter()
        composer.compose(brief)
        samples.append((time.perf_counter() - started) * 1000)
    return {"briefs": len(samples), "latency_ms": percentiles(samples), "samples_ms": samples}


def run_recipe_benchmark(requests: int, concurrency: list[int], out_dir: Path) -> dict[str, Any]:
    pool = brief_pool(800 + requests * len(concurrency))
    floor = measure_floor(pool[:300])
    sequential, load = serve_and_load(PATH, pool[300:], requests, concurrency)
    result: dict[str, Any] = {
        "benchmark": "recipe",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "path": PATH,
        "floor": floor,
        "sequential": sequential,
        "load": load,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "recipe.json").write_text(json.dumps(result, indent=2))
    plot(
        result,
        out_dir / "recipe.png",
        floor_label="floor: compose + validate in-process",
        title="distinct briefs, half Korean",
        target_p50_ms=10,
    )
    print_summary(result, out_dir / "recipe.json", out_dir / "recipe.png")
    return result
