"""Building the conversation's resources once per process: engine, perfumery, NLU, toolkit."""

from __future__ import annotations

from agents.registry import ModelRegistry
from core.settings import Settings
from graphs.state import Context
from tools.perfumery.composition import Composer
from tools.perfumery.database import perfumery_for
from tools.search.engine import SearchEngine
from tools.toolkit import Toolkit


def build_context(settings: Settings, engine: SearchEngine | None = None) -> Context:
    """The roles over the catalog ingested in FRAGRANCE_HOME: Ollama models when OLLAMA_BASE_URL is
    set (each falling back to its embedded twin when it fails), the embedded roles otherwise."""
    from agents.nlu import NLU

    engine = engine or SearchEngine.load(settings)
    perfumery = perfumery_for(settings.fragrance_home)
    nlu = NLU.build(engine.embedder, engine, perfumery.materials)
    models = ModelRegistry(settings) if settings.ollama_base_url else None
    toolkit = Toolkit(engine, perfumery, Composer(perfumery, engine.lexicon))
    return Context(nlu=nlu, toolkit=toolkit, models=models)
