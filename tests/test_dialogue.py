"""Dialogue state: what a follow-up refers to, and answers about the perfumes in focus.

References are read against a `Focus` (agents/focus.py) with the slots the real NLU reads
(agents/references.py); answers come from the real toolkit over the session's starter catalog and are
rendered by the embedded service role (agents/answers.py). The phrasings here are not those of the
held-out chat evaluation (agents/data/eval_chat.yaml): the patterns must hold for other wordings.
Whole conversations are in tests/stories/*_follow_ups.yaml and the turn tests at the end.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from agents.answers import accords as korean_accords
from agents.focus import Focus
from agents.references import ranks, read_follow_up
from agents.replies import reply as render_reply
from graphs.runtime import Runtime
from graphs.state import Context
from tests.test_conversation import Conversation
from tools.search.engine import SearchEngine

# Chanel Coco Mademoiselle, Bleu de Chanel, Dior Sauvage, Creed Aventus, Tom Ford Tobacco Vanille
LISTED = ["ST0002", "ST0003", "ST0009", "ST0539", "ST0548"]
LIST_FOCUS = Focus(kind="list", list_ids=LISTED, group_ids=LISTED)
PAIR_FOCUS = Focus(kind="comparison", list_ids=LISTED, group_ids=["ST0003", "ST0009"])
ONE_FOCUS = Focus(kind="perfume", perfume_id="ST0539", list_ids=LISTED, group_ids=LISTED)
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def follow(context: Context, text: str, focus: Focus) -> Any:
    return read_follow_up(text, context.nlu.slots.read(text).to_dict(), focus)


# -- ranks ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3번 향수는 어때요?", [3]),
        ("두 번째 꺼 노트 알려줘", [2]),
        ("세번째 거 괜찮아요?", [3]),
        ("마지막 거 가격 좀요", [-1]),
        ("맨 위에 있는 거요", [1]),
        ("the last one, how long does it last?", [-1]),
        ("what about number 4?", [4]),
        ("#2 looks good", [2]),
        ("compare 1 and 4 for me", [1, 4]),
        ("is the fifth perfume sweet?", [5]),
        ("I have a first date tomorrow", []),
        ("is 2% coumarin too much?", []),
        ("do you have 100ml bottles?", []),
        ("하루에 두 번 뿌려요", []),
    ],
)
def test_ranks_are_read_in_both_languages_and_never_from_other_numbers(text: str, expected: list[int]) -> None:
    assert ranks(text) == expected


# -- references against the focus -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "ids", "aspects", "condition"),
    [
        ("4번 향수 겨울에도 괜찮아요?", ["ST0539"], ["season"], {"season": "winter"}),
        ("두 번째 꺼는 남자가 뿌려도 돼요?", ["ST0003"], ["gender"], {"gender": "men"}),
        ("마지막 거 재고 있어요?", ["ST0548"], ["stock"], {}),
        ("the fourth one - does it work for the office?", ["ST0539"], ["occasion"], {"occasion": "office"}),
        ("is the last one unisex?", ["ST0548"], ["gender"], {}),
        ("number 3, how long does it stay on the skin?", ["ST0009"], ["longevity"], {}),
    ],
)
def test_a_rank_refers_to_the_list_shown(
    context: Context, text: str, ids: list[str], aspects: list[str], condition: dict[str, str]
) -> None:
    found = follow(context, text, LIST_FOCUS)
    assert found is not None and found.ids == ids and found.how == "rank", found
    assert set(aspects) <= set(found.aspects), found
    for key, value in condition.items():
        assert getattr(found, key) == value, found


@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        ("그 향수 가격이 얼마예요?", "price"),
        ("이건 지속력 어때요?", "longevity"),
        ("얘는 향이 강한 편이에요?", "sillage"),
        ("Does it come in a bigger bottle?", "size"),
        ("how much does this one cost?", "price"),
        ("will it be too loud for a small office?", "sillage"),
    ],
)
def test_it_and_이거_are_the_perfume_in_focus(context: Context, text: str, aspect: str) -> None:
    found = follow(context, text, ONE_FOCUS)
    assert found is not None and found.ids == ["ST0539"] and aspect in found.aspects, found


@pytest.mark.parametrize(
    ("text", "aspect"),
    [("용량은 어떻게 돼요?", "size"), ("품절은 아니죠?", "stock"), ("what does it cost?", "price")],
)
def test_a_bare_question_asks_about_the_perfume_in_focus(context: Context, text: str, aspect: str) -> None:
    found = follow(context, text, ONE_FOCUS)
    assert found is not None and found.ids == ["ST0539"] and aspect in found.aspects, found


@pytest.mark.parametrize(
    ("text", "choose", "aspect"),
    [
        ("둘 중 데이트에는 어느 쪽이 나아요?", "best", "occasion"),
        ("두 개 중에 뭐가 더 오래 남아요?", "best", "longevity"),
        ("싼 쪽으로 할게요. 용량은요?", "cheapest", "size"),
        ("which of the two is more subtle?", "best", "sillage"),
        ("the less expensive one - is it good in winter?", "cheapest", "season"),
        ("the more expensive one, how long does it last?", "priciest", "longevity"),
    ],
)
def test_a_choice_is_made_among_the_perfumes_just_compared(
    context: Context, text: str, choose: str, aspect: str
) -> None:
    found = follow(context, text, PAIR_FOCUS)
    assert found is not None and found.ids == ["ST0003", "ST0009"] and found.choose == choose, found
    assert aspect in found.aspects, found


@pytest.mark.parametrize(
    "text",
    [
        "장미 향수 추천해 주세요",
        "Show me something cheaper",
        "2번이랑 3번 비교해 주세요",
        "Any of those without vanilla?",
        "그 중에 10만원 이하인 건요?",
        "좀 더 시원한 느낌 나는 걸로요",
        "비슷한 느낌으로 더 저렴한 거 있어요?",
        "thanks, that's all",
    ],
)
def test_new_requests_refinements_and_comparisons_are_not_questions_about_the_focus(
    context: Context, text: str
) -> None:
    assert follow(context, text, LIST_FOCUS) is None


def test_nothing_in_focus_means_no_reference(context: Context) -> None:
    assert follow(context, "2번은 오래가요?", Focus()) is None
    assert follow(context, "is it unisex?", Focus()) is None


def test_the_focus_is_refreshed_by_each_turns_results() -> None:
    search = {"tool": "search_perfumes", "args": {}, "output": {"results": [{"id": i} for i in LISTED]}}
    focus = Focus().refreshed([search])
    assert (focus.kind, focus.list_ids, focus.perfume_id) == ("list", LISTED, None)
    asked = {"tool": "ask_about_perfumes", "args": {}, "output": {"perfumes": [{"id": "ST0009"}], "chosen_id": None}}
    focus = focus.refreshed([asked])
    assert (focus.kind, focus.perfume_id, focus.list_ids) == ("perfume", "ST0009", LISTED)  # ranks still count
    pair = {"tool": "compare_perfumes", "args": {}, "output": {"perfumes": [{"id": "ST0003"}, {"id": "ST0539"}]}}
    focus = focus.refreshed([pair])
    assert (focus.kind, focus.group_ids, focus.perfume_id) == ("comparison", ["ST0003", "ST0539"], None)
    composed = {
        "tool": "compose_formula",
        "args": {"fragrance_family": "rose", "liked_notes": ["Rose"], "mood": None},
        "output": {
            "name": "Rose",
            "formula": {"concentration": "EDP"},
            "ingredients": [{"name": "Rose Oil", "pct": 5}],
        },
    }
    focus = focus.refreshed([composed])
    assert focus.kind == "formula" and focus.formula is not None
    assert focus.formula["brief"] == {"fragrance_family": "rose", "liked_notes": ["Rose"]}
    assert focus.formula["lines"] == [["Rose Oil", 5]] and focus.group_ids == ["ST0003", "ST0539"]
    failed = {"tool": "get_perfume", "args": {}, "output": {"error": "no such perfume"}}
    assert focus.refreshed([failed]) == focus
    assert Focus.from_dict(focus.to_dict()) == focus


# -- answers from the card data ---------------------------------------------------------------------
def ask(context: Context, language: str, **args: Any) -> tuple[dict[str, Any], str]:
    output = context.toolkit.ask_about_perfumes(**args)
    return output, render_reply("product_info", language, [{"tool": "ask_about_perfumes", "output": output}])


def english_words(text: str) -> list[str]:
    return re.findall(
        r"\b(?:woody|citrus|fresh|sweet|amber|musky|leather|smoky|fruity|long lasting|strong|moderate)\b", text
    )


@pytest.mark.parametrize("language", ["ko", "en"])
def test_longevity_and_sillage_answers_give_the_label_with_what_it_means(
    context: Context, engine: SearchEngine, language: str
) -> None:
    aventus = engine.get("ST0539")
    assert aventus is not None
    output, text = ask(context, language, perfume_ids=["ST0539"], aspects=["longevity", "sillage"])
    assert output["perfumes"][0]["answers"]["longevity"]["label"] == aventus.longevity
    assert "Creed Aventus" in text
    if language == "ko":
        assert "지속력" in text and "확산력" in text and "시간" in text
        assert not english_words(text), text
    else:
        assert "hours" in text and "sillage" in text and not HANGUL.search(text)


@pytest.mark.parametrize(
    ("language", "season", "good", "poor"),
    [("en", "summer", "ST0003", "ST0548"), ("ko", "winter", "ST0548", "ST0003")],
)
def test_a_season_question_is_answered_with_the_accords_that_decide_it(
    context: Context, language: str, season: str, good: str, poor: str
) -> None:
    """Bleu de Chanel (citrus, aromatic) suits summer; Tobacco Vanille (tobacco, vanilla, sweet) winter."""
    output, text = ask(context, language, perfume_ids=[good, poor], aspects=["season"], season=season, choose="best")
    assert output["chosen_id"] == good
    verdicts = {p["id"]: p["answers"]["season"][season]["verdict"] for p in output["perfumes"]}
    assert verdicts[good] == "good" and verdicts[poor] != "good", verdicts
    first = text.splitlines()[0]
    assert ("I'd pick" in first) if language == "en" else ("추천해요" in first and "겨울" in first), text
    if language == "ko":
        assert not english_words(text), text


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_cheaper_one_is_chosen_by_price_and_answered_about(
    context: Context, engine: SearchEngine, language: str
) -> None:
    prices = {i: engine.get(i).price for i in ("ST0003", "ST0539")}  # type: ignore[union-attr]
    cheaper = min(prices, key=lambda i: prices[i] or 0)
    output, text = ask(
        context, language, perfume_ids=["ST0003", "ST0539"], aspects=["price", "longevity"], choose="cheapest"
    )
    assert output["chosen_id"] == cheaper and output["perfumes"][0]["id"] == cheaper
    name = "Chanel Bleu de Chanel" if cheaper == "ST0003" else "Creed Aventus"
    assert text.startswith(name), text
    assert ("저렴" in text and "원" in text) if language == "ko" else ("cheaper" in text and "KRW" in text)


@pytest.mark.parametrize(("language", "expected"), [("ko", "없고"), ("en", "not in 200 ml")])
def test_a_size_not_carried_is_said_with_the_size_that_is(
    context: Context, engine: SearchEngine, language: str, expected: str
) -> None:
    size = engine.get("ST0548").size_ml  # type: ignore[union-attr]
    _, text = ask(context, language, perfume_ids=["ST0548"], aspects=["size"], size_ml=200)
    assert expected in text and f"{size:g}" in text, text


@pytest.mark.parametrize("language", ["ko", "en"])
def test_gender_answers_say_who_it_is_sold_for(context: Context, language: str) -> None:
    _, unisex = ask(context, language, perfume_ids=["ST0548"], aspects=["gender"])
    _, women = ask(context, language, perfume_ids=["ST0002"], aspects=["gender"], gender="men")
    assert ("유니섹스" in unisex) if language == "ko" else ("unisex" in unisex), unisex
    assert ("여성용" in women) if language == "ko" else ("sold for women" in women), women


def test_korean_accord_names_cover_accords_named_for_notes() -> None:
    assert korean_accords(["lavender", "violet", "woody", "warm spicy"], "ko") == "라벤더, 바이올렛, 우디, 웜 스파이시"


# -- follow-ups in a conversation ---------------------------------------------------------------------
async def test_a_question_about_the_second_perfume_is_answered_about_it(runtime: Runtime) -> None:
    chat = Conversation(runtime, "second")
    listed = await chat.say("가을에 어울리는 우디한 향수 추천해 주세요")
    shown = [c["id"] for c in listed["results"][0]["output"]["results"]]
    state = await chat.say("두 번째 향수는 얼마나 오래가요?")
    assert [r["tool"] for r in state["results"]] == ["ask_about_perfumes"]
    (card,) = state["cards"]
    assert card["id"] == shown[1] and card["name"] in state["reply"] and "지속력" in state["reply"]
    price = await chat.say("가격은 얼마예요?")
    assert [c["id"] for c in price["cards"]] == [shown[1]] and "원" in price["reply"]


async def test_a_choice_between_two_compared_perfumes_stays_with_them(runtime: Runtime) -> None:
    chat = Conversation(runtime, "pair")
    await chat.say("Compare Chanel Bleu de Chanel and Creed Aventus")
    state = await chat.say("which of the two would be nicer on a hot day?")
    assert [r["tool"] for r in state["results"]] == ["ask_about_perfumes"]
    # The pick is shown on its own card; the reply weighs both.
    (picked,) = state["cards"]
    assert picked["id"] in {"ST0003", "ST0539"} and state["focus"]["perfume_id"] == picked["id"]
    assert "I'd pick" in state["reply"] and "Bleu de Chanel" in state["reply"] and "Aventus" in state["reply"]


async def test_similar_but_cheaper_searches_from_the_perfume_in_focus(runtime: Runtime, engine: SearchEngine) -> None:
    chat = Conversation(runtime, "similar")
    await chat.say("Tell me about Creed Aventus")
    state = await chat.say("got anything along those lines that costs less?")
    (search,) = [r for r in state["results"] if r["tool"] == "find_similar_perfumes"]
    ids = [c["id"] for c in search["output"]["results"]]
    price = engine.get("ST0539").price  # type: ignore[union-attr]
    assert ids and "ST0539" not in ids
    assert all((engine.get(i).price or 0) < (price or 0) for i in ids)  # type: ignore[union-attr]


# -- choosing the perfume in focus, shelf questions, the reply's language (issue 10) -----------------
@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        ("좋아요 이걸로 살게요. 가격은 얼마죠?", "price"),
        ("그럼 저걸로 갈게요, 사이즈는 어떻게 나와요?", "size"),
        ("그거로 정했어요. 매장에 지금 있나요?", "stock"),
        ("cool, can I pick it up in the store today?", "stock"),
        ("nice, any bottles left of that one?", "stock"),
        ("is this one still on shelves?", "stock"),
    ],
)
def test_taking_the_perfume_in_focus_and_asking_about_it(context: Context, text: str, aspect: str) -> None:
    found = follow(context, text, ONE_FOCUS)
    assert found is not None and found.ids == ["ST0539"] and aspect in found.aspects, found


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("monday blues are real (월요병 ㅠㅠ). want something bright and zesty for work", "en"),
        ('what does "포근한" mean when people describe a perfume?', "en"),
        ("my sister (언니) loves rose, anything for her birthday?", "en"),
        ("Tom Ford Oud Wood 같은 느낌의 향수 있어요?", "ko"),
        ("Maison Francis Kurkdjian Baccarat Rouge 540 가격이요", "ko"),
        ("(급해요) 선물용 향수 추천해 주세요", "ko"),
    ],
)
def test_the_reply_language_is_the_messages_own(text: str, language: str) -> None:
    from agents.language import reply_language

    assert reply_language(text) == language


async def test_an_english_message_with_a_korean_aside_is_answered_in_english(runtime: Runtime) -> None:
    chat = Conversation(runtime, "aside")
    state = await chat.say("rainy week ahead (비 온대요 ㅠ). something cozy and warm please?")
    assert state["language"] == "en" and state["reply"].startswith("Here are"), state["reply"]
    assert not HANGUL.search(state["reply"]), state["reply"]  # the search explains itself in English too


@pytest.mark.parametrize(
    ("text", "searched"),
    [
        ("exam week (시험 기간 ㅠㅠ) so I need something calming", "exam week so I need something calming"),
        ("my sister (언니) loves rose", "my sister loves rose"),
        ("장미 향 (rose) 추천해 주세요", "장미 향 (rose) 추천해 주세요"),
        ("가벼운 향수 (출근용)", "가벼운 향수 (출근용)"),
    ],
)
def test_an_english_messages_korean_aside_is_left_out_of_the_search(text: str, searched: str) -> None:
    from agents.language import own_words

    assert own_words(text) == searched
