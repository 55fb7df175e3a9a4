"""Who wears the perfume, dislikes said in more ways, and the routing of a turn after a list, as customers
say them (Korean, English, mixed script, slang):

- the wearer: a profile tag ("(m, 40s)", "28f"), a relative said alone ("고3 딸"), and a partner who is
  company ("여친이랑 데이트할 때", "dinner with my wife") rather than the one the perfume is for;
- dislikes: "neither of us can stand vetiver", "nothing with musk in it, white musk included", "I'm done
  smelling like candied pears", "조금이라도 들어가면 안 돼요", "빼 줬으면";
- routing: a lean on the last search ("same limits", "in that range"), a smell of rain and pavement (a style,
  not a formula), perfumes the customer owns (left out of a search, not compared).

The phrasings are this file's own, not those of the chat evaluation sets. The slot reader runs over the real
lexicon alone (no catalog), with two catalog names where owned perfumes are read.
"""

from __future__ import annotations

from typing import Any

import pytest

from agents.planner import Carried, plan, refines_last_search
from agents.slots import SlotReader, name_key, shopping_intent
from tools.search.lexicon import Lexicon
from tools.search.query import QueryParser

_NAMES = {
    name_key("Bleu de Chanel"): {"id": "p-bleu", "brand": "Chanel", "name": "Bleu de Chanel"},
    name_key("Sauvage"): {"id": "p-sauvage", "brand": "Christian Dior", "name": "Sauvage"},
}


@pytest.fixture(scope="module")
def reader(lexicon: Lexicon) -> SlotReader:
    return SlotReader(QueryParser(lexicon, None), _NAMES)


def read(reader: SlotReader, text: str) -> dict[str, Any]:
    return reader.read(text).to_dict()


def _disliked(slots: dict[str, Any]) -> set[str]:
    return {v.lower() for v in [*slots.get("disliked_notes", []), *slots.get("disliked_accords", [])]}


def _liked(slots: dict[str, Any]) -> set[str]:
    return {v.lower() for v in [*slots.get("liked_notes", []), *slots.get("accords", [])]}


# -- who wears it ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "gender"),
    [
        ("hey (m, 40s), after a quiet office scent", "men"),
        ("(M/35) something fresh for summer pls", "men"),
        ("28m here, want a leather scent", "men"),
        ("[male, 30s] looking for something smoky", "men"),
        ("(f, 50s) elegant and grown-up please", "women"),
        ("(F, 20s) something sweet but not sticky", "women"),
        ("32f, need an office perfume", "women"),
        ("date nights with my girlfriend, I'm a guy in my 20s", "men"),
        ("dinner with my wife on friday (m, 30s), what should I wear?", "men"),
        ("a gift for my gf, she loves peony", "women"),
        ("20대 후반 남자인데 여친이랑 데이트할 때 쓸 향수 찾아요", "men"),
        ("30대 여자예요. 남편하고 여행 갈 때 뿌릴 향수", "women"),
        ("여친한테 줄 향수 추천해 주세요", "women"),
        ("여친 선물로 뭐가 좋을까요", "women"),
        ("고3 딸 졸업 선물이에요", "women"),
        ("딸이 쓸 향수 찾고 있어요", "women"),
        ("손녀 생일 선물", "women"),
        ("아들 생일 선물로 향수", "men"),
        ("사위 선물로 괜찮은 향수", "men"),
        ("(남, 40대) 사무실용 향수", "men"),
        ("30대 남 직장인 데일리 향수", "men"),
        ("20대 후반 여 직장인이에요", "women"),
        ("여/28 달달한 향", "women"),
    ],
)
def test_the_wearer(reader: SlotReader, text: str, gender: str) -> None:
    assert read(reader, text).get("gender") == gender


@pytest.mark.parametrize(
    "text",
    [
        "a scent for date nights with my girlfriend",
        "남친하고 전시회 갈 때 쓸 향수",
        "딸기 향 나는 향수 있어요?",
        "something that lasts through a 100ml bottle",
        "me and my wife are going to paris, something chic",
        "남은 예산은 10만원이에요",
    ],
)
def test_company_sets_no_wearer(reader: SlotReader, text: str) -> None:
    assert read(reader, text).get("gender") is None


def test_a_couple_still_shares(reader: SlotReader) -> None:
    assert read(reader, "와이프랑 같이 쓸 향수")["gender"] == "unisex"


