"""Everyday words for what a customer wants: a complaint is no request to compose ("candy smells make me
sick"), a wish for staying power in other words ("stuff that actually lasts"), a family kept out of a
formula ("keep citrus out of it"), and a banned material in another spelling (릴리얼)."""

from __future__ import annotations

import pytest

from agents.formula_edits import disliked_in
from agents.regulatory import _amounts, read_question
from agents.slots import SlotReader, shopping_intent
from tests.conftest import StarterIndex
from tools.perfumery.database import Perfumery, perfumery_for
from tools.search.engine import SearchEngine


@pytest.fixture(scope="module")
def reader(engine: SearchEngine, starter_index: StarterIndex) -> SlotReader:
    perfumery: Perfumery = perfumery_for(starter_index.home)
    return SlotReader(engine.parser, None, perfumery.materials)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i hate anything sweet. like gourmand candy smells make me sick. want a fresh everyday one", None),
        ("musk makes me sneeze, something clean for work", None),
        ("make me a rose scent", "compose"),
        ("could you make me something with fig?", "compose"),
    ],
)
def test_a_complaint_is_no_request_to_compose(reader: SlotReader, text: str, expected: str | None) -> None:
    assert shopping_intent("recommend", reader.read(text).to_dict(), text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Show me some vanilla perfumes that actually last, I'm tired of stuff fading by lunch",
        "a rose perfume with real staying power",
        "something woody that won't fade",
    ],
)
def test_staying_power_in_other_words(engine: SearchEngine, text: str) -> None:
    assert engine.parser.parse(text).longevity == ["long lasting", "eternal"]


@pytest.mark.parametrize(
    ("text", "disliked"),
    [
        ("Formula for a woody aromatic EDP for men. Keep citrus out of it completely.", "citrus"),
        ("compose a rose EDP, keep the musk out", "musk"),
        ("a fresh formula, leave lavender out", "lavender"),
    ],
)
def test_a_family_kept_out_of_a_formula(text: str, disliked: str) -> None:
    assert disliked in {d.lower() for d in disliked_in(text)}


def test_a_banned_material_in_another_spelling_and_a_dilution_after_its_concentration(reader: SlotReader) -> None:
    text = "릴리얼 아직 써도 돼요? 은방울꽃 향 만들 때 쓰려고요"
    question = read_question(text, reader.read(text).to_dict(), None)
    assert question is not None and question.name == "Lilial"
    assert _amounts("농축액에 5%면요? 똑같이 EDT 10%로요") == (10.0, [5.0])


@pytest.mark.parametrize(
    ("text", "ceiling"),
    [
        ("ok show me other aquatic ones under that 100k too", 100000.0),
        ("within the same 150k", 150000.0),
        ("under my 80k", 80000.0),
    ],
)
def test_a_budget_said_again_with_that_or_the_same(reader: SlotReader, text: str, ceiling: float) -> None:
    assert (reader.read(text).to_dict().get("budget") or {}).get("max") == ceiling
