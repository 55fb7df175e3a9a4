"""The nodes of one turn: small async functions over the state and the runtime context."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from typing import Any, Literal

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents import formula_edits, model_roles, regulatory
from agents.focus import Focus
from agents.language import reply_language
from agents.planner import Carried, plan, refines_last_search
from agents.references import read_follow_up, staff_or_compose_request, wants_similar
from agents.registry import ModelUnavailable
from agents.replies import reply as render_reply
from agents.slots import shopping_intent
from graphs.shown import formula_cards, perfume_cards
from graphs.state import Context, ConversationState
from prompts import render

log = logging.getLogger(__name__)


async def begin(state: ConversationState) -> dict[str, Any]:
    """Start a turn: the message arrives cleaned and redacted by the turn service (graphs/service.py),
    with the input guard's verdict; this turn's working fields start empty."""
    hint = state.get("language")
    language = hint if hint in ("ko", "en") else reply_language(state["message"])
    return {
        "blocked": bool(state.get("blocked")),
        "language": language,
        "results": [],
        "plan": [],
        "steps": [],
        "rounds": 0,
        "roles": {},
        "reply": "",
        "cards": [],
        "formulas": [],
    }


async def understand(state: ConversationState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Slots always come from the lexicon; the intent from the model role when it answers,
    else from the embedded classifier (which then is the only one that runs). A turn that only
    adds a condition to the last search ("바닐라는 빼고요") is a recommendation whenever either role
    reads it as no request or is unsure of it."""
    nlu = runtime.context.nlu
    message = state["message"]
    # Slot reading and classification are CPU work: off the event loop, so other turns and /health go on.
    slots = (await asyncio.to_thread(nlu.slots.read, message)).to_dict()
    models = runtime.context.models
    understood: dict[str, Any] | None = None
    if models is not None and models.configured("intent"):
        try:
            answer = await model_roles.classify(
                models, message, state.get("language", "en"), model_roles.window(state.get("transcript") or [])
            )
        except ModelUnavailable as exc:
            log.warning("intent role falls back to the embedded classifier: %s", exc)
        else:
            understood = {
                "intent": answer["intent"],
                "confidence": answer["confidence"],
                "clarify": None,
                "language": answer["language"],
                "roles": {**state.get("roles", {}), "intent": "model"},
            }
    if understood is None:
        result = await asyncio.to_thread(nlu.classifier.classify, message)
        understood = {
            "intent": result.intent,
            "confidence": result.confidence,
            "clarify": result.clarify,
            "language": state["language"],  # set by `begin`: the channel's hint, else the text's script
            "roles": {**state.get("roles", {}), "intent": "embedded"},
        }
    carried = Carried(**(state.get("carried") or {}))
    unsure = understood["intent"] in _NOT_A_REQUEST or understood.get("clarify")
    if unsure and refines_last_search(slots, message, carried):
        understood |= {"intent": "recommend", "clarify": None}
    return {
        **understood,
        **_follow_up(understood["intent"], slots, message, Focus.from_dict(state.get("focus"))),
        **_formula_or_rules(understood["intent"], slots, message, Focus.from_dict(state.get("focus"))),
        "slots": slots,
    }


def _formula_or_rules(intent: str, slots: dict[str, Any], message: str, focus: Focus) -> dict[str, Any]:
    """Whatever either intent role made of a message that short, "EDT로 바꿔 주세요" after a formula changes
    it, "what about 1%?" after a material's rules asks about them, and "is this formula IFRA compliant?"
    checks the formula in focus; a budget or a dislike in a request for perfumes makes it one."""
    shopping = shopping_intent(intent, slots, message)
    if shopping is not None:
        return {"intent": shopping, "clarify": None}
    in_focus = formula_edits.in_focus(focus.kind, focus.formula, message)
    if formula_edits.edit_requested(intent, slots, message, in_focus) is not None:
        return {"intent": "compose", "clarify": None}
    if regulatory.read_question(message, slots, focus.material) is not None:
        return {"intent": "ingredient_info", "clarify": None}
    if focus.kind == "formula" and regulatory.asks_about_formula(message) and not slots.get("materials"):
        return {"intent": "validate", "clarify": None}
    return {}