# -- dislikes -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "disliked"),
    [
        ("nothing with musk in it at all, white musk included, her skin reacts", {"musk", "white musk"}),
        ("we want a woody one, but neither of us can stand vetiver", {"vetiver"}),
        ("none of us can stand patchouli, so something fresh", {"patchouli"}),
        ("we both hate cinnamon, anything cozy otherwise", {"cinnamon"}),
        ("I'm done smelling like candied pears, something grown-up", {"pear"}),
        ("absolutely nothing fruity, I'm so done smelling like peach", {"fruity", "peach"}),
        ("not a trace of lavender please", {"lavender"}),
        ("no citrus, lemon too, it makes me sneeze", {"citrus", "lemon"}),
        ("흙냄새 나는 베티버 같은 건 조금이라도 들어가면 안 돼요", {"vetiver"}),
        ("머스크는 절대 넣으면 안 돼요", {"musk"}),
        ("바닐라는 들어가면 안돼요. 우디하게요", {"vanilla"}),
        ("패출리는 빼 줬으면 좋겠어요", {"patchouli"}),
        ("장미 향은 빼 주셨으면 해요", {"rose"}),
        ("머스크는 싫어요, 화이트 머스크까지요", {"musk", "white musk"}),
        ("라벤더 향 나면 안 돼요", {"lavender"}),
    ],
)
def test_dislikes(reader: SlotReader, text: str, disliked: set[str]) -> None:
    slots = read(reader, text)
    assert disliked <= _disliked(slots), slots
    assert not disliked & _liked(slots), slots


@pytest.mark.parametrize(
    ("text", "liked"),
    [
        ("I love pear and vanilla included, the sweeter the better", {"pear"}),
        ("rose and jasmine, oud too", {"oud"}),
        ("장미 향이 나면 좋겠어요", {"rose"}),
        ("no vanilla, I like rose or jasmine", {"jasmine", "rose"}),
    ],
)
def test_likes_stay_liked(reader: SlotReader, text: str, liked: set[str]) -> None:
    slots = read(reader, text)
    assert liked <= _liked(slots), slots
    assert not liked & _disliked(slots), slots


# -- smells of rain, wet earth and pavement ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "accord"),
    [
        ("i want smth that smells like rain hitting hot pavement?? pls help", "earthy"),
        ("petrichor vibes, like after a summer shower", "earthy"),
        ("something like wet earth and stone", "earthy"),
        ("a scent like rain on a window", "aquatic"),
        ("smells like rainwater", "aquatic"),
        ("비 온 뒤 냄새 같은 향수 찾아요", "aquatic"),
        ("빗물 냄새 나는 향수", "aquatic"),
        ("아스팔트에 비 내린 냄새 같은 향", "earthy"),
        ("젖은 흙 냄새 나는 향수 있어요?", "earthy"),
        ("thunderstorm in a bottle please", "ozonic"),
    ],
)
def test_smells_of_rain(reader: SlotReader, text: str, accord: str) -> None:
    slots = read(reader, text)
    assert accord in slots.get("accords", []), slots
    # A style asked for with no word of composing is a search, however the role read it.
    assert shopping_intent("compose", slots, text) == "recommend"


def test_a_rainy_day_is_a_mood_not_a_smell(reader: SlotReader) -> None:
    assert "aquatic" not in read(reader, "비 오는 날 창가에서 책 읽을 때 어울리는 향").get("accords", [])
    assert "aquatic" not in read(reader, "a cozy scent for a rainy day").get("accords", [])


