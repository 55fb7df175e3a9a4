"""Dislikes, budgets and the recommend-or-compose choice as customers say them in passing (Korean, English,
mixed script, slang): a dislike a few words after its item ("anything coconutty smells like sunscreen and
he hates it"), an example joined to its family ("almond 같은 고소한 향은 빼고"), several amounts of which
one is the budget ("250k is a stretch ... won't break 160k"), a raised ceiling ("I can go to 125k"), and a
style asked for with no word of composing ("a tuberose bomb, the creamier the better").

The phrasings are this file's own, not those of the chat evaluation sets. The slot reader runs over the
real lexicon alone (no catalog), which every catalog shares.
"""

from __future__ import annotations

from typing import Any

import pytest

from agents.slots import SlotReader, shopping_intent
from tools.search.lexicon import Lexicon
from tools.search.query import QueryParser


@pytest.fixture(scope="module")
def reader(lexicon: Lexicon) -> SlotReader:
    return SlotReader(QueryParser(lexicon, None))


def read(reader: SlotReader, text: str) -> dict[str, Any]:
    return reader.read(text).to_dict()


def _disliked(slots: dict[str, Any]) -> set[str]:
    return {v.lower() for v in [*slots.get("disliked_notes", []), *slots.get("disliked_accords", [])]}


def _liked(slots: dict[str, Any]) -> set[str]:
    return {v.lower() for v in [*slots.get("liked_notes", []), *slots.get("accords", [])]}


# -- dislikes said in passing --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "disliked"),
    [
        ("my grandpa says anything coconutty smells like sunscreen, hates it. 70k cap", "coconut"),
        ("my wife says vanilla smells like cheap candy and won't wear it. something woody?", "vanilla"),
        ("Oud gives my husband a headache, something clean and musky instead", "oud"),
        ("coconut makes me gag lol. looking for a summer scent", "coconut"),
        ("jasmine gives me a headache every time. something green?", "jasmine"),
        ("he always says vanilla is way too sweet for him. woody please", "vanilla"),
        ("lavender is a no-go for my dad, he wants something woody", "lavender"),
        ("I keep begging my gf to stop wearing that sugary stuff, find her something green", "sweet"),
        ("I'm done with sugary gourmands, want something clean", "sweet"),
        ("honestly over the whole oud thing, something bright and citrusy?", "oud"),
        ("ugh she hates anything smoky, find her a fresh floral", "smoky"),
        ("my mum can't do musk at all, it gives her migraines", "musk"),
        ("please no rose, she says it smells like her grandma", "rose"),
        ("hates anything with lavender or rose", "rose"),
        ("그 사람은 코코넛 향 맡으면 선크림 냄새 난다고 싫어해요", "coconut"),
        ("코코넛 향은 선크림 냄새 같아서 못 견뎌요", "coconut"),
        ("코코넛 냄새 맡으면 속이 메스꺼워요. 여름용으로 추천해 주세요", "coconut"),
        ("남편이 머스크는 별로래요. 시트러스 쪽으로 추천해 주세요", "musk"),
        ("장미 같은 꽃향은 빼고 우디한 걸로 부탁해요", "rose"),
        ("바닐라 같은 달달한 향은 별로고 우디한 걸로요", "vanilla"),
        ("머스크는 남편이 맡으면 머리 아프다 그러더라고요. 시트러스로 추천해 주세요", "musk"),
        ("엄마가 바닐라 냄새는 못 견뎌 하세요", "vanilla"),
        ("담배 냄새 나는 건 노노, 상큼한 거요", "tobacco"),
        ("hazelnut 같은 고소한 건 말고 vanilla처럼 포근한 걸로", "hazelnut"),
        ("lemon 같은 시트러스는 말고 vanilla처럼 포근한 걸로", "lemon"),
        ("라벤더 향에 알레르기가 있어요", "lavender"),
        ("계피에는 알러지 있어요", "cinnamon"),
        ("바닐라는 싸구려 사탕 냄새 같아서 별로예요", "vanilla"),
        ("우리 아빠는 가죽 냄새 나는 거 딱 질색하셔", "leather"),
        ("달달한 건 이제 좀 질렸어요. 시원한 느낌으로", "sweet"),
        ("my sister can't stand jasmine, says it smells like a hospital", "jasmine"),
        ("my dad says anything vanilla smells like cheap candy and won't touch it", "vanilla"),
        ("i'm sooo over sweet gourmand stuff lol, show me something green", "sweet"),
    ],
)
def test_a_dislike_said_in_passing_is_an_exclusion(reader: SlotReader, text: str, disliked: str) -> None:
    slots = read(reader, text)
    assert disliked in _disliked(slots), slots
    assert disliked not in _liked(slots), slots


