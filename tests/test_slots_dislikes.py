"""Slots a conversation depends on, read as customers say them (issue 10, items 4-6): dislikes in
their everyday forms, a family word excluding its members, ages that are not decades, phone numbers
that are not years, budgets in the currency said, and perfume names only with evidence.

Phrasings here are not those of the held-out chat evaluation (agents/data/eval_chat.yaml). The slot
reader runs over the real lexicon; search and names over the session's ingested starter catalog.
"""

from __future__ import annotations

from typing import Any

import pytest

from agents.nlu import perfume_names
from agents.slots import SlotReader, shopping_intent
from tests.conftest import StarterIndex
from tools.perfumery.database import perfumery_for
from tools.search.engine import SearchEngine
from tools.search.lexicon import Lexicon
from tools.search.query import QueryParser


@pytest.fixture(scope="module")
def reader(lexicon: Lexicon) -> SlotReader:
    """Slots as the lexicon alone reads them (no catalog): fast, and what every catalog shares."""
    return SlotReader(QueryParser(lexicon, None))


@pytest.fixture(scope="module")
def named(engine: SearchEngine, starter_index: StarterIndex) -> SlotReader:
    """The slot reader the runtime builds: the starter catalog's perfume names and materials."""
    materials = perfumery_for(starter_index.home).materials
    return SlotReader(engine.parser, perfume_names(engine, materials), materials)


def read(reader: SlotReader, text: str) -> dict[str, Any]:
    return reader.read(text).to_dict()


# -- dislikes, said either way --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "notes", "accords"),
    [
        ("My boyfriend can't stand vanilla, so something fresh", ["Vanilla"], ["vanilla"]),
        ("She's not into patchouli at all", ["Patchouli"], ["patchouli"]),
        ("tonka gives me headaches", ["Tonka Bean"], []),
        ("I detest powdery scents", [], ["powdery"]),
        ("my dad doesn't like anything smoky", [], ["smoky"]),
        ("저는 바닐라 향이 너무 싫어요", ["Vanilla"], ["vanilla"]),
        ("남자친구가 스모키한 건 질색이에요", [], ["smoky"]),
        ("파우더리한 향은 저랑 잘 안 맞아요", [], ["powdery"]),
        ("머스크 들어간 향수는 전부 빼 주세요", ["Musk"], []),
        ("장미 맡으면 머리 아파요", ["Rose"], ["rose"]),
        ("엄마가 단 냄새를 싫어하세요", [], ["sweet"]),
        ("오드(침향) 향은 빼 주세요", ["Oud"], ["oud"]),
    ],
)
def test_a_dislike_said_in_everyday_words_is_an_exclusion(
    reader: SlotReader, text: str, notes: list[str], accords: list[str]
) -> None:
    slots = read(reader, text)
    assert set(notes) <= set(slots.get("disliked_notes", [])), slots
    assert set(accords) <= set(slots.get("disliked_accords", [])), slots
    assert not set(notes) & set(slots.get("liked_notes", [])), slots
    assert not set(accords) & set(slots.get("accords", [])), slots