_MATERIAL_TOOLS = ("compose_formula", "validate_formula", "lookup_material")
MIN_NAME_CHARS = 3


def _material_names(results: list[dict[str, Any]]) -> set[str]:
    """Every text a formula or material result holds: the formula's own name, its ingredients' (English
    and Korean), the allergens to declare by their INCI names ("Juniperus virginiana oil (Virginia
    cedarwood)"), the substitutes offered, wherever the result nests them. A reply quoting the tool's own
    words makes no claim about a catalog perfume."""
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if len(value) >= MIN_NAME_CHARS:
                names.add(value)
        elif isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for r in results:
        if r.get("tool") in _MATERIAL_TOOLS and isinstance(r.get("output"), dict):
            walk(r["output"])
    return names


def _follow_up(intent: str, slots: dict[str, Any], message: str, focus: Focus) -> dict[str, Any]:
    """Whatever either intent role made of it alone, a question about what the conversation has in focus
    ("2번은 오래가요?", "is it unisex?", "둘 중에 뭐가 나아요?") is a question about those perfumes, and
    "anything similar but cheaper?" after one is a recommendation."""
    # The intent role reads the message alone: "can people around me even smell it?" may come back a
    # handoff, "can my husband wear this too?" a composition. Only a message asking for a person or a
    # formula in so many words is one.
    if intent in ("compose", "handoff") and staff_or_compose_request(message):
        return {}
    if intent == "validate" and slots.get("formula_lines"):
        return {}
    if read_follow_up(message, slots, focus) is not None:
        return {"intent": "product_info", "clarify": None}
    if wants_similar(message) and (focus.kind in ("perfume", "formula") or focus.list_ids) and intent != "compare":
        return {"intent": "recommend", "clarify": None}
    return {}


_NOT_A_REQUEST = ("smalltalk", "off_topic")


def route_after_begin(state: ConversationState) -> Literal["understand", "reply"]:
    return "reply" if state.get("blocked") else "understand"


def route_after_understand(state: ConversationState) -> Literal["orchestrate", "handoff", "reply"]:
    if state.get("clarify"):
        return "reply"
    if state["intent"] == "handoff":
        return "handoff"
    if state["intent"] in ("smalltalk", "off_topic"):
        return "reply"
    return "orchestrate"


async def orchestrate(state: ConversationState, runtime: Runtime[Context]) -> dict[str, Any]:
    models = runtime.context.models
    if (
        models is not None
        and models.configured("orchestrator")
        and state.get("roles", {}).get("orchestrator") != "embedded"
    ):
        steps = list(state.get("steps") or []) or model_roles.orchestrator_messages(
            state.get("language", "en"),
            state.get("carried") or {},
            state.get("profile") or {},
            state["message"],
            intent=state.get("intent"),
            focus=Focus.from_dict(state.get("focus")).summary(),
            window=model_roles.window(state.get("transcript") or []),
        )
        try:
            answer = await model_roles.next_tool_calls(models, runtime.context.toolkit, steps)
        except ModelUnavailable as exc:
            log.warning("orchestrator falls back to the rule planner: %s", exc)
            if state.get("results"):  # a later round failed: answer with what we have
                return {"plan": [], "roles": {**state.get("roles", {}), "orchestrator": "model"}}
        else:
            model_calls = [{"name": c["name"], "args": c["args"], "id": c["id"]} for c in answer.tool_calls]
            return {
                "plan": model_calls,
                "steps": [*steps, answer],
                "roles": {**state.get("roles", {}), "orchestrator": "model"},
            }
    carried = Carried(**(state.get("carried") or {}))
    remembered = list((state.get("profile") or {}).get("disliked_notes") or [])
    focus = Focus.from_dict(state.get("focus"))
    accords = list((state.get("profile") or {}).get("disliked_accords") or [])
    calls = plan(
        state["intent"], state.get("slots") or {}, state["message"], carried, remembered, focus=focus,
        remembered_accords=accords,
    )  # fmt: skip
    return {
        "plan": [{"name": c.name, "args": c.args} for c in calls],
        "roles": {**state.get("roles", {}), "orchestrator": "embedded"},
    }


