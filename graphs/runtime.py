"""The one composition root: every resource of a process is opened here, once, and closed here.

The REST app's lifespan, the terminal chat, the benchmarks and the test fixtures all enter
`open_runtime`; nothing else builds an engine, a perfumery, an NLU, a graph or a store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from agents.nlu import NLU
from agents.registry import ModelRegistry
from core.errors import FragranceError
from core.settings import Settings
from graphs.graph import build_graph
from graphs.guards import Guards
from graphs.service import TurnService
from graphs.state import Context
from memory.backends import Memory, open_memory
from tools.perfumery.composition import Composer
from tools.perfumery.database import Perfumery, perfumery_for
from tools.search.embeddings import embedder_for
from tools.search.engine import SearchEngine
from tools.search.lexicon import default_lexicon
from tools.toolkit import Toolkit

log = logging.getLogger(__name__)

_FROM_SETTINGS: Any = object()


@dataclass
class Runtime:
    """Everything a process serves with. `service` is None while search is not ready (no catalog
    ingested yet): the perfumery still answers, the conversation says why it cannot."""

    settings: Settings
    perfumery: Perfumery
    composer: Composer
    nlu: NLU
    guards: Guards
    memory: Memory
    engine: SearchEngine | None
    engine_error: str | None
    context: Context | None
    service: TurnService | None

    def require_service(self) -> TurnService:
        if self.service is None:
            raise FragranceError(self.engine_error or "the catalog is still loading")
        return self.service


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    engine: SearchEngine | None = None,
    models: ModelRegistry | None = _FROM_SETTINGS,
    require_search: bool = True,
) -> AsyncIterator[Runtime]:
    """Open every resource: the catalog's search engine (or the one given), the perfumery tables,
    the NLU, the tools, the model roles (Ollama when OLLAMA_BASE_URL is set, unless `models` is
    given: tests pass fakes, or None for the embedded roles), the guards, and the memory stores
    (Postgres and Redis in server mode, SQLite and in-process twins otherwise).

    `require_search=False` lets a server start without a catalog (it reports not ready); the
    terminal chat and the benchmarks require one and fail with the engine's sentence."""
    async with AsyncExitStack() as stack:
        engine_error = None
        if engine is None:  # an engine the caller gave stays the caller's to close
            try:
                engine = await asyncio.to_thread(SearchEngine.load, settings)
            except FragranceError as exc:
                if require_search:
                    raise
                engine_error = str(exc)
                log.warning("search is not ready: %s", exc)
            else:
                stack.push_async_callback(engine.batcher.close)
        perfumery = await asyncio.to_thread(perfumery_for, settings.fragrance_home)
        composer = Composer(perfumery, engine.lexicon if engine is not None else default_lexicon())
        # The NLU reads perfume names from the catalog, so it is built once the engine is loaded.
        embedder = engine.embedder if engine is not None else embedder_for(settings)
        nlu = await asyncio.to_thread(NLU.build, embedder, engine, perfumery.materials)
        if models is _FROM_SETTINGS:
            models = ModelRegistry(settings) if settings.ollama_base_url else None
        guards = Guards()
        memory = await stack.enter_async_context(open_memory(settings))
        context = service = None
        if engine is not None:
            context = Context(nlu=nlu, toolkit=Toolkit(engine, perfumery, composer), models=models, guards=guards)
            service = TurnService(build_graph(memory.checkpointer), context, memory, settings)
            stack.push_async_callback(service.close)
            if settings.handoff_sweep_s > 0:
                sweeper = asyncio.create_task(service.run_handoff_sweeper(settings.handoff_sweep_s))
                stack.push_async_callback(_cancel, sweeper)
        yield Runtime(
            settings=settings,
            perfumery=perfumery,
            composer=composer,
            nlu=nlu,
            guards=guards,
            memory=memory,
            engine=engine,
            engine_error=engine_error,
            context=context,
            service=service,
        )
