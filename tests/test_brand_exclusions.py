"""A house the customer rules out ("please no Dior", "샤넬 말고 다른 브랜드로") is left out of the search, is no
wish for that house, and stays out for the rest of the conversation; a turn that only rules a house out after a
list refines that list. Phrasings are our own (Korean, English, slang, mixed script), not the eval sets'."""

from __future__ import annotations

from typing import Any

import pytest

from agents.planner import Carried, plan
from agents.slots import SlotReader
from tools.search.engine import SearchEngine
from tools.search.lexicon import Lexicon
from tools.search.query import QueryParser


@pytest.fixture(scope="module")
def parser(lexicon: Lexicon, catalog_brands: set[str]) -> QueryParser:
    return QueryParser(lexicon, catalog_brands=catalog_brands)


RULED_OUT = [
    ("I want a woody scent, budget around 200k won. Please no Dior, I've had enough of it", "Christian Dior"),
    ("anything but Chanel for my mom", "Chanel"),
    ("something fresh, not Versace", "Versace"),
    ("I'm bored of Jo Malone, something woody", "Jo Malone London"),
    ("other than Diptyque, what smells like fig?", "Diptyque"),
    ("no more Gucci pls, want a floral", "Gucci"),
    ("a warm amber without Tom Ford, too pricey", "Tom Ford"),
    ("except Le Labo, any good sandalwood?", "Le Labo"),
    ("sick of Dior tbh. citrus for summer?", "Christian Dior"),
    ("besides Chanel what do you have in rose", "Chanel"),
    ("샤넬 말고 다른 브랜드로 여자 향수 추천해 주세요", "Chanel"),
    ("르라보 말고 샌달우드 향 좋은 거 있어요?", "Le Labo"),
    ("디올은 빼고 우디한 향 추천해줘", "Christian Dior"),
    ("조말론 제외하고 시트러스 향수", "Jo Malone London"),
    ("톰포드 외에 따뜻한 향 있어요?", "Tom Ford"),
    ("딥티크 아닌 걸로 무화과 향", "Diptyque"),
    ("구찌는 질렸어요 플로럴로요", "Gucci"),
    ("샤넬꺼 말고 머스크 향", "Chanel"),
    ("베르사체 빼구 상큼한거", "Versace"),
    ("디올 말고 다른 브랜드로 20만원 이하", "Christian Dior"),
]


@pytest.mark.parametrize(("text", "brand"), RULED_OUT)
def test_a_brand_ruled_out_is_excluded_not_wished(parser: QueryParser, text: str, brand: str) -> None:
    parsed = parser.parse(text)
    assert brand in parsed.exclude_brands, (text, parsed.exclude_brands)
    assert brand not in parsed.brands, (text, parsed.brands)


WISHED = [
    ("I love Chanel, something powdery", "Chanel"),
    ("샤넬 향수 추천해 주세요", "Chanel"),
    ("디올 우디 향수 있어요?", "Christian Dior"),
    ("a Le Labo scent for a gift", "Le Labo"),
    ("Tom Ford under 300k?", "Tom Ford"),
]


@pytest.mark.parametrize(("text", "brand"), WISHED)
def test_a_brand_named_plainly_is_still_wished(parser: QueryParser, text: str, brand: str) -> None:
    parsed = parser.parse(text)
    assert brand in parsed.brands and not parsed.exclude_brands, (text, parsed)


def test_a_preferred_house_and_one_ruled_out(parser: QueryParser) -> None:
    parsed = parser.parse("Chanel instead of Dior")
    assert parsed.brands == ["Chanel"] and parsed.exclude_brands == ["Christian Dior"]


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("I want a woody scent for myself. Please no Dior, had enough of it", "Christian Dior"),
        ("샤넬 말고 다른 브랜드로 여자 향수 추천해 주세요", "Chanel"),
        ("르라보 말고 샌달우드 향 좋은 거 있어요?", "Le Labo"),
        ("anything but Tom Ford, warm amber please", "Tom Ford"),
    ],
)
async def test_search_leaves_the_house_out(engine: SearchEngine, text: str, brand: str) -> None:
    response = await engine.search(text, top_k=10)
    assert response.results
    assert all(r.brand != brand for r in response.results), [r.brand for r in response.results]
    assert all(brand not in r.reason for r in response.results)


async def test_an_exclusion_carried_in_filters_holds(engine: SearchEngine) -> None:
    response = await engine.search("fresh citrus", top_k=10, filters={"exclude_brands": ["Dior", "샤넬"]})
    brands = {r.brand for r in response.results}
    assert response.results and not brands & {"Christian Dior", "Chanel"}


@pytest.fixture(scope="module")
def reader(engine: SearchEngine) -> SlotReader:
    return SlotReader(engine.parser)


def slots_of(reader: SlotReader, text: str) -> dict[str, Any]:
    return reader.read(text).to_dict()


def test_planner_carries_the_house_out_to_later_searches(reader: SlotReader) -> None:
    said = "woody scent please, no Dior"
    first = plan("recommend", slots_of(reader, said), said, Carried())
    assert first[0].args["filters"]["exclude_brands"] == ["Christian Dior"]
    carried = Carried(last_query=said, last_filters=first[0].args["filters"])
    later = plan("recommend", slots_of(reader, "now something floral"), "now something floral", carried)
    assert "Christian Dior" in later[0].args["filters"]["exclude_brands"]


@pytest.mark.parametrize(
    "text",
    [
        "not Versace, he thinks it's flashy. other ones?",
        "베르사체 말고요",
        "no Dior pls",
        "디올은 빼고 다시 보여줘",
        "anything but Chanel?",
    ],
)
@pytest.mark.parametrize("intent", ["recommend", "product_info", "smalltalk"])
def test_ruling_a_house_out_after_a_list_refines_it(reader: SlotReader, text: str, intent: str) -> None:
    carried = Carried(last_query="fresh citrus cologne for my boyfriend", shown_ids=["a", "b", "c"])
    (call,) = plan(intent, slots_of(reader, text), text, carried)[:1]
    assert call.name == "search_perfumes"
    assert call.args["query"].startswith("fresh citrus cologne")
    assert call.args["filters"]["exclude_brands"]


def test_the_slots_carry_the_houses_ruled_out(reader: SlotReader) -> None:
    assert slots_of(reader, "샤넬 말고 추천")["disliked_brands"] == ["Chanel"]
    assert slots_of(reader, "샤넬 향수 추천").get("disliked_brands") in (None, [])


@pytest.mark.parametrize("text", ["not Versace either. others?", "any other ones?", "다른 거 또 있어요?"])
def test_asking_for_others_after_a_list_leaves_the_list_out(reader: SlotReader, text: str) -> None:
    carried = Carried(last_query="woody scent for me", shown_ids=["a", "b", "c"])
    (call,) = plan("recommend", slots_of(reader, text), text, carried)[:1]
    assert call.name == "search_perfumes" and {"a", "b", "c"} <= set(call.args["filters"]["exclude_ids"])