@pytest.mark.parametrize(
    "text", ["I love vanilla", "바닐라 향 좋아해요", "장미 들어간 향수 보여 주세요", "I like musk and amber"]
)
def test_a_liked_note_is_not_read_as_a_dislike(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert slots.get("liked_notes") and not slots.get("disliked_notes"), slots


def test_a_family_word_excludes_its_members_and_a_note_its_varieties(engine: SearchEngine) -> None:
    """ "No citrus" is no bergamot, lemon or orange either; "no musk" no White Musk and no musky accord."""
    citrus = {"Bergamot", "Lemon", "Orange", "Mandarin Orange", "Grapefruit", "Lime", "Yuzu"}
    for query in ("something woody, no citrus please", "시트러스 계열은 빼고 우디한 향수"):
        results = engine.search_sync(query, 8).results
        assert results, query
        for r in results:
            perfume = engine.get(r.id)
            assert perfume is not None
            assert "citrus" not in perfume.accords and not citrus & set(perfume.notes), (query, r.name)
    for r in engine.search_sync("a floral perfume without musk", 8).results:
        perfume = engine.get(r.id)
        assert perfume is not None and "musky" not in perfume.accords
        assert not [n for n in perfume.notes if n == "Musk" or n.endswith(" Musk")], r.name


# -- ages, phone numbers, years -------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["(m, 50s) something for the office", "my mom is in her late 50s", "a gift for a woman in her 40s",
     "50대 엄마 선물이에요", "(20s, f) student", "my uncle, mid-60s, likes leather"],
)  # fmt: skip
def test_an_age_is_not_a_decade_of_launch_years(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert "year_min" not in slots and "year_max" not in slots, slots


@pytest.mark.parametrize(
    ("text", "years"), [("a 70s classic", (1970, 1979)), ("perfumes from the 2000s", (2000, 2009))]
)
def test_a_decade_without_a_person_is_still_a_decade(reader: SlotReader, text: str, years: tuple[int, int]) -> None:
    slots = read(reader, text)
    assert (slots.get("year_min"), slots.get("year_max")) == years


@pytest.mark.parametrize("text", ["연락처는 010-1999-2001이에요", "text me on +82 10 2015 2019 please"])
def test_a_phone_number_is_never_a_year_range(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert "year_min" not in slots and "year_max" not in slots, slots


# -- budgets ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("anything decent under 90k?", {"max": 90000.0}),
        ("my limit is 180,000", {"max": 180000.0}),
        ("under ₩95,000 please", {"max": 95000.0, "currency": "KRW"}),
        ("around 70,000 won", {"max": 70000.0, "currency": "KRW"}),
        ("below €60", {"max": 60.0, "currency": "EUR"}),
        ("no more than 40 dollars", {"max": 40.0, "currency": "USD"}),
        ("12만 이하로 부탁해요", {"max": 120000.0, "currency": "KRW"}),
        ("20만원 안 넘게요", {"max": 200000.0, "currency": "KRW"}),
        ("5만원대 향수", {"min": 50000.0, "max": 59999.0, "currency": "KRW"}),
        ("20만원대로 골라 주세요", {"min": 200000.0, "max": 299999.0, "currency": "KRW"}),
        ("15만원 넘는 고급 향수", {"min": 150000.0, "currency": "KRW"}),
        ("under $120, something fresh", {"max": 120.0, "currency": "USD"}),
        ("$1,200 max for a gift", {"max": 1200.0, "currency": "USD"}),
        ("80달러 이하로 찾아 주세요", {"max": 80.0, "currency": "USD"}),
        ("50유로 안쪽이면 좋겠어요", {"max": 50.0, "currency": "EUR"}),
    ],
)
def test_budget_forms(reader: SlotReader, text: str, budget: dict[str, Any]) -> None:
    assert read(reader, text).get("budget") == budget


@pytest.mark.parametrize("text", ["perfumes before 2010", "a 100ml bottle", "I'm 35 and work in an office"])
def test_numbers_that_are_no_budget(reader: SlotReader, text: str) -> None:
    assert "budget" not in read(reader, text)


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        ("compose", "a nice leather scent under 100,000 won, if you can find one", "recommend"),
        ("compose", "compose a leather formula, my budget for materials is 100,000 won", None),
        ("ingredient_info", "I want a fresh cologne but I really dislike rosemary", "recommend"),
        ("ingredient_info", "what is rosemary oil? I dislike it a bit", None),
    ],
)
def test_a_budget_or_a_dislike_makes_a_request_for_perfumes(
    named: SlotReader, intent: str, text: str, expected: str | None
) -> None:
    assert shopping_intent(intent, named.read(text).to_dict(), text) == expected


# -- perfume names need evidence --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "perfume"),
    [
        ("Is Wanted by Azzaro still popular?", ("Azzaro", "Wanted")),
        ("How long does Azzaro's Wanted last?", ("Azzaro", "Wanted")),
        ("Angel from Mugler, do you have it?", ("Thierry Mugler", "Angel")),
        ("I'd like to try Mugler Angel", ("Thierry Mugler", "Angel")),
    ],
)
def test_a_bare_name_with_its_house_is_a_perfume(named: SlotReader, text: str, perfume: tuple[str, str]) -> None:
    found = [(p["brand"], p["name"]) for p in named.read(text).perfumes]
    assert perfume in found, found


