"""Chat benchmark: turn latency of the graph on the embedded roles, and the graph's own
overhead per turn when the three roles are chat models of fixed latency.

Turns go through the turn service (lock, memory, transcript) on embedded stores in a scratch
folder. The overhead run replaces the Ollama models with fakes that sleep a fixed time per call
and answer from a script (intent JSON, one tool call, then a reply), so that overhead =
turn time - time spent inside model calls. Utterances are the held-out NLU evaluation set.

Run: `fragrance-ai bench chat`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from tqdm import tqdm

from agents.evaluation import DEFAULT_EVAL, load_eval
from agents.registry import ModelRegistry
from bench.common import machine, percentiles
from core.settings import get_settings
from graphs.events import HandoffRequested
from graphs.inbound import Inbound
from graphs.runtime import open_runtime
from graphs.service import TurnService


class FixedLatencyModel(FakeMessagesListChatModel):
    """Sleeps `latency_s` per call, then answers the next scripted message; counts its time."""

    latency_s: float = 0.05
    spent_s: float = 0.0

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
        async def parse(messages: Any) -> Any:
            return schema.model_validate_json((await self.ainvoke(messages)).content)

        return RunnableLambda(lambda _: None, afunc=parse)

    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        await asyncio.sleep(self.latency_s)
        result = await super()._agenerate(*args, **kwargs)
        self.spent_s += time.perf_counter() - started
        return result


def _models(latency_s: float) -> dict[str, FixedLatencyModel]:
    # A tool that costs next to nothing, so the overhead measured is the graph's own.
    search = {"name": "lookup_material", "args": {"name": "Hedione"}, "id": "c1"}
    return {
        "intent": FixedLatencyModel(
            responses=[AIMessage('{"intent": "recommend", "confidence": 0.9, "language": "en"}')], latency_s=latency_s
        ),
        "orchestrator": FixedLatencyModel(
            responses=[AIMessage("", tool_calls=[search]), AIMessage("done")], latency_s=latency_s
        ),
        "service": FixedLatencyModel(responses=[AIMessage("Here are five rose perfumes.")], latency_s=latency_s),
    }


async def _turns(
    service: TurnService, texts: list[str], label: str, models: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Each text is one turn through the turn service, as a channel runs it, over 20 conversations
    (a customer each, so one conversation's dislikes do not narrow another's searches)."""
    customers = [(await service.memory.repository.customer_for("cli", f"bench-{label}-{c}")).id for c in range(20)]
    samples, overheads = [], []
    for n, text in enumerate(tqdm(texts, desc=label, unit="turn")):
        before = sum(m.spent_s for m in (models or {}).values())
        conversation = f"{label}-{n % 20}"
        inbound = Inbound(text=text, customer_id=customers[n % 20], channel="cli", conversation_id=conversation)
        started = time.perf_counter()
        events = await service.say(inbound)
        elapsed = time.perf_counter() - started
        if isinstance(events[-1], HandoffRequested):
            # Nobody answers in a benchmark: hand the conversation back (untimed), or its later turns
            # would all be "a person is on the way" notices that never run the graph.
            await service.hand_back(conversation)
        samples.append(elapsed * 1000)
        if models:
            overheads.append((elapsed - (sum(m.spent_s for m in models.values()) - before)) * 1000)
    out: dict[str, Any] = {"turns": len(samples), "latency_ms": percentiles(samples), "samples_ms": samples}
    if models:
        out["overhead_ms"] = percentiles(overheads)
        out["overhead_samples_ms"] = overheads
    return out


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    embedded = np.sort(result["embedded"]["samples_ms"])
    left.plot(embedded, np.linspace(0, 1, embedded.size), label="embedded roles")
    left.axvline(50, color="tab:red", linestyle="--", linewidth=1, label="p50 target 50 ms")
    left.set_xlabel("turn latency (ms)")
    left.set_ylabel("share of turns")
    left.set_title(f"Embedded turn: p50 {result['embedded']['latency_ms']['p50']:.1f} ms")
    left.legend()
    left.grid(alpha=0.3)
    overhead = np.sort(result["models"]["overhead_samples_ms"])
    right.plot(overhead, np.linspace(0, 1, overhead.size), color="tab:orange", label="graph overhead per turn")
    right.axvline(15, color="tab:red", linestyle="--", linewidth=1, label="target 15 ms")
    right.set_xlabel("turn time minus model time (ms)")
    overhead_p50 = result["models"]["overhead_ms"]["p50"]
    right.set_title(f"Model roles at {result['model_latency_ms']:g} ms/call: overhead p50 {overhead_p50:.1f} ms")
    right.legend()
    right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_chat_benchmark(turns: int, model_latency_ms: float, out_dir: Path) -> dict[str, Any]:
    result = asyncio.run(_run(turns, model_latency_ms))
    embedded, with_models = result["embedded"], result["models"]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "chat.json").write_text(json.dumps(result, indent=2))
    plot(result, out_dir / "chat.png")
    summary = {
        "embedded_turn_ms": {k: round(v, 2) for k, v in embedded["latency_ms"].items()},
        "model_turn_ms": {k: round(v, 2) for k, v in with_models["latency_ms"].items()},
        "graph_overhead_ms": {k: round(v, 2) for k, v in with_models["overhead_ms"].items()},
    }
    print(json.dumps(summary, indent=2))
    print(f"wrote {out_dir / 'chat.json'} and {out_dir / 'chat.png'}")
    return result


async def _run(turns: int, model_latency_ms: float) -> dict[str, Any]:
    texts = [item["text"] for item in load_eval(DEFAULT_EVAL)]
    texts = (texts * (turns // len(texts) + 1))[:turns]
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as scratch:
        # The conversations are the benchmark's own: embedded stores in a scratch folder, whatever the settings say,
        # and no per-customer rate (it would refuse a benchmark's turns in place of timing them).
        settings = get_settings().model_copy(
            update={
                "database_url": None,
                "redis_url": None,
                "memory_dir": Path(scratch),
                "customer_rate_limit": "1000000/minute",
            }
        )
        async with open_runtime(settings, models=None) as runtime:
            service = runtime.require_service()
            await _turns(service, texts[:20], "warm-up")
            embedded = await _turns(service, texts, "embedded roles")
            fakes = _models(model_latency_ms / 1000)
            assert runtime.context is not None
            model_context = dataclasses.replace(runtime.context, models=ModelRegistry(settings, fakes))
            model_service = TurnService(service.graph, model_context, runtime.memory, settings)
            with_models = await _turns(model_service, texts[: max(50, turns // 4)], "model roles", fakes)
            catalog_perfumes = runtime.context.toolkit.engine.index.size
    result: dict[str, Any] = {
        "benchmark": "chat",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "catalog_perfumes": catalog_perfumes,
        "model_latency_ms": model_latency_ms,
        "embedded": embedded,
        "models": with_models,
    }
    return result
