"""What a turn shows the customer besides its text: the perfume cards and formulas of its tool
results, as typed structures. The output guard checks these (not the reply's wording), and every
channel draws them its own way."""

from __future__ import annotations

from typing import Any, Literal

from graphs.events import AllergenLine, FormulaCard, FormulaLine, PerfumeCard

_PERFUME_TOOLS = ("search_perfumes", "get_perfume", "compare_perfumes", "find_similar_perfumes", "ask_about_perfumes")


def perfume_cards(results: list[dict[str, Any]], picked_only: bool = False) -> list[PerfumeCard]:
    """The perfumes the tools returned this turn, in order, each once: all of them are what the reply may
    name. `picked_only`: what the customer is shown, where a question that picks one of those in focus
    ("which of the two is better for summer?", "그중에 남자가 써도 되는 거") shows the one picked."""
    cards: dict[str, PerfumeCard] = {}
    for result in results:
        output = result.get("output")
        if result.get("tool") not in _PERFUME_TOOLS or not isinstance(output, dict) or "error" in output:
            continue
        found = output.get("results") or output.get("perfumes") or ([output] if "brand" in output else [])
        if picked_only and result.get("tool") == "ask_about_perfumes" and output.get("chosen_id"):
            found = [card for card in found if isinstance(card, dict) and card.get("id") == output["chosen_id"]]
        for card in found:
            if isinstance(card, dict) and "id" in card and card["id"] not in cards:
                cards[card["id"]] = PerfumeCard.model_validate(card)
    return list(cards.values())


def _lines(ingredients: list[dict[str, Any]]) -> list[FormulaLine]:
    return [FormulaLine.model_validate(i) for i in ingredients if i.get("name") is not None]


def _violations(report: dict[str, Any]) -> list[str]:
    return [str(v.get("message") or v.get("name")) for v in report.get("violations") or []]


def formula_cards(results: list[dict[str, Any]]) -> list[FormulaCard]:
    """Composed and checked formulas with their verdicts."""
    out: list[FormulaCard] = []
    for result in results:
        output = result.get("output")
        if not isinstance(output, dict) or "error" in output:
            continue
        kind: Literal["composed", "checked"]
        if result.get("tool") == "compose_formula":
            report = output.get("validation") or {}
            kind = "composed"
            ingredients = output.get("ingredients") or []
        elif result.get("tool") == "validate_formula":
            report = output
            kind = "checked"
            ingredients = (result.get("args") or {}).get("ingredients") or []
        else:
            continue
        corrected = report.get("corrected")
        out.append(
            FormulaCard(
                kind=kind,
                name=output.get("name"),
                description=output.get("description"),
                concentration=(
                    (output.get("formula") or {}).get("concentration")
                    or (result.get("args") or {}).get("concentration")
                ),
                ingredients=_lines([i for i in ingredients if isinstance(i, dict)]),
                compliant=bool(report.get("compliant")),
                amendment=str(report.get("amendment") or ""),
                violations=_violations(report),
                allergens_to_declare=[AllergenLine.model_validate(a) for a in report.get("allergens_to_declare") or []],
                corrected=_lines(corrected["ingredients"]) if corrected else None,
            )
        )
    return out
