"""The turn graph: begin -> understand -> (orchestrate -> tools | handoff) -> reply ->
guard_output -> remember. Built by a factory: production passes a persistent checkpointer,
tests an in-memory one."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from graphs import nodes
from graphs.state import Context, ConversationState, TurnInput


def build_graph(checkpointer: Any = None) -> Any:
    graph = StateGraph(ConversationState, context_schema=Context, input_schema=TurnInput)
    graph.add_node("begin", nodes.begin)
    graph.add_node("understand", nodes.understand)
    graph.add_node("orchestrate", nodes.orchestrate)
    graph.add_node("tools", nodes.call_tools)
    graph.add_node("handoff", nodes.handoff)
    graph.add_node("reply", nodes.reply)
    graph.add_node("guard_output", nodes.guard_output)
    graph.add_node("remember", nodes.remember)
    graph.add_edge(START, "begin")
    graph.add_conditional_edges("begin", nodes.route_after_begin)
    graph.add_conditional_edges("understand", nodes.route_after_understand)
    graph.add_conditional_edges("orchestrate", nodes.route_after_orchestrate)
    graph.add_conditional_edges("tools", nodes.route_after_tools)
    graph.add_edge("handoff", "reply")
    graph.add_edge("reply", "guard_output")
    graph.add_edge("guard_output", "remember")
    graph.add_edge("remember", END)
    return graph.compile(checkpointer=checkpointer)
