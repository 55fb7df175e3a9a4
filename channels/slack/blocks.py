"""Block Kit for staff: perfume cards and formula tables with the internals a customer never sees
(catalog ids, match scores, validation limits, the asker's stated preferences).

Pure functions from the turn's typed events (graphs/events.py) and tool results to Slack blocks. Every
text that came from a person or the catalog is escaped (no `<!channel>` from a customer's line) and cut
to Block Kit's limits, so a long catalog entry never makes Slack refuse the whole message.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from graphs.events import FormulaCard, FormulaLine, PerfumeCard
from prompts import render

Block = dict[str, Any]

MAX_BLOCKS = 50
SECTION_CHARS = 3000
FIELD_CHARS = 2000
HEADER_CHARS = 150
FALLBACK_CHARS = 3000


def say(language: str, key: str, /, **values: Any) -> str:
    """A staff-facing sentence from prompts/slack/{en,ko}.yaml."""
    return render("slack", language, key, **values)


def escape(text: str) -> str:
    """Slack's mrkdwn control characters, so text from a customer or the catalog is shown, never obeyed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_CHARS)}}


def fields_section(fields: Sequence[str], text: str | None = None) -> Block:
    block: Block = {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": cut(f, FIELD_CHARS)} for f in fields[:10]],
    }
    if text:
        block["text"] = {"type": "mrkdwn", "text": cut(text, SECTION_CHARS)}
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": cut(text, HEADER_CHARS), "emoji": True}}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(t, FIELD_CHARS)} for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def limited(blocks: list[Block], language: str) -> list[Block]:
    """At most Block Kit's 50 blocks; what is left out is counted in the last one."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], context(say(language, "more_left_out", count=len(blocks) - MAX_BLOCKS + 1))]


def fallback(text: str) -> str:
    """The message's plain `text`: notifications and screen readers read it."""
    return cut(text.strip() or "…", FALLBACK_CHARS)