@pytest.mark.parametrize(
    "text",
    [
        "I wanted a fresh scent, Azzaro is too pricey",  # the house is named, but not beside the word
        "she is such an angel, any floral ideas?",
        "I always feel like an alien in perfume shops",
        "He wears all sorts of stuff, what do you suggest?",
        "1. Versace Dylan Blue Pour Homme (2016) - citrus, aromatic",
    ],
)
def test_everyday_words_are_no_perfume_names(named: SlotReader, text: str) -> None:
    found = [f"{p['brand']} {p['name']}" for p in named.read(text).perfumes]
    assert found in ([], ["Versace Dylan Blue Pour Homme"]), found


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("something hot and fine for him, he says", []),
        ("any niche perfume for all occasions?", []),
        ("is Angel too sweet for me?", ["angel"]),  # capitalised inside a sentence: a name
        ("my sister Angel loves roses", []),  # a person's name
        ("Mugler angel please", ["angel"]),  # with its house
        ("aventus", ["aventus"]),  # no everyday word
        ("No 2 please", []),  # a bare number alone
    ],
)
def test_leftover_words_reach_perfume_names_only_with_evidence(
    engine: SearchEngine, text: str, kept: list[str]
) -> None:
    parsed = engine.parser.parse(text)
    assert engine.parser.name_words(parsed) == kept, parsed.keywords


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("I'm 27 and cinnamon makes me sneeze, something quiet", []),  # an age is no name number
        ("she's turning 40, loves aventus", []),
        ("27살 직장인인데 Le Labo Santal 33 같은 거", ["33"]),
        ("Le Labo Santal 33 for my 27 year old brother", ["33"]),
        ("Chanel No 5 for my mom, (f, 60s)", ["5"]),
    ],
)
def test_an_age_is_never_a_number_of_a_perfume_name(engine: SearchEngine, text: str, numbers: list[str]) -> None:
    parsed = engine.parser.parse(text)
    assert [w for w in engine.parser.name_words(parsed) if w.isdigit()] == numbers, parsed.keywords


# -- dislikes a clause away, reasons, budgets left out, food in passing (fresh set, round 2) -----------
@pytest.mark.parametrize(
    ("text", "notes", "accords"),
    [
        ("장미 향은 엄마 화장대 냄새 같아서 정말 질색이에요", ["Rose"], ["rose"]),
        ("머스크 냄새는 학창시절 생각나서 싫었어요", ["Musk"], []),
        ("우디한 건 솔직히 하나도 안 들어갔으면 좋겠어요", [], ["woody"]),
        ("my boyfriend can't stand oud smells", ["Oud"], ["oud"]),
        ("he's just not a fan of patchouli", ["Patchouli"], []),
        ("she is not much of a fan of musk", ["Musk"], []),
    ],
)
def test_a_dislike_a_few_words_after_its_item_is_an_exclusion(
    reader: SlotReader, text: str, notes: list[str], accords: list[str]
) -> None:
    """A Korean dislike cue may close the clause a few words after the item, with a reason between."""
    slots = read(reader, text)
    assert set(notes) <= set(slots.get("disliked_notes", [])), slots
    assert set(accords) <= set(slots.get("disliked_accords", [])), slots
    assert not set(notes) & set(slots.get("liked_notes", [])), slots
    assert not set(accords) & set(slots.get("accords", [])), slots


@pytest.mark.parametrize(
    "text",
    ["장미는 좋은데 머스크는 친구가 쓰는 거라 싫어", "장미 향수 추천해 주세요 머스크 없는 걸로"],
)
def test_a_far_dislike_cue_reaches_only_its_own_item(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert "Rose" in slots.get("liked_notes", []) and "Musk" in slots.get("disliked_notes", []), slots


@pytest.mark.parametrize(
    "text",
    ["향이 세면 두통이 와요", "엄마가 진한 향은 두통이 온대요", "my dad gets migraines from loud colognes",
     "she gets sick from powerful perfumes"],
)  # fmt: skip
def test_a_headache_from_strong_scents_is_a_sillage_ceiling(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert slots.get("sillage") == ["intimate", "moderate"], slots
    assert slots.get("intensity") != "strong", slots


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("20만원 이상은 좀 부담돼요", {"max": 200_000.0, "currency": "KRW"}),
        ("10만원 넘어가면 빼 주세요", {"max": 100_000.0, "currency": "KRW"}),
        ("skip anything over $90 please", {"max": 90.0, "currency": "USD"}),
        ("over $120 is too much for me", {"max": 120.0, "currency": "USD"}),
        ("can't go above $80", {"max": 80.0, "currency": "USD"}),
        ("I can't spend more than 60 quid", {"max": 60.0, "currency": "GBP"}),
        ("10만원 넘으면 안 돼요", {"max": 100_000.0, "currency": "KRW"}),
        ("10만원 이상 향수 보여줘", {"min": 100_000.0, "currency": "KRW"}),
        ("something over $100", {"min": 100.0, "currency": "USD"}),
    ],
)
def test_a_floor_said_to_leave_out_what_is_above_is_a_ceiling(
    reader: SlotReader, text: str, budget: dict[str, Any]
) -> None:
    assert read(reader, text).get("budget") == budget


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("drinking some coffee while I browse, want something floral", "Coffee"),
        ("having a hot cocoa, show me woody ones", "Cocoa"),
        ("커피 마시다가 생각났는데 우디한 향 있을까요", "Coffee"),
        ("녹차 마시면서 찾는 중인데 포근한 향 있을까요", "Green Tea"),
    ],
)
def test_a_drink_had_while_writing_is_no_request(reader: SlotReader, text: str, absent: str) -> None:
    slots = read(reader, text)
    assert absent not in slots.get("liked_notes", []), slots
    assert absent.lower() not in slots.get("accords", []), slots