@pytest.mark.parametrize(
    ("text", "liked", "disliked"),
    [
        ("almond 같은 고소한 향은 빼고 honey처럼 달달한 향으로 부탁해요", "honey", "almond"),
        ("hazelnut 같은 고소한 건 말고 vanilla처럼 포근한 걸로", "vanilla", "hazelnut"),
        ("스모키한 거 말고 달달한 바닐라 향으로요", "vanilla", "smoky"),
        ("i'm allergic to cinnamon so something floral please", "floral", "cinnamon"),
        ("she's allergic to lavender so nothing with that please, just a soft rose", "rose", "lavender"),
        ("coconut is a no-go, I want something creamy though", "milky", "coconut"),
        ("he can't do anything smoky, find him a fresh aquatic", "aquatic", "smoky"),
    ],
)
def test_a_dislike_does_not_reach_what_is_liked_beside_it(
    reader: SlotReader, text: str, liked: str, disliked: str
) -> None:
    slots = read(reader, text)
    assert disliked in _disliked(slots), slots
    assert liked in _liked(slots) and liked not in _disliked(slots), slots


@pytest.mark.parametrize(
    ("text", "liked"),
    [
        ("anything that smells like vanilla please", "vanilla"),
        ("I want something that smells like the beach and coconut", "coconut"),
        ("I love vanilla and amber", "vanilla"),
        ("rose and jasmine for my mom, she loves florals", "rose"),
        ("바닐라 같은 달달한 향 좋아해요", "vanilla"),
        ("코코넛처럼 달콤한 여름 향수 추천해 주세요", "coconut"),
        ("a creamy sandalwood for my boyfriend, he loves it", "sandalwood"),
        ("tuberose, the creamier the better", "tuberose"),
        ("I can't get enough of vanilla", "vanilla"),
        ("nothing beats a good rose", "rose"),
        ("never tried oud, curious about it", "oud"),
        ("rose is never too much for me", "rose"),
        ("I don't mind vanilla, something warm", "vanilla"),
        ("장미 향 싫지 않아요", "rose"),
    ],
)
def test_a_liked_item_is_never_read_as_a_dislike(reader: SlotReader, text: str, liked: str) -> None:
    slots = read(reader, text)
    assert liked in _liked(slots), slots
    assert not _disliked(slots), slots


# -- budgets -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("tbh 300k is a stretch, anything similar that won't break 180k?", {"max": 180_000.0}),
        ("200k is too steep, maybe something under 130k?", {"max": 130_000.0}),
        ("ok I can go to 150k if there's something better", {"max": 150_000.0}),
        ("i can stretch to 200k for the right one", {"max": 200_000.0}),
        ("for my uncle, 85k cap", {"max": 85_000.0}),
        ("120k tops", {"max": 120_000.0}),
        ("can't go past 100k", {"max": 100_000.0}),
        ("budget's like 90k", {"max": 90_000.0}),
        ("nothing over 80k please, something fresh", {"max": 80_000.0}),
        ("keep it below 70k if you can", {"max": 70_000.0}),
        ("I'll pay up to 140,000", {"max": 140_000.0}),
        ("something earthy for him, $95 max", {"max": 95.0, "currency": "USD"}),
        ("something over 100k, it's a big birthday", {"min": 100_000.0}),
        ("I saw it at 250,000원 but my budget is 150,000원", {"max": 150_000.0, "currency": "KRW"}),
        ("15만원 이내로 부탁드려요", {"max": 150_000.0, "currency": "KRW"}),
        ("10만 원 선에서 찾아 주세요", {"max": 100_000.0, "currency": "KRW"}),
        ("20만원은 좀 부담스럽고 12만원 정도까지요", {"max": 120_000.0, "currency": "KRW"}),
        ("25만원은 좀 부담되고 16만원 안쪽으로 있을까요?", {"max": 160_000.0, "currency": "KRW"}),
        ("13만원 넘지 않게 골라 주세요", {"max": 130_000.0, "currency": "KRW"}),
        ("9만원 밑으로 있을까요?", {"max": 90_000.0, "currency": "KRW"}),
        ("150k 안쪽으로 추천해줘", {"max": 150_000.0}),
        ("최대 18만원까지 가능해요", {"max": 180_000.0, "currency": "KRW"}),
        ("30만원은 너무 비싸요", {"max": 300_000.0, "currency": "KRW"}),
    ],
)
def test_the_budget_is_the_amount_said_as_one(reader: SlotReader, text: str, budget: dict[str, Any]) -> None:
    assert read(reader, text).get("budget") == budget


@pytest.mark.parametrize(
    "text",
    ["and would it hold up from 9 to 6?", "I'm 35, size 100ml", "in 2015 or newer", "for my 9 to 5 office job"],
)
def test_numbers_that_are_still_no_budget(reader: SlotReader, text: str) -> None:
    assert "budget" not in read(reader, text)