# -- tables in a code block (Slack has no table block every client draws) -----------------------------
def _width(text: str) -> int:
    """Columns `text` takes in a monospace font: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


TABLE_ROWS = 40
"""Rows of one table: 40 lines of 40-column cells stay within a section's 3000 characters' reach."""


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[bool] = ()) -> str:
    """Rows as an aligned monospace table in a code block; cells are cut at 40 columns, rows after the
    40th are counted on a last line (the code block must close inside the section's limit)."""
    listed = list(rows)
    body = [[cut(" ".join(str(c).split()), 40).replace("`", "'") for c in row] for row in listed[:TABLE_ROWS]]
    widths = [max([_width(h), *(_width(r[i]) for r in body)]) for i, h in enumerate(headers)]
    aligned = [i < len(right) and right[i] for i in range(len(headers))]
    lines = ["  ".join(_pad(h, w, a) for h, w, a in zip(headers, widths, aligned, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(c, w, a) for c, w, a in zip(r, widths, aligned, strict=True)).rstrip() for r in body]
    if len(listed) > TABLE_ROWS:
        lines.append(f"… +{len(listed) - TABLE_ROWS}")
    return "```\n" + "\n".join(lines) + "\n```"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


# -- perfumes -----------------------------------------------------------------------------------------
def perfume_blocks(card: PerfumeCard, language: str, score: float | None = None) -> list[Block]:
    """One catalog perfume as staff see it: the card a customer would see plus its catalog id (and the
    match score when search gave one)."""
    year = f" ({card.year})" if card.year else ""
    title = f"*{escape(card.brand)} {escape(card.name)}*{year}  ·  `{escape(card.id)}`"
    lines = [title]
    if card.accords:
        lines.append(escape(", ".join(card.accords)))
    if card.top_notes or card.heart_notes or card.base_notes:
        for key, notes in (("top", card.top_notes), ("heart", card.heart_notes), ("base", card.base_notes)):
            if notes:
                lines.append(f"_{say(language, key)}_: {escape(', '.join(notes))}")
    elif card.notes:
        lines.append(f"_{say(language, 'notes')}_: {escape(', '.join(card.notes))}")
    if card.reason:
        lines.append(f"> {escape(card.reason)}")
    fields = []
    if card.price is not None:
        size = f" / {card.size_ml:g} ml" if card.size_ml else ""
        fields.append(f"*{say(language, 'price')}*\n{card.price:,.0f} {escape(card.currency or '')}{size}".rstrip())
    if card.stock is not None:
        fields.append(f"*{say(language, 'stock')}*\n{card.stock}")
    if card.longevity or card.sillage:
        fields.append(f"*{say(language, 'wear')}*\n{escape(card.longevity or '-')} / {escape(card.sillage or '-')}")
    if card.gender:
        fields.append(f"*{say(language, 'gender')}*\n{escape(card.gender)}")
    blocks = [fields_section(fields, "\n".join(lines)) if fields else section("\n".join(lines))]
    notes = []
    if card.sample_data:
        notes.append(say(language, "sample_data"))
    if score is not None:
        notes.append(say(language, "score", score=f"{score:.3f}"))
    if notes:
        blocks.append(context(*notes))
    return blocks


def perfumes_blocks(cards: Sequence[PerfumeCard], language: str, scores: Sequence[float] | None = None) -> list[Block]:
    blocks: list[Block] = []
    for i, card in enumerate(cards):
        blocks += perfume_blocks(card, language, scores[i] if scores is not None else None)
    return blocks


# -- formulas -----------------------------------------------------------------------------------------
def _formula_table(lines: Sequence[FormulaLine], language: str) -> str:
    return table(
        [say(language, "col_pct"), say(language, "col_material"), say(language, "col_layer")],
        [[f"{line.pct:.2f}", line.name, line.layer or ""] for line in lines],
        right=[True],
    )


def verdict_text(compliant: bool, amendment: str, language: str, judgeable: bool = True) -> str:
    key = "verdict_compliant" if compliant else ("verdict_not_compliant" if judgeable else "verdict_cannot_judge")
    return say(language, key, amendment=escape(amendment or "IFRA"))


def formula_blocks(card: FormulaCard, language: str, report: dict[str, Any] | None = None) -> list[Block]:
    """A composed or checked formula: its table, the verdict, what breaks a rule, the allergens to
    declare and the corrected formula. `report` (the validator's full report, when the caller has it)
    adds the staff details: each limit against the amount found, warnings, assumptions, substitutes."""
    title = card.name or say(language, "formula_checked" if card.kind == "checked" else "formula_composed")
    concentration = f" · {card.concentration}" if card.concentration else ""
    blocks: list[Block] = [header(f"{title}{concentration}")]
    if card.description:
        blocks.append(section(escape(card.description)))
    if card.ingredients:
        blocks.append(section(_formula_table(card.ingredients, language)))
    judgeable = bool(report.get("judgeable", True)) if report else True
    blocks.append(section(verdict_text(card.compliant, card.amendment, language, judgeable)))
    violations = (report or {}).get("violations") or []
    if violations:
        rows = [
            [str(v.get("name") or ""), str(v.get("kind") or ""), _pct(v.get("limit_pct")), _pct(v.get("actual_pct"))]
            for v in violations
        ]
        heads = [say(language, k) for k in ("col_material", "col_rule", "col_limit", "col_found")]
        listed = table(heads, rows, right=[False, False, True, True])
        blocks.append(section(f"*{say(language, 'violations')}*\n{listed}"))
    elif card.violations:
        listed = "\n".join(f"• {escape(v)}" for v in card.violations)
        blocks.append(section(f"*{say(language, 'violations')}*\n{listed}"))
    if report and report.get("cannot_judge"):
        blocks.append(section(escape(str(report["cannot_judge"]))))
    if card.allergens_to_declare:
        rows = [[a.name, a.cas or "", _pct(a.finished_pct)] for a in card.allergens_to_declare]
        heads = [say(language, k) for k in ("col_allergen", "col_cas", "col_finished")]
        blocks.append(section(f"*{say(language, 'allergens')}*\n" + table(heads, rows, right=[False, False, True])))
    else:
        blocks.append(context(say(language, "no_allergens")))
    if card.corrected:
        blocks.append(section(f"*{say(language, 'corrected')}*\n" + _formula_table(card.corrected, language)))
    details = _report_details(report or {}, language)
    if details:
        blocks.append(context(*details))
    return blocks


def _report_details(report: dict[str, Any], language: str) -> list[str]:
    out: list[str] = []
    for key in ("warnings", "assumed", "notes"):
        items = [str(i) for i in report.get(key) or []]
        if items:
            out.append(f"*{say(language, f'report_{key}')}*: " + escape("; ".join(items)))
    substitutes = report.get("substitutes") or {}
    for material, options in list(substitutes.items())[:5]:
        names = ", ".join(str(o.get("substitute") or o.get("name") or o) for o in options[:5])
        out.append(say(language, "substitutes", material=escape(str(material)), options=escape(names)))
    if report.get("correction_note"):
        out.append(escape(str(report["correction_note"])))
    if report.get("concentrate_sum_pct") is not None:
        out.append(
            say(
                language,
                "concentrate",
                total=_pct(report["concentrate_sum_pct"]),
                dilution=_pct(report.get("dilution_pct")),
                category=escape(str(report.get("ifra_category") or "")),
            )
        )
    return out


# -- preferences --------------------------------------------------------------------------------------
def preferences_text(preferences: dict[str, Any], language: str) -> str | None:
    """A customer's stated preferences on one line, or None when they stated none."""
    parts = []
    for key in ("liked_notes", "disliked_notes", "liked_accords", "disliked_accords"):
        values = preferences.get(key) or []
        if values:
            parts.append(f"{say(language, key)}: {escape(', '.join(str(v) for v in values))}")
    if preferences.get("budget_max"):
        parts.append(f"{say(language, 'budget')}: {preferences['budget_max']:,.0f} {preferences.get('currency') or ''}")
    if preferences.get("language"):
        parts.append(f"{say(language, 'language')}: {preferences['language']}")
    return " · ".join(parts).strip() or None
