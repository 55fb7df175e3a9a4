"""`/fragrance search | compose | validate | handoffs | help`: the product's tools for staff, answered
with Block Kit.

A command is a tool call, not a conversation: search goes to the runtime's engine, compose and
validate to the same tools the conversation calls (the toolkit over runtime.composer and
runtime.perfumery), with the brief or formula read by the same NLU and planner a chat turn uses. The
results carry the staff details a customer never sees (scores, limits against amounts, assumptions).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agents.planner import Carried, plan
from channels.slack.blocks import (
    Block,
    context,
    escape,
    fallback,
    formula_blocks,
    header,
    limited,
    perfumes_blocks,
    say,
    section,
)
from channels.slack.handoff_blocks import staff_shown
from graphs.events import PerfumeCard
from graphs.inbound import MessageRejected, clean_text
from graphs.runtime import Runtime
from graphs.shown import formula_cards
from memory.records import Ticket
from tools.search.text import is_korean

SEARCH_RESULTS = 5
VERBS = {
    "search": "search",
    "검색": "search",
    "compose": "compose",
    "조향": "compose",
    "validate": "validate",
    "check": "validate",
    "검증": "validate",
    "handoffs": "handoffs",
    "tickets": "handoffs",
    "상담": "handoffs",
    "help": "help",
    "도움말": "help",
}


@dataclass(frozen=True, slots=True)
class CommandReply:
    text: str
    blocks: list[Block]


def _sentence(text: str) -> CommandReply:
    return CommandReply(text=fallback(text), blocks=[section(escape(text))])


class Commands:
    """The command's verbs over one runtime."""

    def __init__(self, runtime: Runtime, default_language: str, permalink: Any = None) -> None:
        self.runtime = runtime
        self.default_language = default_language
        self._permalink = permalink

    async def run(self, text: str) -> CommandReply:
        """The reply to the command's text; a wrong or empty command gets the help."""
        limit = self.runtime.settings.max_message_chars
        try:
            cleaned = clean_text(text, limit)
        except MessageRejected as exc:
            if exc.reason == "empty":
                return self.help(self.default_language)
            return _sentence(say(self._language(text), "too_long", length=len(text), limit=limit))
        word, _, rest = cleaned.partition(" ")
        verb = VERBS.get(word.lower())
        rest = rest.strip()
        language = self._language(rest or word)
        if verb is None or verb == "help":
            return self.help(language, unknown=word if verb is None else None)
        if verb == "handoffs":
            return await self.handoffs(language)
        if not rest:
            return _sentence(say(language, f"{verb}_usage"))
        if verb == "search":
            return await self.search(rest, language)
        return await self.tool(verb, rest, language)

    def _language(self, text: str) -> str:
        return "ko" if is_korean(text) else self.default_language if not text.strip() else "en"

    def help(self, language: str, unknown: str | None = None) -> CommandReply:
        blocks = [section(say(language, "help"))]
        if unknown:
            blocks.insert(0, context(say(language, "unknown_command", word=escape(unknown[:40]))))
        return CommandReply(text=fallback(say(language, "help")), blocks=blocks)

    async def search(self, query: str, language: str) -> CommandReply:
        engine = self.runtime.engine
        if engine is None:
            return _sentence(say(language, "not_ready", reason=self.runtime.engine_error or ""))
        response = await engine.search(query, SEARCH_RESULTS)
        title = say(language, "search_title", query=query)
        if not response.results:
            return CommandReply(text=fallback(title), blocks=[header(title), section(say(language, "search_none"))])
        cards = [PerfumeCard.model_validate(result.to_dict()) for result in response.results]
        blocks = [header(title), *perfumes_blocks(cards, language, [r.score for r in response.results])]
        parsed = response.parsed.to_dict()
        understood = {k: v for k, v in parsed.items() if v and k not in ("text", "preferred_accords")}
        details = [say(language, "understood", what=escape(_brief(understood) or "-"))]
        if response.relaxed:
            details.append(say(language, "relaxed", what=escape(", ".join(response.relaxed))))
        details.append(say(language, "took", ms=f"{response.took_ms:.0f}"))
        blocks.append(context(*details))
        names = ", ".join(f"{c.brand} {c.name}" for c in cards)
        return CommandReply(text=fallback(f"{title}: {names}"), blocks=limited(blocks, language))

    async def tool(self, verb: str, text: str, language: str) -> CommandReply:
        """compose / validate: the NLU reads the brief or the formula lines, the planner builds the same
        tool call a chat turn would make, and the toolkit runs it off the event loop."""
        toolkit = self.runtime.context.toolkit if self.runtime.context is not None else None
        if toolkit is None:
            return _sentence(say(language, "not_ready", reason=self.runtime.engine_error or ""))
        slots = (await asyncio.to_thread(self.runtime.nlu.slots.read, text)).to_dict()
        slots.setdefault("language", language)
        calls = plan("compose" if verb == "compose" else "validate", slots, text, Carried())
        if not calls:  # validate without a line the NLU could read
            return _sentence(say(language, "validate_usage"))
        call = calls[0]
        output: dict[str, Any] = await asyncio.to_thread(getattr(toolkit, call.name), **call.args)
        if "error" in output:
            return _sentence(say(language, f"{verb}_error", error=output["error"]))
        (card,) = formula_cards([{"tool": call.name, "args": call.args, "output": output}])
        report = output.get("validation") if call.name == "compose_formula" else output
        blocks = formula_blocks(card, language, report)
        if verb == "compose":
            asked = {k: v for k, v in call.args.items() if v not in (None, [], "") and k != "language"}
            blocks.append(context(say(language, "brief", what=escape(_brief(asked)))))
        verdict = say(language, "verdict_compliant" if card.compliant else "verdict_not_compliant", amendment="")
        return CommandReply(text=fallback(f"{card.name or verb}: {verdict}"), blocks=limited(blocks, language))

    async def handoffs(self, language: str) -> CommandReply:
        service = self.runtime.service
        if service is None:
            return _sentence(say(language, "not_ready", reason=self.runtime.engine_error or ""))
        tickets = await service.open_tickets(limit=20)
        title = say(language, "handoffs_title", count=len(tickets))
        if not tickets:
            return CommandReply(text=fallback(title), blocks=[header(title), section(say(language, "handoffs_none"))])
        links = await asyncio.gather(*(self._link(ticket) for ticket in tickets))
        blocks: list[Block] = [header(title)]
        now = datetime.now(UTC)
        for ticket, link in zip(tickets, links, strict=True):
            minutes = max(0, int((now - ticket.created_at).total_seconds() // 60))
            line = say(
                language,
                "handoff_line",
                status=say(language, f"status_{ticket.status}"),
                minutes=minutes,
                staff=staff_shown(ticket.staff) if ticket.staff else "-",
                reason=escape(ticket.reason),
            )
            ids = say(language, "handoff_ids", ticket=ticket.id, conversation=ticket.conversation_id)
            blocks.append(section(f"{line}\n{link or ''}".strip()))
            blocks.append(context(ids))
        return CommandReply(text=fallback(title), blocks=limited(blocks, language))

    async def _link(self, ticket: Ticket) -> str | None:
        """The ticket's Slack thread as a link, when it was posted to the handoff channel."""
        if self._permalink is None:
            return None
        link: str | None = await self._permalink(ticket)
        return link


def _brief(values: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(show(v) for v in value)
        if isinstance(value, dict):
            return ", ".join(f"{k} {show(v)}" for k, v in value.items())
        return str(value)

    return "; ".join(f"{key}: {show(value)}" for key, value in values.items())
