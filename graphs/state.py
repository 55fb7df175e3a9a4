"""The state of one conversation, as LangGraph checkpoints it between turns."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from agents.nlu import NLU
from agents.registry import ModelRegistry
from graphs.guards import Guards
from tools.toolkit import Toolkit


class TurnInput(TypedDict):
    """What a channel hands the graph for one turn."""

    message: str


class ConversationState(TypedDict, total=False):
    message: str
    """The user's message of this turn, after input guarding (personal data redacted)."""
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
    carried: dict[str, Any]
    """What later turns refine: the last search query and filters, the perfumes shown and their prices."""
    profile: dict[str, Any]
    """Preferences remembered across turns: liked and disliked notes."""
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
