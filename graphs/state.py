"""The state of one conversation, as LangGraph checkpoints it between turns."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from agents.nlu import NLU
from agents.registry import ModelRegistry
from graphs.guards import Guards
from tools.toolkit import Toolkit


class TurnInput(TypedDict, total=False):
    """What the turn service hands the graph for one turn: the message is already cleaned,
    bounded and redacted (nothing raw reaches a checkpoint), the input guard's verdict with it."""

    message: str
    blocked: bool
    language: str | None
    """The channel's language for this customer, when it knows one; else it is read from the text."""
    profile: dict[str, Any]
    """The customer's long-term preferences (memory.records.Preferences.to_dict()), from any conversation."""


class ConversationState(TypedDict, total=False):
    message: str
    """The user's message of this turn, cleaned and redacted by the turn service before the graph runs."""
    blocked: bool
    """True when input guarding refused the message; the turn then replies and stops."""
    language: str
    """ko or en: the language this turn is answered in."""
    intent: str
    """One of the nine intents (agents/intent.py)."""
    confidence: float
    """The intent role's confidence; below its threshold the reply is a clarifying question."""
    clarify: str | None
    """The clarifying question, when confidence is low."""
    slots: dict[str, Any]
    """This turn's slots (notes, budget, named perfumes ...)."""
    plan: list[dict[str, Any]]
    """Tool calls the orchestrator chose: {"name", "args"} each."""
    results: list[dict[str, Any]]
    """Tool outputs of this turn: {"tool", "output"} each."""
    reply: str
    """The answer shown to the user."""
    cards: list[dict[str, Any]]
    """The perfume cards this turn shows (graphs.events.PerfumeCard as dicts), from its tool results."""
    formulas: list[dict[str, Any]]
    """The formulas this turn shows with their verdicts (graphs.events.FormulaCard as dicts)."""
    carried: dict[str, Any]
    """What later turns refine: the last search query and filters, the perfumes shown and their prices."""
    focus: dict[str, Any]
    """What the conversation is about now (agents.focus.Focus as a dict): the perfume just described, the
    list just shown in order, the perfumes just compared, the formula just composed, the material just
    explained. References ("it", "the second", "2번", "둘 중") resolve against it; each turn refreshes it."""
    profile: dict[str, Any]
    """The customer's preferences: loaded from long-term memory at each turn, updated by this turn."""
    transcript: Annotated[list[dict[str, str]], operator.add]
    """Every message of the conversation, user and assistant, in order."""
    steps: list[Any]
    """This turn's orchestrator conversation (system, user, tool calls, tool results) on the model path."""
    rounds: int
    """Tool rounds taken this turn."""
    roles: dict[str, str]
    """Which implementation answered each role this turn: "model" or "embedded"."""


@dataclass(slots=True)
class Context:
    """Per-process resources the nodes use; never stored in the state."""

    nlu: NLU
    toolkit: Toolkit
    models: ModelRegistry | None = None
    """Chat models per role; None (or an open breaker) means the embedded roles answer."""
    guards: Guards = field(default_factory=Guards)
    """The input and output guards (guardrails-ai, local validators)."""
