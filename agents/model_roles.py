"""The three roles on chat models (Ollama in production, scripted fakes in tests).

Each returns the same shape as its embedded twin, so the graph does not care which
answered: intent -> {"intent", "confidence", "language"}; orchestrator -> the next
tool calls; service -> the reply text, streamed token by token to `on_token`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field

from agents.intent import INTENTS
from agents.registry import ModelRegistry
from prompts import render
from tools.toolkit import Toolkit


class IntentOutput(BaseModel):
    """The intent role's structured answer (sent to the model as a JSON schema)."""

    intent: Literal[
        "recommend", "product_info", "compare", "compose", "validate", "ingredient_info", "handoff", "smalltalk",
        "off_topic",
    ]  # fmt: skip
    confidence: float = Field(ge=0.0, le=1.0)
    language: Literal["ko", "en"]


assert set(IntentOutput.model_fields["intent"].annotation.__args__) == set(INTENTS)  # type: ignore[union-attr]


# The conversation a role sees besides the message of this turn: the last few messages, each cut short.
# The transcript is redacted before it is stored (graphs/service.py), so the window is too.
WINDOW_MESSAGES = 6
WINDOW_MESSAGE_CHARS = 400


def window(transcript: list[dict[str, str]]) -> list[dict[str, str]]:
    """The bounded window of the conversation so far that the roles read: the last WINDOW_MESSAGES
    messages ({"role": "user" | "assistant", "content"}), each at most WINDOW_MESSAGE_CHARS long."""
    out = []
    for message in transcript[-WINDOW_MESSAGES:]:
        content = " ".join(str(message.get("content", "")).split())
        if len(content) > WINDOW_MESSAGE_CHARS:
            content = content[: WINDOW_MESSAGE_CHARS - 1] + "…"
        out.append({"role": "assistant" if message.get("role") == "assistant" else "user", "content": content})
    return out


def _history(recent: list[dict[str, str]]) -> list[BaseMessage]:
    return [AIMessage(m["content"]) if m["role"] == "assistant" else HumanMessage(m["content"]) for m in recent]


async def classify(
    registry: ModelRegistry, text: str, language: str, recent: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """The intent of `text`, read with the conversation's recent messages before it ("is it unisex?"
    after a perfume card is a question about that perfume)."""

    async def work(model: Any) -> IntentOutput:
        structured = model.with_structured_output(IntentOutput, method="json_schema")
        messages = [SystemMessage(render("intent", language, "system")), *_history(recent or []), HumanMessage(text)]
        result = await structured.ainvoke(messages)
        return result if isinstance(result, IntentOutput) else IntentOutput.model_validate(result)

    out = await registry.call("intent", work)
    return out.model_dump()


async def next_tool_calls(registry: ModelRegistry, toolkit: Toolkit, messages: list[BaseMessage]) -> AIMessage:
    """One orchestrator step: the model, with the tools bound, either calls tools or stops."""

    async def work(model: Any) -> AIMessage:
        answer = await model.bind_tools(toolkit.tools()).ainvoke(messages)
        if not isinstance(answer, AIMessage):
            raise TypeError(f"the orchestrator answered a {type(answer).__name__}")
        return answer

    return await registry.call("orchestrator", work)


def _json_line(value: Any, limit: int) -> str:
    """`value` as JSON on one line, never longer than `limit` (a list is shortened, not cut mid-token)."""
    text = json.dumps(value, ensure_ascii=False)
    while len(text) > limit and isinstance(value, list) and value:
        value = value[1:]  # the oldest messages go first
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else json.dumps(None)


def orchestrator_messages(
    language: str,
    carried: dict[str, Any],
    profile: dict[str, Any],
    text: str,
    intent: str | None = None,
    focus: dict[str, Any] | None = None,
    window: list[dict[str, str]] | None = None,
) -> list[BaseMessage]:
    """The orchestrator's prompt: what earlier turns carried (the last search, the perfumes shown), what
    is in focus (the perfume just described, the list shown in order, the formula just composed), the
    last messages of the conversation and the remembered preferences, as JSON the model can copy ids,
    filters and briefs from; and what the intent role read this message as."""
    system = render(
        "orchestrator",
        language,
        "system",
        carried=json.dumps(carried, ensure_ascii=False)[:2000],
        profile=json.dumps(profile, ensure_ascii=False)[:1000],
        intent=json.dumps(intent),
        focus=_json_line(focus or {}, 1500),
        window=_json_line(window or [], 3000),
    )
    return [SystemMessage(system), HumanMessage(text)]


def tool_message(call_id: str, output: dict[str, Any]) -> ToolMessage:
    return ToolMessage(json.dumps(output, ensure_ascii=False)[:6000], tool_call_id=call_id)


async def write_reply(
    registry: ModelRegistry,
    language: str,
    text: str,
    results: list[dict[str, Any]],
    on_token: Callable[[str], None] | None = None,
    window: list[dict[str, str]] | None = None,
    focus: dict[str, Any] | None = None,
) -> str:
    """The service role: a reply from the tool results only, streamed, with the conversation's last
    messages before the customer's (so "it" reads as the perfume just discussed)."""
    payload = json.dumps([{"tool": r["tool"], "output": r["output"]} for r in results], ensure_ascii=False)[:12000]
    system = render("service", language, "system_prompt", results=payload, focus=_json_line(focus or {}, 1500))

    async def work(model: Any) -> str:
        parts: list[str] = []
        messages = [SystemMessage(system), *_history(window or []), HumanMessage(text)]
        async for chunk in model.astream(messages):
            token = chunk.content if isinstance(chunk.content, str) else ""
            if token:
                parts.append(token)
                if on_token is not None:
                    on_token(token)
        reply = "".join(parts).strip()
        if not reply:
            raise ValueError("the service model returned an empty reply")
        return reply

    return await registry.call("service", work)
