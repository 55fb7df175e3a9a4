"""A question about the perfume in focus is answered about it, whatever the intent role called the
message alone (a handoff, a composition); asking for a person or a formula in so many words still is one."""

from __future__ import annotations

import pytest

from graphs.runtime import Runtime
from graphs.state import Context
from tests.test_regulatory_questions import ask


@pytest.mark.parametrize(
    "question",
    [
        "I heard it's basically a skin scent. can people around me even smell it?",
        "can my husband wear this too?",
        "주변 사람들이 맡을 수 있을 정도예요?",
    ],
)
async def test_a_question_about_the_perfume_in_focus_is_answered_about_it(runtime: Runtime, question: str) -> None:
    first, second = await ask(runtime, "tell me about Escentric Molecules Molecule 01", question)
    assert "Molecule 01" in first["reply"], first["reply"]
    assert second["intent"] == "product_info" and "Molecule 01" in second["reply"], second["reply"]


async def test_asking_for_a_person_about_it_is_still_a_handoff(runtime: Runtime) -> None:
    about = "tell me about Escentric Molecules Molecule 01"
    _, second = await ask(runtime, about, "can I talk to a real person about it?")
    assert second["intent"] == "handoff", second


def test_the_least_of_a_quality_picks_the_one_with_least_of_it(context: Context) -> None:
    """ "Which one is the least sweet?" picks the less sweet of two, not the sweeter."""
    sweet = {p.id: p for p in context.toolkit.engine.index.perfumes if "sweet" in p.accords[:2]}
    dry = {
        p.id: p for p in context.toolkit.engine.index.perfumes if "sweet" not in p.accords and "woody" in p.accords[:2]
    }
    pair = [next(iter(sweet)), next(iter(dry))]
    for direction, expected in (("low", pair[1]), ("high", pair[0])):
        output = context.toolkit.ask_about_perfumes(
            perfume_ids=pair, aspects=["character"], choose="best", accords=["sweet"], direction=direction
        )
        assert output["chosen_id"] == expected, (direction, output["chosen_id"])


def test_a_formulas_own_words_are_no_perfume_names_for_the_output_guard() -> None:
    """The guard reads the reply for perfume names with the formula's text taken out: on the 38k catalog the
    allergen line "Juniperus virginiana oil (Virginia cedarwood)" named the perfume Amygdala Virginia Cedarwood
    and the formula was replaced by "nothing found"."""
    from graphs.nodes import _material_names

    composed = {
        "name": "Quiet Woods",
        "ingredients": [{"name": "Virginia Cedarwood Oil", "korean_name": "버지니아 시더우드 오일", "pct": 18.6}],
        "validation": {"allergens_to_declare": ["Juniperus virginiana oil (Virginia cedarwood)"]},
        "changes": {"added": [{"name": "Verdox", "korean_name": "버독스"}]},
    }
    names = _material_names([{"tool": "compose_formula", "output": composed}, {"tool": "search_perfumes", "output": {
        "results": [{"name": "Virginia Cedarwood"}]}}])  # fmt: skip
    assert {"Quiet Woods", "버지니아 시더우드 오일", "Juniperus virginiana oil (Virginia cedarwood)", "버독스"} <= names
    assert "Virginia Cedarwood" not in names  # a search's perfumes are grounded as cards, not taken out


async def test_a_similar_search_keeps_the_families_disliked_before(runtime: Runtime) -> None:
    """ "He can't stand anything sweet or smoky" holds when the next turn asks for one like the second shown."""
    _, second = await ask(
        runtime, "he can't stand anything sweet or smoky, something woody for my bf", "anything similar to #2?"
    )
    (call,) = [r for r in second["results"] if r["tool"] == "find_similar_perfumes"]
    assert {"sweet", "smoky"} <= set(call["args"]["filters"]["exclude_accords"])
    shown = call["output"]["results"]
    assert shown and not any({"sweet", "smoky"} & set(card["accords"]) for card in shown), shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [("is the 3rd ok for a date night or too casual?", [3]), ("the second good for work?", [2]), ("my first date", [])],
)
def test_an_ordinal_before_a_judgement_is_a_rank(text: str, expected: list[int]) -> None:
    from agents.references import ranks

    assert ranks(text) == expected


async def test_a_pick_with_a_dislike_beside_it_stays_a_pick(runtime: Runtime) -> None:
    """ "Which of the two is sweeter? I'm not into very sweet" picks between the two compared, no new search."""
    _, second = await ask(
        runtime, "compare Chanel Coco Mademoiselle and Creed Aventus", "which of the two is sweeter? I'm not into sweet"
    )
    assert next(r["tool"] for r in second["results"]) == "ask_about_perfumes", second["results"]


async def test_swapping_a_restricted_material_changes_the_formula(runtime: Runtime) -> None:
    swap = "swap the oakmoss for something not restricted"
    first, second = await ask(runtime, "can you make me a chypre type formula with oakmoss? EDP", swap)
    assert first["formulas"] and second["intent"] == "compose" and second["formulas"], second["reply"]


def test_a_family_remembered_as_a_note_and_an_accord_is_said_once() -> None:
    from agents.replies import _remembered

    output = {"remembered": {"disliked_notes": ["Citrus Notes"], "disliked_accords": ["citrus"]}}
    assert _remembered(output, "en") == "I'll keep citrus out of what I suggest from now on."