def route_after_orchestrate(state: ConversationState) -> Literal["tools", "reply"]:
    return "tools" if state.get("plan") else "reply"


def route_after_tools(state: ConversationState, runtime: Runtime[Context]) -> Literal["orchestrate", "reply"]:
    """The model orchestrator loops (bounded); the rule planner plans once."""
    models = runtime.context.models
    limit = models.settings.max_tool_rounds if models is not None else 1
    if state.get("roles", {}).get("orchestrator") == "model" and state.get("rounds", 0) < limit:
        return "orchestrate"
    return "reply"


async def call_tools(state: ConversationState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the planned calls; each start and finish is streamed to the channel. Synchronous tools
    (composition, validation, lookups) run in a worker thread so the event loop stays free."""
    toolkit = runtime.context.toolkit
    tool_names = {tool.name for tool in toolkit.tools()}
    results = list(state.get("results") or [])
    steps = list(state.get("steps") or [])
    write = get_stream_writer()
    for call in state.get("plan") or []:
        # Only the toolkit's published tools may be called, whatever else it has as attributes.
        function = getattr(toolkit, call["name"]) if call["name"] in tool_names else None
        write({"tool_started": call["name"]})
        if function is None:
            output: Any = {"error": f"there is no tool named {call['name']!r}"}
        else:
            try:
                if inspect.iscoroutinefunction(function):
                    output = await function(**call["args"])
                else:
                    output = await asyncio.to_thread(function, **call["args"])
            except TypeError as exc:  # a model's bad arguments: tell it, do not crash the turn
                output = {"error": f"bad arguments for {call['name']}: {exc}"}
        write({"tool_finished": call["name"], "ok": not (isinstance(output, dict) and "error" in output)})
        results.append({"tool": call["name"], "args": call["args"], "output": output})
        if call.get("id"):
            steps.append(model_roles.tool_message(call["id"], output))
    return {"results": results, "steps": steps, "plan": [], "rounds": state.get("rounds", 0) + 1}


async def handoff(state: ConversationState) -> dict[str, Any]:
    """Pause the turn until a staff member answers (resumed with Command(resume=answer))."""
    answer = interrupt(
        {"reason": "customer asked for a person", "message": state["message"], "language": state.get("language")}
    )
    return {"reply": render("service", state.get("language", "en"), "staff", answer=str(answer))}


async def reply(state: ConversationState, runtime: Runtime[Context]) -> dict[str, Any]:
    if state.get("reply") and state.get("intent") == "handoff":
        return {}
    language = state.get("language", "en")
    if state.get("blocked"):
        return {"reply": render("service", language, "blocked")}
    intent = state.get("intent", "smalltalk")
    results = state.get("results") or []
    models = runtime.context.models
    shown = {
        "cards": [c.model_dump() for c in perfume_cards(results, picked_only=True)],
        "formulas": [f.model_dump() for f in formula_cards(results)],
    }
    if results and models is not None and models.configured("service"):
        write = get_stream_writer()
        try:
            text = await model_roles.write_reply(
                models,
                language,
                state["message"],
                results,
                on_token=lambda token: write({"token": token}),
                window=model_roles.window(state.get("transcript") or []),
                focus=Focus.from_dict(state.get("focus")).summary(),
            )
        except ModelUnavailable as exc:
            log.warning("service role falls back to templates: %s", exc)
            write({"tokens_discarded": True})
        else:
            return {"reply": text, "roles": {**state.get("roles", {}), "service": "model"}, **shown}
    text = render_reply(intent, language, results, state.get("clarify"))
    if intent == "smalltalk" and re.search(r"thank|thanks|고마|감사", state["message"], re.IGNORECASE):
        text = render("service", language, "thanks")
    return {"reply": text, "roles": {**state.get("roles", {}), "service": "embedded"}, **shown}


async def guard_output(state: ConversationState, runtime: Runtime[Context]) -> dict[str, Any]:
    """A reply that names a perfume outside this turn's tool results or leaks a prompt is replaced:
    a model reply by the template reply written from the same results, a template one by a
    plain "nothing found"; a reply showing a formula gets its safety note."""
    text = state.get("reply", "")
    if state.get("intent") == "handoff":
        return {}  # a staff member's own words: a person answers for them, not the catalog
    results = state.get("results") or []
    language = state.get("language", "en")
    amendment = next(
        (
            (r["output"].get("validation") or r["output"]).get("amendment")
            for r in results
            if r["tool"] in ("compose_formula", "validate_formula") and "error" not in r["output"]
        ),
        None,
    )
    # A composed formula's own name ("Exotic Amber"), its materials' and allergens' ("Virginia Cedarwood Oil",
    # also a perfume of the 38k catalog) are no claims about perfumes.
    unnamed = text
    for name in sorted(_material_names(results), key=len, reverse=True):
        unnamed = unnamed.replace(name, " ")
    grounded = perfume_cards(results)
    # A grounded perfume written out in full is grounded: the names inside it ("Narciso" in "Narciso
    # Rodriguez For Her") are not read again as other perfumes.
    for card in sorted(grounded, key=lambda c: -len(f"{c.brand} {c.name}")):
        unnamed = unnamed.replace(f"{card.brand} {card.name}", " ")
    named = (await asyncio.to_thread(runtime.context.nlu.slots.read, unnamed)).perfumes
    metadata = {
        "named": sorted({f"{p['brand']} {p['name']}" for p in named}),
        "grounded_names": sorted({f"{c.brand} {c.name}" for c in grounded}),
        "grounded_ids": sorted(c.id for c in grounded),
        "shown": [{"id": c["id"], "name": f"{c['brand']} {c['name']}"} for c in state.get("cards") or []],
        "amendment": amendment,
        "language": language,
    }
    checked, failures = await runtime.context.guards.check_output(text, metadata)
    if not failures:
        return {"reply": checked} if checked != text else {}
    log.warning("output guard: %s", ", ".join(failures))
    if state.get("roles", {}).get("service") == "model":
        fallback = render_reply(state.get("intent", "smalltalk"), language, results, state.get("clarify"))
        fallback, _ = await runtime.context.guards.check_output(fallback, metadata)
        return {"reply": fallback, "roles": {**state.get("roles", {}), "service": "embedded (guard)"}}
    return {"reply": render("service", language, "recommend_none"), "cards": [], "formulas": []}


async def remember(state: ConversationState) -> dict[str, Any]:
    carried = dict(state.get("carried") or {})
    for result in state.get("results") or []:
        if result["tool"] == "get_perfume" and "id" in result["output"]:
            carried["focus_id"] = result["output"]["id"]
        if result["tool"] in ("search_perfumes", "find_similar_perfumes") and "error" not in result["output"]:
            cards = result["output"].get("results") or []
            carried.update(
                last_query=result["output"].get("query") or result["args"]["query"],
                last_filters=result["args"].get("filters") or {},
                shown_ids=[c["id"] for c in cards],
                shown_prices=[c["price"] for c in cards if c.get("price") is not None],
                focus_id=None,
            )
    focus = Focus.from_dict(state.get("focus")).refreshed(state.get("results") or [])
    profile = dict(state.get("profile") or {})
    for result in state.get("results") or []:
        remembered = result["output"].get("remembered") if result["tool"] == "remember_preference" else None
        pairs = (
            ("liked_notes", "disliked_notes"),
            ("disliked_notes", "liked_notes"),
            ("disliked_accords", "liked_accords"),
        )
        for key, other in pairs:
            notes = set((remembered or {}).get(key, []))
            if notes:  # a note now liked is no longer disliked, and the other way round
                profile[key] = sorted(set(profile.get(key, [])) | notes)
                if other in profile:
                    profile[other] = sorted(set(profile[other]) - notes)
    return {
        "carried": carried,
        "focus": focus.to_dict(),
        "profile": profile,
        "transcript": [
            {"role": "user", "content": state["message"]},
            {"role": "assistant", "content": state.get("reply", "")},
        ],
    }
