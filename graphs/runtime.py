"""Building the conversation's resources once per process: engine, perfumery, NLU, toolkit."""

from __future__ import annotations

from core.settings import Settings
from graphs.state import Context
from tools.perfumery.composition import Composer
from tools.perfumery.database import perfumery_for
from tools.search.engine import SearchEngine
from tools.toolkit import Toolkit


def build_context(settings: Settings, engine: SearchEngine | None = None) -> Context:
    """The embedded roles over the catalog ingested in FRAGRANCE_HOME."""
    from agents.nlu import NLU

    engine = engine or SearchEngine.load(settings)
    perfumery = perfumery_for(settings.fragrance_home)
    nlu = NLU.build(engine.embedder, engine, perfumery.materials)
    return Context(nlu=nlu, toolkit=Toolkit(engine, perfumery, Composer(perfumery, engine.lexicon)))
