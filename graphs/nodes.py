"""The nodes of one turn: small async functions over the state and the runtime context."""

from __future__ import annotations

import re
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents.planner import Carried, plan
from agents.replies import reply as render_reply
from graphs.state import Context, ConversationState
from prompts import render
from tools.search.text import is_korean

MAX_MESSAGE_CHARS = 2000
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_PHONE = re.compile(r"(?:\+?\d{1,3}[ -]?)?(?:\(?\d{2,4}\)?[ -]?)\d{3,4}[ -]?\d{4}\b")
_INJECTION = re.compile(
    r"ignore (?:all |the )?(?:previous|above|prior) (?:instructions|prompts?)|system prompt|you are now|"
    r"disregard (?:your|all) (?:rules|instructions)|이전 지시(?:를|는)? 무시|시스템 프롬프트",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Personal data never reaches a model, a tool or a transcript."""
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub("[card]", text)
    return _PHONE.sub("[phone]", text)


async def guard_input(state: ConversationState) -> dict[str, Any]:
    message = redact(state["message"].strip()[:MAX_MESSAGE_CHARS])
    language = "ko" if is_korean(message) else "en"
    blocked = bool(_INJECTION.search(message))
    return {"message": message, "blocked": blocked, "language": language, "results": [], "plan": []}


async def understand(state: ConversationState, runtime: Runtime[Context]) -> dict[str, Any]:
    parsed = runtime.context.nlu.parse(state["message"])
    return {
        "intent": parsed["intent"],
        "confidence": parsed["confidence"],
        "clarify": parsed["clarify"],
        "slots": parsed["slots"],
        "language": parsed["language"],
    }


def route_after_guard(state: ConversationState) -> Literal["understand", "reply"]:
    return "reply" if state.get("blocked") else "understand"


def route_after_understand(state: ConversationState) -> Literal["orchestrate", "handoff", "reply"]:
    if state.get("clarify"):
        return "reply"
    if state["intent"] == "handoff":
        return "handoff"
    if state["intent"] in ("smalltalk", "off_topic"):
        return "reply"
    return "orchestrate"


async def orchestrate(state: ConversationState) -> dict[str, Any]:
    carried = Carried(**(state.get("carried") or {}))
    slots = dict(state.get("slots") or {})
    profile = state.get("profile") or {}
    # Remembered dislikes hold in every later search unless this turn names them as liked.
    if profile.get("disliked_notes"):
        liked = set(slots.get("liked_notes", []))
        slots["disliked_notes"] = sorted(
            set(slots.get("disliked_notes", [])) | (set(profile["disliked_notes"]) - liked)
        )
    calls = plan(state["intent"], slots, state["message"], carried)
    return {"plan": [{"name": c.name, "args": c.args} for c in calls]}


async def call_tools(state: ConversationState, runtime: Runtime[Context]) -> dict[str, Any]:
    toolkit = runtime.context.toolkit
    results = []
    for call in state.get("plan") or []:
        function = getattr(toolkit, call["name"])
        output = function(**call["args"])
        if hasattr(output, "__await__"):
            output = await output
        results.append({"tool": call["name"], "args": call["args"], "output": output})
    return {"results": results}


async def handoff(state: ConversationState) -> dict[str, Any]:
    """Pause the turn until a staff member answers (resumed with Command(resume=answer))."""
    answer = interrupt(
        {"reason": "customer asked for a person", "message": state["message"], "language": state.get("language")}
    )
    return {"reply": render("service", state.get("language", "en"), "staff", answer=str(answer))}


async def reply(state: ConversationState) -> dict[str, Any]:
    if state.get("reply") and state.get("intent") == "handoff":
        return {}
    language = state.get("language", "en")
    if state.get("blocked"):
        return {"reply": render("service", language, "blocked")}
    intent = state.get("intent", "smalltalk")
    text = render_reply(intent, language, state.get("results") or [], state.get("clarify"))
    if intent == "smalltalk" and re.search(r"thank|thanks|고마|감사", state["message"], re.IGNORECASE):
        text = render("service", language, "thanks")
    return {"reply": text}


def _named_products(results: list[dict[str, Any]]) -> set[str]:
    names = set()
    for result in results:
        output = result["output"]
        cards = output.get("results") or output.get("perfumes") or ([output] if "brand" in output else [])
        names |= {f"{c['brand']} {c['name']}" for c in cards}
    return names


async def guard_output(state: ConversationState) -> dict[str, Any]:
    """Every perfume a reply names comes from this turn's tool results; a formula carries its safety note."""
    text = state.get("reply", "")
    grounded = _named_products(state.get("results") or [])
    for line in text.splitlines():
        match = re.match(r"^\d+\. (.+?)(?: \(\d{4}\))? - ", line)
        if match and match.group(1) not in grounded:
            return {"reply": render("service", state.get("language", "en"), "recommend_none")}
    return {}


async def remember(state: ConversationState) -> dict[str, Any]:
    carried = dict(state.get("carried") or {})
    for result in state.get("results") or []:
        if result["tool"] == "search_perfumes":
            cards = result["output"].get("results") or []
            carried.update(
                last_query=result["args"]["query"],
                last_filters=result["args"].get("filters") or {},
                shown_ids=[c["id"] for c in cards],
                shown_prices=[c["price"] for c in cards if c.get("price") is not None],
            )
    profile = dict(state.get("profile") or {})
    slots = state.get("slots") or {}
    for key in ("liked_notes", "disliked_notes"):
        if slots.get(key):
            profile[key] = sorted(set(profile.get(key, [])) | set(slots[key]))
    return {
        "carried": carried,
        "profile": profile,
        "transcript": [
            {"role": "user", "content": state["message"]},
            {"role": "assistant", "content": state.get("reply", "")},
        ],
    }