# -- routing after a list ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Could you lean a bit more floral? Same limits.",
        "same budget but a touch woodier?",
        "something greener, same price range",
        "anything sweeter within that budget?",
        "같은 예산으로 좀 더 플로럴하게요",
        "그 가격대에서 우디한 쪽으로 더",
        "조건은 그대로 두고 좀 더 상큼하게",
    ],
)
def test_a_lean_with_the_same_limits_is_a_search(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert shopping_intent("compose", slots, text) == "recommend"
    assert refines_last_search(slots, text, Carried(last_query="fresh citrus under 150k"))


@pytest.mark.parametrize(
    "text",
    [
        "Could you lean a bit more floral?",
        "can it tilt greener",
        "maybe leaning more towards amber?",
        "좀 더 우디한 쪽으로 기울면 좋겠어요",
    ],
)
def test_a_lean_without_composing_is_no_new_formula(reader: SlotReader, text: str) -> None:
    assert shopping_intent("compose", read(reader, text), text) == "recommend"


def test_composing_with_the_same_limits_stays_a_formula(reader: SlotReader) -> None:
    text = "same budget, but compose me a floral formula"
    assert shopping_intent("compose", read(reader, text), text) == "compose"


@pytest.mark.parametrize(
    "text",
    [
        "you can text me at 010-4821-1997 when things restock. meanwhile, anything a bit woodier in that range?",
        "my number is 010 2233 4455 btw. got anything less sweet?",
        "연락은 010-1234-5678로 주세요. 그리고 좀 더 우디한 건요?",
    ],
)
def test_a_phone_number_does_not_hide_a_refinement(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert not slots.get("budget") and not slots.get("year_min") and not slots.get("year_max"), slots
    assert refines_last_search(slots, text, Carried(last_query="office scent under 100k"))


def test_a_lean_narrows_the_search_to_its_family(reader: SlotReader) -> None:
    text = "anything a bit woodier in that range?"
    carried = Carried(last_query="office scent", last_filters={"price_max": 100000, "price_currency": "KRW"})
    calls = plan("recommend", read(reader, text), text, carried)
    assert calls[0].name == "search_perfumes"
    assert "woody" in calls[0].args["filters"]["accords"]
    assert calls[0].args["filters"]["price_max"] == 100000


# -- perfumes the customer owns ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "I already own Bleu de Chanel and Sauvage and I'm bored of both. What else would work for date nights?",
        "I've worn Sauvage for years, want something different",
        "got Bleu de Chanel already, any alternatives?",
        "Sauvage is getting old for me, tired of it. anything new?",
        "Sauvage 이미 있어요. 다른 거 추천해 주세요",
        "블루 드 샤넬 말고 Bleu de Chanel 질렸어요 새로운 거요",
        "Sauvage 써 봤는데 다른 향수 뭐 있어요?",
    ],
)
def test_owned_perfumes_are_left_out(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert slots.get("owned_perfumes"), slots
    assert "Chanel" not in slots.get("brands", [])
    assert shopping_intent("compare", slots, text) == "recommend"
    calls = plan("recommend", slots, text, Carried())
    if calls[0].name == "find_similar_perfumes":  # "any alternatives?" to one: like it, never it
        assert calls[0].args["perfume_id"] in slots["owned_perfumes"]
    else:
        assert set(calls[0].args["filters"]["exclude_ids"]) == set(slots["owned_perfumes"])


@pytest.mark.parametrize(
    "text",
    [
        "is Sauvage better than Bleu de Chanel?",
        "Sauvage 어때요?",
        "how long does Bleu de Chanel last?",
        "Do you have Sauvage or other Dior ones?",
        "Sauvage 재고 있어요? 다른 매장은요?",
    ],
)
def test_named_perfumes_are_not_owned_by_default(reader: SlotReader, text: str) -> None:
    assert not read(reader, text).get("owned_perfumes")


def test_office_is_not_the_verb_work(reader: SlotReader) -> None:
    assert read(reader, "what else would work for date nights?").get("occasion") == "date"
    assert read(reader, "something for work please").get("occasion") == "office"


@pytest.mark.parametrize(
    "text",
    [
        "my nephew is 15, budget 80k, nothing too grown-up",
        "not too youthful please, she is 60",
        "너무 성숙한 느낌은 싫어요",
        "섹시한 건 별로예요",
    ],
)
def test_a_mood_ruled_out_is_not_wished_for(reader: SlotReader, text: str) -> None:
    assert read(reader, text).get("mood") is None


@pytest.mark.parametrize(("text", "mood"), [("성숙한 분위기 향수", "mature"), ("sexy but not too sweet", "sexy")])
def test_a_mood_wished_for_stays(reader: SlotReader, text: str, mood: str) -> None:
    assert read(reader, text).get("mood") == mood


@pytest.mark.parametrize(
    ("text", "disliked", "liked"),
    [
        ("absolutely nothing fruity like candied pears", {"fruity", "pear"}, set()),
        ("no sweet stuff such as vanilla or caramel", {"sweet", "vanilla", "caramel"}, set()),
        ("I hate sweet scents, especially anything with caramel", {"sweet", "caramel"}, set()),
        ("과일향은 싫어요 특히 복숭아 같은 거", {"fruity", "peach"}, set()),
        ("바닐라는 싫고 특히 장미가 좋아요", {"vanilla"}, {"rose"}),
        ("no vanilla, something like rose", {"vanilla"}, {"rose"}),
        ("I hate musk but like rose", {"musk"}, {"rose"}),
    ],
)
def test_an_example_of_a_dislike_is_disliked(
    reader: SlotReader, text: str, disliked: set[str], liked: set[str]
) -> None:
    slots = read(reader, text)
    assert disliked <= _disliked(slots), slots
    assert liked <= _liked(slots), slots
    assert not disliked & _liked(slots) and not liked & _disliked(slots), slots


@pytest.mark.parametrize(
    "text", ["엄마 생신 선물이에요, 50대 중반이세요", "재입고 되면 문자 주세요", "아빠 생일 선물로 향수 찾아요"]
)
def test_everyday_words_are_no_notes(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert not slots.get("liked_notes") and not slots.get("accords"), slots


def test_owned_names_leave_the_search_words(reader: SlotReader) -> None:
    text = "I already own Bleu de Chanel and Sauvage and I'm bored of both. What else would work for date nights?"
    calls = plan("recommend", read(reader, text), text, Carried())
    query = calls[0].args["query"].lower()
    assert "chanel" not in query and "sauvage" not in query
    assert "date nights" in query
