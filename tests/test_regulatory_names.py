"""Regulatory questions in the customer's spelling (issue 10, item 7): Korean loanwords of material names
however they are transliterated, the banned form of a standard that restricts its other form, and
shopping messages that name a material as a note and are no rules question."""

from __future__ import annotations

from typing import Any

import pytest

from agents.regulatory import heard_material, read_question
from agents.slots import SlotReader
from graphs.runtime import Runtime
from tests.conftest import StarterIndex
from tests.test_regulatory_questions import ask
from tools.perfumery.database import Perfumery, perfumery_for
from tools.perfumery.usage import material_use
from tools.search.engine import SearchEngine


@pytest.fixture(scope="module")
def perfumery(starter_index: StarterIndex) -> Perfumery:
    return perfumery_for(starter_index.home)


@pytest.fixture(scope="module")
def reader(engine: SearchEngine, perfumery: Perfumery) -> SlotReader:
    return SlotReader(engine.parser, None, perfumery.materials)


@pytest.mark.parametrize(
    ("text", "material"),
    [
        ("시나밀 알코올은 0.05%면 돼요?", "Cinnamyl Alcohol"),
        ("신나밀알코올 한도가 어떻게 돼요", "Cinnamyl Alcohol"),
        ("파네솔을 0.1% 넣으면 IFRA에 걸리나요?", "Farnesol"),
        ("파르네솔 규정 궁금해요", "Farnesol"),
        ("하이드록시시트로넬랄 최대 몇 %?", "Hydroxycitronellal"),
        ("리모넨은 허용돼요?", "Limonene"),
    ],
)
def test_a_korean_loanword_is_heard_as_the_material_it_sounds_like(text: str, material: str) -> None:
    assert heard_material(text) == material


@pytest.mark.parametrize(
    "text", ["데이트할 때 뿌려도 괜찮을까요?", "완제품 대비 0.1% 넣으려고 하는데요", "여름에 써도 돼요?", "가능해요?"]
)
def test_ordinary_korean_words_are_no_material(text: str) -> None:
    assert heard_material(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "help me find him something dry and earthy, like vetiver, $110 max",
        "recommend me a perfume with lots of oakmoss under 100,000 won, max",
        "베티버 들어간 향수 추천해 주세요, 최대 15만원",
        "흙냄새 나는 베티버 같은 건 조금이라도 들어가면 안 돼요. 깔끔한 우디 향으로 보여 주세요",
    ],
)
def test_shopping_with_a_material_note_is_no_rules_question(reader: SlotReader, text: str) -> None:
    assert read_question(text, reader.read(text).to_dict(), None) is None


@pytest.mark.parametrize(
    ("text", "focus", "args"),
    [
        ("파네솔을 완제품 대비 0.1% 넣으려고 하는데 IFRA에 걸리나요?", None, {"name": "Farnesol", "pct": 0.1}),
        ("and verbena oil for a lemony top note?", "Musk moskene", {"name": "Verbena oil (Lippia citriodora)"}),
        ("is oakmoss allowed in something I'm making?", None, {"name": "Oakmoss Absolute", "limit": True}),
        ("리랄 넣어서 향수 만들어도 되나요?", None, {"name": "Lyral", "limit": True}),
    ],
)
def test_rules_questions_in_customers_words(
    reader: SlotReader, text: str, focus: str | None, args: dict[str, Any]
) -> None:
    question = read_question(text, reader.read(text).to_dict(), focus)
    assert question is not None
    got = question.tool_args()
    assert {k: got.get(k) for k in args} == args, got


def test_the_banned_form_of_a_split_standard_is_banned_and_the_other_form_limited(perfumery: Perfumery) -> None:
    oil = material_use(perfumery, "verbena oil", 0.01)
    assert oil.known and oil.prohibited and oil.allowed is False and oil.standard == "IFRA_STD_083"
    absolute = material_use(perfumery, "verbena absolute", 0.1)
    assert absolute.known and not absolute.prohibited and absolute.allowed is True
    assert absolute.limit_product_pct == pytest.approx(0.69)


async def test_the_answers_name_the_material_and_its_verdict(runtime: Runtime) -> None:
    states = await ask(runtime, "버베나 오일 넣어도 돼요?", "시나밀 알코올은 완제품 대비 0.05% 정도면 써도 되죠?")
    first, second = (s["reply"] for s in states)
    assert first.startswith("버베나 오일") and "쓸 수 없" in first and "리트세아" in first, first  # and what instead
    assert second.startswith("네, 넣을 수 있어요") and "신나밀 알코올" in second, second


@pytest.mark.parametrize(
    ("text", "dilution", "amounts"),
    [
        ("My EDP has the concentrate at 20% in alcohol. Coumarin is 4% of the concentrate. OK?", 20.0, [4.0]),
        ("my chypre uses 2% oakmoss absolute in the concentrate, and it is a 20% EDP. ok under IFRA?", 20.0, [2.0]),
        ("the most I could put in the concentrate at that same 20% dilution?", 20.0, []),
        ("이소유게놀을 농축액에 0.5% 넣고 부향률 15% 오드퍼퓸으로 만들면 괜찮은가요?", 15.0, [0.5]),
        ("농축액에 2%로 올리면요? 부향률은 그대로 15%예요", 15.0, [2.0]),
        ("My EDP is 20% concentrate. Coumarin is 4% of the concentrate", 20.0, [4.0]),
        ("is 5% coumarin OK in an EDP?", None, [5.0]),
        ("is 2% citral in the concentrate fine?", None, [2.0]),
        ("Is methyl eugenol OK in an eau de parfum at 0.5% of the finished product?", None, [0.5]),
    ],
)
def test_a_dilution_the_customer_gives_is_told_from_the_amount(
    text: str, dilution: float | None, amounts: list[float]
) -> None:
    from agents.regulatory import _amounts

    assert _amounts(text) == (dilution, amounts)


async def test_the_verdict_uses_the_customers_dilution_and_says_the_products_share(runtime: Runtime) -> None:
    question = "My EDP has the concentrate at 20%. Coumarin is 4% of the concentrate. Inside the IFRA limit?"
    (state,) = await ask(runtime, question)
    reply = state["reply"]
    # 4 % of a 20 % concentrate is 0.8 % of the product (the default EDP would have said 0.72 %).
    assert reply.startswith("Yes: 4 % Coumarin in the concentrate is 0.8 % of the finished EDP"), reply
    assert "IFRA_STD_023 Coumarin" in reply and "At 20 % concentrate" in reply, reply


async def test_asking_for_a_formula_after_a_rules_answer_composes_one(runtime: Runtime) -> None:
    sketch = "sketch me a muguet accord with one of those, as an EDT"
    _, composed = await ask(runtime, "is Lyral still allowed?", sketch)
    assert composed["intent"] == "compose" and composed["formulas"], composed["reply"]
