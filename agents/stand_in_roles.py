"""Stand-ins for the three model roles, for `fragrance-ai eval chat --models fake`.

No model server runs here, so the model path (graphs/nodes.py calling agents/model_roles.py) is
exercised with LangChain fake chat models in ChatOllama's place, as the tests do. Each stand-in
answers only from what its prompt carries, as a real model would have to: the intent stand-in
classifies the customer's words; the orchestrator stand-in plans from the intent, the carried
state, the focus and the conversation window written in its system prompt (never from the
graph's state), with the rule planner's reasoning; the service stand-in writes the reply from the
tool results in its prompt. So a follow-up ("is the second one unisex?") succeeds on this path only
if the graph sends the roles the history and the focus.

`StandIns.failures()` says, after a turn, whether every role ran as a model and whether each saw
the conversation's previous message in what it was sent.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda
from pydantic import Field

from agents.focus import Focus
from agents.planner import Carried, plan
from agents.registry import ModelRegistry
from agents.replies import reply as render_reply

Script = Callable[[list[BaseMessage]], AIMessage]


class ToolReadyFakeChatModel(FakeMessagesListChatModel):
    """LangChain's fake chat model, made to accept tools and a schema as ChatOllama does (the roles
    call `bind_tools` and `with_structured_output`): its answers already hold the tool calls, and a
    structured answer is its JSON content validated against the schema."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
        async def parse(messages: Any) -> Any:
            return schema.model_validate_json((await self.ainvoke(messages)).content)

        return RunnableLambda(lambda _: None, afunc=parse)


class StandInChatModel(ToolReadyFakeChatModel):
    """A chat model whose answer is `script(messages)`; streams word by word, and records what it was
    sent and any error of its script."""

    script: Script
    sent: list[list[BaseMessage]] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.sent = [*self.sent, list(messages)]
        try:
            answer = self.script(messages)
        except Exception as exc:  # a stand-in that cannot read its prompt fails like a model server would
            self.errors = [*self.errors, f"{type(exc).__name__}: {exc}"]
            raise
        return ChatResult(generations=[ChatGeneration(message=answer)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        answer = self._generate(messages).generations[0].message
        for token in re.findall(r"\S+\s*|\s+", str(answer.content)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._stream(messages):
            yield chunk


def prompt_json(system: str, label: str) -> Any:
    """The JSON a prompt carries after `label` on one line ("In focus: {...}")."""
    for line in system.splitlines():
        if line.strip().startswith(label):
            return json.loads(line.split(label, 1)[1])
    raise ValueError(f"the prompt carries no {label.strip()!r} line")


class StandIns:
    """The three stand-ins over one runtime's NLU (what the intent stand-in classifies with)."""

    def __init__(self, nlu: Any) -> None:
        self.nlu = nlu
        self.models = {
            "intent": StandInChatModel(responses=[], script=self._classify),
            "orchestrator": StandInChatModel(responses=[], script=self._orchestrate),
            "service": StandInChatModel(responses=[], script=self._write),
        }
        self._previous: str | None = None

    # -- the scripts: each reads only its messages
    def _classify(self, messages: list[BaseMessage]) -> AIMessage:
        text = str(next(m for m in reversed(messages) if isinstance(m, HumanMessage)).content)
        result = self.nlu.classifier.classify(text)
        return AIMessage(
            json.dumps({"intent": result.intent, "confidence": result.confidence, "language": result.language})
        )

    def _orchestrate(self, messages: list[BaseMessage]) -> AIMessage:
        if isinstance(messages[-1], ToolMessage):
            return AIMessage("")  # the results are in: stop calling tools
        system, text = str(messages[0].content), str(messages[-1].content)
        intent = prompt_json(system, "Intent: ")
        carried = prompt_json(system, "What the customer said before: ")
        focus = Focus.from_dict(prompt_json(system, "In focus: "))
        profile = prompt_json(system, "Remembered preferences: ")
        slots = self.nlu.slots.read(text).to_dict()
        calls = plan(
            intent, slots, text, Carried(**carried), profile.get("disliked_notes"), focus=focus,
            remembered_accords=profile.get("disliked_accords"),
        )  # fmt: skip
        return AIMessage(
            "", tool_calls=[{"name": c.name, "args": c.args, "id": f"call_{i}"} for i, c in enumerate(calls)]
        )

    def _write(self, messages: list[BaseMessage]) -> AIMessage:
        system = str(messages[0].content)
        language = "ko" if "도구 결과(JSON): " in system else "en"
        results = prompt_json(system, "도구 결과(JSON): " if language == "ko" else "Tool results (JSON): ")
        return AIMessage(render_reply("recommend", language, results))

    # -- what a turn should have shown them
    def expect(self, text: str, history_texts: list[str]) -> None:
        """Before a turn: forget what the roles were sent; remember the previous customer message,
        which every role of this turn should see in its prompt."""
        for model in self.models.values():
            model.sent, model.errors = [], []
        self._previous = history_texts[-1] if history_texts else None

    def failures(self) -> list[str]:
        out = []
        for role, model in self.models.items():
            out += [f"{role} stand-in failed: {e}" for e in model.errors]
            if role == "intent" and not model.sent:
                out.append("the intent model was not asked")
            if self._previous is None:
                continue
            for messages in model.sent:
                seen = "\n".join(str(m.content) for m in messages)
                if self._previous not in seen:
                    out.append(f"the {role} model was not shown the previous message")
                    break
        return out


def stand_in_service(runtime: Any) -> tuple[Any, StandIns]:
    """A turn service over `runtime`'s graph and stores with the stand-ins in the model roles' places."""
    from graphs.service import TurnService

    stand_ins = StandIns(runtime.context.nlu)
    settings = runtime.settings.model_copy(update={"ollama_base_url": None})
    context = dataclasses.replace(runtime.context, models=ModelRegistry(settings, dict(stand_ins.models)))
    return TurnService(runtime.service.graph, context, runtime.memory, settings), stand_ins
