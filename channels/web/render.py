"""What the browser draws for a turn's structured events: the props of the perfume cards
(public/elements/PerfumeCards.jsx) and of the formula table (public/elements/FormulaTable.jsx),
in the customer's language.

Everything shown comes from the event's fields (the catalog, the validator); this module only
picks the customer's words for them: labels from prompts/web, Korean names of notes and accords
from the lexicon, prices in the shop's currency. Plain data in, plain JSON-able dicts out, so the
same props are stored in the chat history and drawn again after a reload.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from graphs.events import FormulaCard, FormulaLine, PerfumeCard
from graphs.inbound import Language
from prompts import render
from tools.search.lexicon import Lexicon

_LEVELS = {
    "ko": {
        "very weak": "매우 약함",
        "weak": "약함",
        "moderate": "보통",
        "long lasting": "오래감",
        "eternal": "매우 오래감",
        "intimate": "은은함",
        "strong": "강함",
        "enormous": "매우 강함",
    }
}


_ITEM = re.compile(r"\s{0,3}(\d{1,2}[.)]|[-*•])\s")


def _kind(line: str) -> str:
    if not line.strip():
        return "blank"
    if line.startswith("    ") or line.startswith("\t"):
        return "code"
    return "item" if _ITEM.match(line) else "text"


def as_markdown(text: str) -> str:
    """The service's plain text for Chainlit's Markdown renderer, which would otherwise run lines
    together: each line stays a line (a paragraph), a list stays a list, and the aligned lines of a
    formula stay one block."""
    lines = text.split("\n")
    out = [lines[0]]
    for previous, line in itertools.pairwise(lines):
        together = _kind(previous) == _kind(line) and _kind(line) in ("item", "code")
        out.append(("\n" if together else "\n\n") + line)
    return "".join(out)


def words(language: Language, key: str, **values: Any) -> str:
    """One of the web chat's own sentences or labels (prompts/web)."""
    return render("web", language, key, **values)


def ui_language(locale: str | None) -> Language:
    """The interface's language for a browser locale: Korean for ko-*, English for anything else."""
    return "ko" if (locale or "").lower().startswith("ko") else "en"


def price_text(card: PerfumeCard, language: Language) -> str | None:
    if card.price is None:
        return None
    currency = (card.currency or "").upper()
    amount = f"{card.price:,.0f}" if card.price == int(card.price) else f"{card.price:,.2f}"
    if currency == "KRW":
        return f"{amount}원" if language == "ko" else f"₩{amount}"
    return f"{amount} {currency}".strip()


def _note(lexicon: Lexicon, language: Language, note: str) -> str:
    return lexicon.korean("note", note) if language == "ko" else note


def _level(language: Language, value: str | None) -> str | None:
    if value is None:
        return None
    return _LEVELS.get(language, {}).get(value.lower(), value)


def perfume_props(cards: list[PerfumeCard], language: Language, lexicon: Lexicon) -> dict[str, Any]:
    """Props of one row of perfume cards."""
    shown = []
    for card in cards:
        pyramid = [
            {"label": words(language, key), "notes": [_note(lexicon, language, n) for n in notes]}
            for key, notes in (
                ("card_top", card.top_notes),
                ("card_heart", card.heart_notes),
                ("card_base", card.base_notes),
            )
            if notes
        ]
        if not pyramid and card.notes:  # no pyramid in the catalog: its notes, not invented layers
            pyramid = [
                {"label": words(language, "card_notes"), "notes": [_note(lexicon, language, n) for n in card.notes[:8]]}
            ]
        stock = None
        if card.stock is not None:
            stock = (
                words(language, "card_in_stock", count=card.stock)
                if card.stock > 0
                else words(language, "card_out_of_stock")
            )
        shown.append(
            {
                "id": card.id,
                "brand": card.brand,
                "name": card.name,
                "year": card.year,
                "accords": [lexicon.korean("accord", a) if language == "ko" else a for a in card.accords[:4]],
                "pyramid": pyramid,
                "why": card.reason,
                "longevity": _level(language, card.longevity),
                "sillage": _level(language, card.sillage),
                "price": price_text(card, language),
                "size": f"{card.size_ml:g} ml" if card.size_ml else None,
                "stock": stock,
                "inStock": card.stock is None or card.stock > 0,
                "sample": card.sample_data,
            }
        )
    return {
        "cards": shown,
        "labels": {key: words(language, f"card_{key}") for key in ("longevity", "sillage", "sample", "sample_hint")},
    }


def _lines(lines: list[FormulaLine], language: Language) -> list[dict[str, Any]]:
    return [
        {
            "name": line.name,
            "pct": round(line.pct, 2),
            "layer": words(language, f"layer_{line.layer}") if line.layer in ("top", "heart", "base") else line.layer,
        }
        for line in lines
    ]


def formula_props(formula: FormulaCard, language: Language) -> dict[str, Any]:
    """Props of one formula table: the verdict, the lines, what breaks the rules, the allergens to
    declare and the corrected formula when there is one."""
    amendment = formula.amendment or "IFRA"
    return {
        "kind": words(language, f"formula_{formula.kind}"),
        "name": formula.name,
        "description": formula.description,
        "concentration": formula.concentration,
        "compliant": formula.compliant,
        "verdict": words(
            language, "formula_compliant" if formula.compliant else "formula_not_compliant", amendment=amendment
        ),
        "lines": _lines(formula.ingredients, language),
        "violations": formula.violations,
        "allergens": [
            {"name": a.name, "cas": a.cas, "pct": None if a.finished_pct is None else round(a.finished_pct, 4)}
            for a in formula.allergens_to_declare
        ],
        "corrected": _lines(formula.corrected, language) if formula.corrected else None,
        "labels": {
            key: words(language, f"formula_{key}")
            for key in (
                "material",
                "pct",
                "layer",
                "allergens",
                "no_allergens",
                "corrected",
                "violations",
                "in_product",
            )
        },
    }