# -- a style with no word of composing is a request for perfumes --------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gimme a real jasmine bomb, the louder the better", "recommend"),
        ("I want a vanilla perfume, the sweeter the better", "recommend"),
        ("something with oud for winter", "recommend"),
        ("튜베로즈 진한 향수 하나 추천해 주세요", "recommend"),
        ("크리미한 샌달우드 향 있을까요", "recommend"),
        ("rose perfume for my mom, but she's allergic to lavender", "recommend"),
        ("make me a rose scent", "compose"),  # a composing word
        ("I'd like a bespoke scent for my wedding day", "compose"),
        ("나만의 장미 향수 원해요", "compose"),
        ("compose a leather formula", "compose"),
        ("장미 향 조향해 주세요", "compose"),
        ("needs more sparkle up top", None),  # a change to the formula just made
        ("another one, woody this time", None),
        ("can you beef up the base so it hangs on longer?", None),
        ("핑크페퍼는 줄이고 카다멈을 더 살려 주세요", None),
    ],
)
def test_compose_without_a_composing_word_is_a_recommendation(
    reader: SlotReader, text: str, expected: str | None
) -> None:
    assert shopping_intent("compose", read(reader, text), text) == expected


# -- adjectives made from notes, and who the perfume is for -------------------------------------------
@pytest.mark.parametrize(
    ("text", "notes"),
    [
        ("something lemony and peachy for summer", {"Lemon", "Peach"}),
        ("a figgy green scent", {"Fig"}),
        ("vetiver-ish but lighter", {"Vetiver"}),
    ],
)
def test_an_adjective_made_from_a_note_names_the_note(reader: SlotReader, text: str, notes: set[str]) -> None:
    assert notes <= set(read(reader, text).get("liked_notes", [])), read(reader, text)


def test_an_adjective_made_from_a_note_can_be_disliked(reader: SlotReader) -> None:
    slots = read(reader, "she hates anything peachy, something green")
    assert "Peach" in slots.get("disliked_notes", []) and "Peach" not in slots.get("liked_notes", []), slots


@pytest.mark.parametrize(
    ("text", "gender"),
    [
        ("help me find my bf something earthy", "men"),
        ("a gift for my hubby, he likes leather", "men"),
        ("something soft for my grandpa", "men"),
        ("my gf wants something fruity", "women"),
        ("for my grandma, something floral", "women"),
    ],
)
def test_who_the_perfume_is_for_in_everyday_words(reader: SlotReader, text: str, gender: str) -> None:
    assert read(reader, text).get("gender") == gender


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        ("recommend", "need a vetiver that smells dry and earthy, $90 max", "recommend"),  # unsure: a budget says it
        ("ingredient_info", "patchouli bomb pls", "recommend"),
        ("ingredient_info", "oakmoss chypre vibes, under 150k", "recommend"),
        ("ingredient_info", "통카빈 달달한 향 원해요", "recommend"),
        ("compose", "ylang ylang but not too heady, for a wedding", "recommend"),
        ("compose", "오크모스 느낌 나는 시프레 향수 15만원 이하", "recommend"),
        ("ingredient_info", "what is oakmoss?", None),
        ("ingredient_info", "is oakmoss allowed in a perfume", None),
        ("ingredient_info", "통카빈 써도 돼요", None),
        ("compose", "Can you concoct a perfume that smells like a bakery at dawn?", "compose"),
        ("compose", "자작나무 타르랑 인센스로 스모키한 향 섞어줘", "compose"),
        ("compose", "복숭아랑 화이트 머스크로 향 하나 조합해줘", "compose"),
        ("off_topic", "Best laptop under 1000 dollars?", None),
        ("off_topic", "100만원 이하 노트북 추천해 주세요", None),
        ("recommend", "Compose something floral for me, but lilies give me a headache", "compose"),
        ("smalltalk", "spicy stuff makes me sneeze, make me a fresh one", "compose"),
        ("recommend", "향신료는 질색이에요. 우디 향 배합 부탁해요", "compose"),
        ("recommend", "find me a perfume that blends rose and oud", None),  # buying: the role's intent stands
        ("recommend", "can you make me a list of vanilla perfumes?", None),
        ("product_info", "is Chanel Coco Mademoiselle under 200k?", None),
    ],
)
def test_the_intent_a_request_for_perfumes_shows(
    reader: SlotReader, intent: str, text: str, expected: str | None
) -> None:
    assert shopping_intent(intent, read(reader, text), text) == expected


@pytest.mark.parametrize(
    ("text", "mood"),
    [("something dry and earthy for him", "dry"), ("드라이한 우디 향 추천해 주세요", "dry"),
     ("what's in the dry down?", None), ("I have dry skin, what lasts longer?", None)],
)  # fmt: skip
def test_dry_is_a_style_but_not_in_a_drydown(reader: SlotReader, text: str, mood: str | None) -> None:
    assert read(reader, text).get("mood") == mood
