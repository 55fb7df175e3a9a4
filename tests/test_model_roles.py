"""The model path of the conversation: scripted fake chat models, and a real ChatOllama against a
loopback server replaying Ollama /api/chat replies (streaming, tool calls, JSON, an error, a stall).

No real model runs here; the fakes stand in for Qwen, Llama and Mistral at the LangChain
interface, the loopback server at the HTTP wire.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from agents.registry import ModelRegistry
from core.settings import Settings
from graphs.graph import build_graph
from graphs.state import Context
from tests.fake_models import FailingChatModel, ScriptedChatModel
from tests.ollama_stub import OllamaStub, recording
from tools.search.engine import SearchEngine


@pytest.fixture(scope="module")
def embedded(context: Context) -> Context:
    """The embedded roles of the session's runtime; each test puts its own models beside them."""
    return context


def with_models(embedded: Context, settings: Settings, models: dict[str, Any], **overrides: Any) -> Context:
    registry = ModelRegistry(settings.model_copy(update=overrides), models)
    return Context(nlu=embedded.nlu, toolkit=embedded.toolkit, models=registry)


async def turn(context: Context, text: str, thread: str = "t") -> dict[str, Any]:
    graph = build_graph(InMemorySaver())
    return await graph.ainvoke({"message": text}, {"configurable": {"thread_id": thread}}, context=context)


async def test_three_fake_roles_drive_a_turn(embedded: Context, starter_settings: Settings) -> None:
    intent = ScriptedChatModel(responses=[AIMessage('{"intent": "recommend", "confidence": 0.91, "language": "en"}')])
    orchestrator = ScriptedChatModel(
        responses=[
            AIMessage(
                "", tool_calls=[{"name": "search_perfumes", "args": {"query": "rose perfume", "top_k": 3}, "id": "c1"}]
            ),
            AIMessage("That is enough."),
        ]
    )
    service = ScriptedChatModel(responses=[AIMessage("I found three rose perfumes for you.")])
    context = with_models(
        embedded, starter_settings, {"intent": intent, "orchestrator": orchestrator, "service": service}
    )
    state = await turn(context, "any rose perfumes?")
    assert state["roles"] == {"intent": "model", "orchestrator": "model", "service": "model"}
    assert [r["tool"] for r in state["results"]] == ["search_perfumes"]
    assert len(state["results"][0]["output"]["results"]) == 3
    assert state["reply"] == "I found three rose perfumes for you."
    assert state["rounds"] == 1  # one round of tool calls; the second answer called none


async def test_the_tool_loop_is_bounded(embedded: Context, starter_settings: Settings) -> None:
    call = {"name": "lookup_material", "args": {"name": "Hedione"}, "id": "x"}
    orchestrator = ScriptedChatModel(responses=[AIMessage("", tool_calls=[call])] * 10)
    context = with_models(embedded, starter_settings, {"orchestrator": orchestrator}, max_tool_rounds=3)
    state = await turn(context, "what is hedione?")
    assert state["rounds"] == 3
    assert [r["tool"] for r in state["results"]] == ["lookup_material"] * 3


async def test_a_made_up_tool_or_bad_arguments_become_messages_not_crashes(
    embedded: Context, starter_settings: Settings
) -> None:
    orchestrator = ScriptedChatModel(
        responses=[
            AIMessage(
                "",
                tool_calls=[
                    {"name": "delete_catalog", "args": {}, "id": "a"},
                    {"name": "get_perfume", "args": {"colour": "red"}, "id": "b"},
                ],
            ),
            AIMessage("stop"),
        ]
    )
    context = with_models(embedded, starter_settings, {"orchestrator": orchestrator})
    state = await turn(context, "can you recommend a perfume for me?")
    errors = [r["output"]["error"] for r in state["results"]]
    assert "no tool named 'delete_catalog'" in errors[0]
    assert errors[1].startswith("bad arguments for get_perfume")


async def test_an_ungrounded_model_reply_falls_back_to_the_template(
    embedded: Context, starter_settings: Settings, engine: SearchEngine
) -> None:
    # The service model names a catalog perfume the tools did not return this turn.
    elsewhere = next(p for p in engine.index.perfumes if p.brand == "Chanel" and p.name == "No 5")
    service = ScriptedChatModel(responses=[AIMessage(f"Try {elsewhere.brand} {elsewhere.name}, it is lovely.")])
    context = with_models(embedded, starter_settings, {"service": service})
    state = await turn(context, "woody perfume for men without vanilla")
    shown = {r["id"] for r in state["results"][0]["output"]["results"]}
    assert elsewhere.id not in shown
    assert state["roles"]["service"] == "embedded (guard)"
    assert "No 5" not in state["reply"]
    assert state["reply"].startswith("Here are")


