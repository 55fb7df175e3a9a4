"""Fake chat models for the three roles, at the LangChain interface where ChatOllama sits.

`ScriptedChatModel` answers from a fixed list, as a Qwen or Llama served by Ollama would be used
(tools bound, a schema asked for): the product's own `ToolReadyFakeChatModel`.

`ReadingChatModel` is for whole conversations (the YAML stories): each answer is written by a
script function from the messages the graph sends (the product's `StandInChatModel`, which
`eval chat --models fake` uses), so a story can be replayed on the model path without knowing tool
results in advance; it also keeps its answers and the tools bound to it, for the tests to read.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import Field

from agents.stand_in_roles import StandInChatModel, ToolReadyFakeChatModel
from agents.stand_in_roles import prompt_json as prompt_json

ScriptedChatModel = ToolReadyFakeChatModel


class FailingChatModel(ScriptedChatModel):
    calls: int = 0

    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise ConnectionError("model server unreachable")


class ReadingChatModel(StandInChatModel):
    """Answers with `script(messages)`; records what it was sent, what it answered and which tools
    were bound."""

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
        result = super()._generate(messages, stop, run_manager, **kwargs)
        self.answers = [*self.answers, result.generations[0].message]  # type: ignore[list-item]
        return result