@pytest.mark.parametrize("text", ["I love green tea scents", "커피 향 좋아요"])
def test_a_drink_asked_for_is_still_a_note(reader: SlotReader, text: str) -> None:
    assert read(reader, text).get("liked_notes"), text


def test_an_exclusion_or_a_sillage_ceiling_never_pads_the_list(engine: SearchEngine) -> None:
    """A short list beats a perfume the customer cannot wear: the nearest misses that fill the list
    never break a dislike or a sillage ceiling, whatever else they miss."""
    for query in ("a leather perfume from the 1950s without vanilla", "1960년대 가죽 향수, 바닐라는 질색"):
        for r in engine.search_sync(query, 8).results:
            perfume = engine.get(r.id)
            assert perfume is not None
            assert "vanilla" not in perfume.accords and "Vanilla" not in perfume.notes, (query, r.name)
    for query in (
        "she gets headaches from strong stuff, a rose from the 1970s",
        "향이 강하면 머리 아파요, 1970년대 장미",
    ):
        for r in engine.search_sync(query, 8).results:
            perfume = engine.get(r.id)
            assert perfume is not None and perfume.sillage in ("intimate", "moderate"), (query, r.name)


@pytest.mark.parametrize("query", ["something gourmand for a cold night", "구르망 향수 추천해 주세요"])
def test_a_liked_family_word_is_met_by_its_members(engine: SearchEngine, query: str) -> None:
    """No starter perfume is labelled "gourmand": sweet, vanilla or caramel ones answer it."""
    results = engine.search_sync(query, 5).results
    assert results
    for r in results:
        perfume = engine.get(r.id)
        assert perfume is not None and {"sweet", "vanilla", "caramel"} & set(perfume.accords), r.name


@pytest.mark.parametrize(
    "text",
    ["향이 진하지 않은 걸로 부탁해요", "진하지 않았으면 좋겠어요", "향이 너무 세지 않게 해 주세요",
     "nothing too strong please", "something not overpowering"],
)  # fmt: skip
def test_not_strong_is_a_sillage_ceiling(reader: SlotReader, text: str) -> None:
    assert read(reader, text).get("sillage") == ["intimate", "moderate"], text


@pytest.mark.parametrize(
    "query",
    ["the air at work is pure poison, want something fresh", "my week was pure hell, need a clean soapy scent"],
)
def test_everyday_words_around_a_request_do_not_reach_the_vector(engine: SearchEngine, query: str) -> None:
    """Words that say nothing of the scent pull perfumes named by them through the vector side."""
    parsed = engine.parser.parse(query)
    assert parsed.vector_words is not None
    assert not {"poison", "hell"} & set(parsed.vector_words), parsed
    assert not {"poison", "hell"} & set(parsed.embedding_text().split()), parsed.embedding_text()


@pytest.mark.parametrize(
    ("text", "note", "accord"),
    [
        ("he hates anything with lavender in it", "Lavender", None),
        ("she can't stand stuff that smells of oud", "Oud", "oud"),
        ("avoid anything containing patchouli", "Patchouli", None),
        ("flowers are a no for her", None, "floral"),
        ("oud is a hard no", "Oud", None),
        ("꽃향기는 부담스러워요", None, "floral"),
        ("머스크 향은 좀 부담돼요", "Musk", None),
    ],
)
def test_a_dislike_of_what_carries_an_item_or_said_after_it(
    reader: SlotReader, text: str, note: str | None, accord: str | None
) -> None:
    slots = read(reader, text)
    if note:
        assert note in slots.get("disliked_notes", []) and note not in slots.get("liked_notes", []), slots
    if accord:
        assert accord in slots.get("disliked_accords", []) and accord not in slots.get("accords", []), slots


@pytest.mark.parametrize("text", ["I want something with lavender", "부담스럽지 않은 장미 향"])
def test_a_carrier_or_a_mild_word_alone_is_no_dislike(reader: SlotReader, text: str) -> None:
    slots = read(reader, text)
    assert not slots.get("disliked_notes") and not slots.get("disliked_accords"), slots