async def test_failing_models_fall_back_and_open_the_breaker(embedded: Context, starter_settings: Settings) -> None:
    failing = FailingChatModel(responses=[AIMessage("never")])
    context = with_models(
        embedded, starter_settings, {"intent": failing, "orchestrator": failing, "service": failing}, breaker_failures=2
    )
    assert context.models is not None
    for n in range(3):
        state = await turn(context, "can you recommend a rose perfume for women?", thread=f"f{n}")
        assert state["roles"] == {"intent": "embedded", "orchestrator": "embedded", "service": "embedded"}
        assert state["intent"] == "recommend" and state["results"]
    assert await context.models.state("intent") == "opened"
    calls_when_open = failing.calls
    await turn(context, "can you recommend a rose perfume for women?", thread="f9")
    assert failing.calls == calls_when_open  # an open breaker does not call the model at all


# -- the wire: a real ChatOllama against recorded /api/chat replies --------------------------
async def test_real_chat_ollama_over_the_wire(embedded: Context, starter_settings: Settings) -> None:
    with OllamaStub() as stub:
        stub.queue = [
            recording("intent_json"),
            recording("tool_call"),
            recording("no_more_tools"),
            recording("reply_stream"),
        ]
        registry = ModelRegistry(
            starter_settings.model_copy(update={"ollama_base_url": stub.url, "ollama_timeout_s": 5})
        )
        context = Context(nlu=embedded.nlu, toolkit=embedded.toolkit, models=registry)
        state = await turn(context, "can you recommend a rose perfume for women?")
    assert state["roles"] == {"intent": "model", "orchestrator": "model", "service": "model"}
    assert state["results"][0]["args"] == {"query": "rose perfume for women", "top_k": 3}  # as recorded
    assert state["reply"] == "Here are three rose perfumes for you."
    sent = [r["body"] for r in stub.requests]
    assert [r["model"] for r in sent] == ["qwen2.5:32b", "llama3.1:8b", "llama3.1:8b", "mistral:7b"]
    assert sent[0]["format"]["properties"]["intent"]["enum"][0] == "recommend"  # the JSON schema went out
    assert {t["function"]["name"] for t in sent[1]["tools"]} >= {"search_perfumes", "compose_formula"}
    assert sent[2]["messages"][-1]["role"] == "tool"  # the tool result went back to the model
    assert json.loads(sent[2]["messages"][-1]["content"])["results"]


async def test_wire_errors_and_stalls_fall_back_to_the_embedded_roles(
    embedded: Context, starter_settings: Settings
) -> None:
    with OllamaStub() as stub:
        stub.queue = [
            ("error", 500, {"error": "model 'qwen2.5:32b' not found"}),
            ("stall", 3.0),
            ("error", 503, {"error": "busy"}),
        ]
        registry = ModelRegistry(
            starter_settings.model_copy(update={"ollama_base_url": stub.url, "ollama_timeout_s": 1})
        )
        context = Context(nlu=embedded.nlu, toolkit=embedded.toolkit, models=registry)
        state = await turn(context, "can you recommend a rose perfume for women?")
    assert state["roles"] == {"intent": "embedded", "orchestrator": "embedded", "service": "embedded"}
    assert state["intent"] == "recommend"
    assert state["reply"].startswith("Here are")


def test_terminal_chat_streams_the_model_reply(starter_settings: Settings, engine: SearchEngine) -> None:
    """`fragrance-ai chat` with OLLAMA_BASE_URL set: the three roles answer over the wire and the
    reply, streamed in three chunks, reaches the terminal whole and once."""
    import os
    import subprocess
    import sys

    with OllamaStub() as stub:
        stub.queue = [
            recording("intent_json"),
            recording("tool_call"),
            recording("no_more_tools"),
            recording("reply_stream"),
        ]
        env = {
            **os.environ,
            "FRAGRANCE_HOME": str(starter_settings.fragrance_home),
            "HF_HUB_OFFLINE": "1",
            "OLLAMA_BASE_URL": stub.url,
            "OLLAMA_TIMEOUT_S": "10",
        }
        done = subprocess.run(
            [sys.executable, "-m", "channels.cli.main", "chat"],
            input="can you recommend a rose perfume?\n/quit\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("Here are three rose perfumes for you.") == 1
    assert "(corrected)" not in done.stdout
    assert [r["body"]["model"] for r in stub.requests] == ["qwen2.5:32b", "llama3.1:8b", "llama3.1:8b", "mistral:7b"]
