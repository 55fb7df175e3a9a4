"""Fake chat models for the three roles, at the LangChain interface where ChatOllama sits.

`ScriptedChatModel` answers from a fixed list (FakeMessagesListChatModel), with `bind_tools`
and `with_structured_output` made to work, as a Qwen or Llama served by Ollama would be used.

`ReadingChatModel` is for whole conversations (the YAML stories): each answer is written
by a script function from the messages the graph sends, so a story can be replayed on the
model path without knowing tool results in advance. Its answers stream word by word.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda
from pydantic import Field


class ScriptedChatModel(FakeMessagesListChatModel):
    """A fake chat model that accepts tools and a schema, answering from its script in order."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:  # the script already holds the tool calls
        return self

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
        async def parse(messages: Any) -> Any:
            answer = await self.ainvoke(messages)
            return schema.model_validate_json(answer.content)

        return RunnableLambda(lambda _: None, afunc=parse)


class FailingChatModel(ScriptedChatModel):
    calls: int = 0

    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise ConnectionError("model server unreachable")


Script = Callable[[list[BaseMessage]], AIMessage]


class ReadingChatModel(ScriptedChatModel):
    """Answers with `script(messages)`; records what it was sent, what it answered and which tools
    were bound."""

    script: Script
    sent: list[list[BaseMessage]] = Field(default_factory=list)
    answers: list[AIMessage] = Field(default_factory=list)
    bound: list[str] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        self.bound = [tool.name for tool in tools]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        answer = self.script(messages)
        self.sent = [*self.sent, list(messages)]
        self.answers = [*self.answers, answer]
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
    """The JSON a prompt carries after `label` on one line ("Tool results (JSON): [...]")."""
    line = next(line for line in system.splitlines() if line.strip().startswith(label))
    return json.loads(line.split(label, 1)[1])
