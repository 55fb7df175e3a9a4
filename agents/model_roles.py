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


async def classify(registry: ModelRegistry, text: str, language: str) -> dict[str, Any]:
    async def work(model: Any) -> IntentOutput:
        structured = model.with_structured_output(IntentOutput, method="json_schema")
        result = await structured.ainvoke([SystemMessage(render("intent", language, "system")), HumanMessage(text)])
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


def orchestrator_messages(
    language: str, carried: dict[str, Any], profile: dict[str, Any], text: str
) -> list[BaseMessage]:
    """The orchestrator's prompt: what earlier turns carried (the last search, the perfumes shown)
    and the remembered preferences, as JSON the model can copy ids and filters from."""
    system = render(
        "orchestrator",
        language,
        "system",
        carried=json.dumps(carried, ensure_ascii=False)[:2000],
        profile=json.dumps(profile, ensure_ascii=False)[:1000],
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
) -> str:
    """The service role: a reply from the tool results only, streamed."""
    payload = json.dumps([{"tool": r["tool"], "output": r["output"]} for r in results], ensure_ascii=False)[:12000]

    async def work(model: Any) -> str:
        parts: list[str] = []
        messages = [SystemMessage(render("service", language, "system_prompt", results=payload)), HumanMessage(text)]
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
