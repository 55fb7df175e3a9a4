"""Follow-up questions about what was just shown, in the many ways customers say them (Korean and
English): which perfume they mean (a rank, the edge or the middle of the list, a pick by price or by
a quality), what they ask about it (longevity as a time span, the drydown, whether people around
notice it, who can wear it, the price, size and stock), a choice that becomes "그거", and a search
for perfumes like the one in focus. New requests after a list must stay new requests.

The phrasings are our own, not the chat evaluations'; the slots are the real NLU's.
"""

from __future__ import annotations

from typing import Any

import pytest

from agents.focus import Focus
from agents.references import MIDDLE, ranks, read_follow_up, wants_similar
from graphs.runtime import Runtime
from graphs.state import Context
from tests.test_conversation import Conversation
from tools.search.engine import SearchEngine
from tools.search.fit import accord_rarity, likeness

# Chanel Coco Mademoiselle, Bleu de Chanel, Dior Sauvage, Creed Aventus, Tom Ford Tobacco Vanille
LISTED = ["ST0002", "ST0003", "ST0009", "ST0539", "ST0548"]
LIST_FOCUS = Focus(kind="list", list_ids=LISTED, group_ids=LISTED)
PAIR_FOCUS = Focus(kind="comparison", list_ids=LISTED, group_ids=["ST0003", "ST0009"])
ONE_FOCUS = Focus(kind="perfume", perfume_id="ST0539", list_ids=LISTED, group_ids=LISTED)


def follow(context: Context, text: str, focus: Focus) -> Any:
    return read_follow_up(text, context.nlu.slots.read(text).to_dict(), focus)


# -- 1. ordinals and deictics ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok and the very first one you listed, how long does it last?", [1]),
        ("the last one - is it unisex?", [-1]),
        ("맨 끝에 거 가격이 얼마예요?", [-1]),
        ("세 번째 거 여름에 괜찮아요?", [3]),
        ("the middle one, any good for the office?", [MIDDLE]),
        ("what about your top pick, how much?", [1]),
        ("첫 번째로 추천해 주신 거 지속력 어때요?", [1]),
        ("두번째꺼 남자가 써도 돼요?", [2]),
        ("second to last one - price?", [-2]),
        ("끝에서 두 번째 향수 재고 있어요?", [-2]),
        ("맨 앞에 있는 거 잔향이 어때요?", [1]),
        ("1st one, does it project much?", [1]),
        ("제일 처음 거 몇 ml예요?", [1]),
        ("둘째랑 넷째 중에 뭐가 더 달아요?", [2, 4]),
        ("the one you mentioned last, is it sweet?", [-1]),
        ("가운데 있는 거 어때요", [MIDDLE]),
        ("마지막으로 하나만, 맨 위에 있던 건 얼마예요?", [1]),  # 마지막으로: "lastly", no rank
        # no rank at all
        ("마지막에 남는 향이 뭐예요?", []),
        ("둘째 언니 생일 선물 추천해 주세요", []),
        ("처음 써보는 향수라 가벼운 게 좋아요", []),
        ("the last time I wore musk I got a headache", []),
        ("what are the top notes?", []),
        ("1번 향수 2번 뿌려도 돼요?", [1]),
        ("number two?", [2]),
        ("두번쨰꺼 재고 있어?", [2]),
        ("2nd?", [2]),
        ("the first and the last - which is sweeter?", [1, -1]),
        ("ur first rec, is it loud?", [1]),
        ("second option pls", [2]),
        ("da first one", [1]),
        ("밑에서 두 번째 거", [-2]),
        ("맨 밑에 있는 거", [-1]),
        ("끝에꺼 가격", [-1]),
        ("1이랑 3 중에 뭐가 더 오래가요", [1, 3]),
        ("my first one was a Chanel", []),
        ("is this your number one seller?", []),
        ("first, I want something fresh", []),
        ("last but not least, price?", []),
        ("맨 끝에 남는 향이 좋았으면 해요", []),
    ],
)
def test_ranks_edges_and_the_middle_are_read_in_both_languages(text: str, expected: list[int]) -> None:
    assert ranks(text) == expected


@pytest.mark.parametrize(
    ("text", "ids", "aspect"),
    [
        ("ok and the very first one you listed, how long does it last?", ["ST0002"], "longevity"),
        ("the last one - is it unisex?", ["ST0548"], "gender"),
        ("맨 끝에 거 가격이 얼마예요?", ["ST0548"], "price"),
        ("the middle one, any good for the office?", ["ST0009"], "occasion"),
        ("what about your top pick, how much?", ["ST0002"], "price"),
        ("첫 번째로 추천해 주신 거 지속력 어때요?", ["ST0002"], "longevity"),
        ("second to last one - price?", ["ST0539"], "price"),
        ("끝에서 두 번째 향수 재고 있어요?", ["ST0539"], "stock"),
        ("맨 앞에 있는 거 잔향이 어때요?", ["ST0002"], "notes"),
        ("1st one, does it project much?", ["ST0002"], "sillage"),
        ("제일 처음 거 몇 ml예요?", ["ST0002"], "size"),
        ("셋째 거 데이트할 때 어때요?", ["ST0009"], "occasion"),
        ("마지막으로, 처음에 보여준 건 매장에 몇 개 있어요?", ["ST0002"], "stock"),
    ],
)
def test_a_rank_phrase_refers_to_that_perfume_of_the_list(
    context: Context, text: str, ids: list[str], aspect: str
) -> None:
    found = follow(context, text, LIST_FOCUS)
    assert found is not None and found.ids == ids and found.how == "rank", found
    assert aspect in found.aspects, found
    if aspect != "longevity":
        assert "longevity" not in found.aspects, found  # "the last one" asks nothing about lasting


# -- 2. picks over what was shown: by price, by a quality ---------------------------------------------
@pytest.mark.parametrize(
    ("text", "choose", "aspect"),
    [
        ("추천해 주신 것들 중에 제일 싼 건 얼마예요?", "cheapest", "price"),
        ("which is the cheapest of those?", "cheapest", "price"),
        ("제일 저렴한 거 재고 있어요?", "cheapest", "stock"),
        ("lowest priced one - how big is the bottle?", "cheapest", "size"),
        ("가장 비싼 건 얼마예요?", "priciest", "price"),
        ("최저가인 거 몇 ml예요?", "cheapest", "size"),
        ("제일 오래가는 거는 뭐예요?", "best", "longevity"),
        ("which one lasts the longest?", "best", "longevity"),
        ("the most long-lasting of them?", "best", "longevity"),
        ("제일 은은한 거 어떤 거예요?", "best", "sillage"),
        ("the lightest one?", "best", "sillage"),
        ("the one with the most rose?", "best", "character"),
        ("보여준 것 중에 제일 상큼한 건 뭐예요?", "best", "mood"),
        ("which is the freshest?", "best", "mood"),
        ("the strongest one for a night out?", "best", "sillage"),
        ("of the ones you listed, which is best for winter?", "best", "season"),
    ],
)
def test_a_pick_over_the_list_by_price_or_quality(context: Context, text: str, choose: str, aspect: str) -> None:
    found = follow(context, text, LIST_FOCUS)
    assert found is not None and found.ids == LISTED and found.choose == choose, found
    assert aspect in found.aspects, found


@pytest.mark.parametrize(
    ("text", "choose", "aspect", "direction"),
    [
        ("가격이 낮은 쪽으로 할게요. 지금 매장에 있어요?", "cheapest", "stock", "high"),
        ("싼 쪽 용량은요?", "cheapest", "size", "high"),
        ("the cheaper of the two, does it last?", "cheapest", "longevity", "high"),
        ("더 저렴한 거 지속력은 어때요?", "cheapest", "longevity", "high"),
        ("I'll take the less expensive one. in stock?", "cheapest", "stock", "low"),
        ("값이 더 싼 거로 할게요 몇 ml예요?", "cheapest", "size", "high"),
        ("the pricier one - is it worth it for a date?", "priciest", "occasion", "high"),
        ("비싼 쪽은 여름에 괜찮아요?", "priciest", "season", "high"),
        ("which of the two is softer?", "best", "sillage", "low"),
        ("둘 중에 더 오래가는 건?", "best", "longevity", "high"),
    ],
)
def test_a_pick_within_the_pair(context: Context, text: str, choose: str, aspect: str, direction: str) -> None:
    found = follow(context, text, PAIR_FOCUS)
    assert found is not None and found.ids == ["ST0003", "ST0009"] and found.choose == choose, found
    assert aspect in found.aspects and found.direction == direction, found


# -- 3. a choice becomes the focus --------------------------------------------------------------------
def test_the_perfume_chosen_is_what_그거_means_and_a_tie_keeps_both(context: Context) -> None:
    asked: dict[str, Any] = {
        "tool": "ask_about_perfumes",
        "args": {},
        "output": {"perfumes": [{"id": "ST0009"}, {"id": "ST0003"}], "chosen_id": "ST0009"},
    }
    chosen = PAIR_FOCUS.refreshed([asked])
    for text in ("그거 한여름에 뿌려도 괜찮아요?", "ok is it fine in a heatwave?", "그걸로 할게요 얼마예요?"):
        found = follow(context, text, chosen)
        assert found is not None and found.ids == ["ST0009"], (text, found)
    pair = [{"id": "ST0009"}, {"id": "ST0003"}]
    tie = PAIR_FOCUS.refreshed([{**asked, "output": {"perfumes": pair, "chosen_id": None}}])
    assert tie.kind == "comparison" and tie.perfume_id is None
    found = follow(context, "그거 한여름에 뿌려도 괜찮아요?", tie)
    assert found is not None and found.ids == ["ST0003", "ST0009"], found


# -- 4. aspects asked in other words ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        # longevity as a time span
        ("would it hold up from 8 to 5?", "longevity"),
        ("밤 9시에 뿌리면 파티 끝날 때까지 버틸까요?", "longevity"),
        ("will this last through a wedding?", "longevity"),
        ("could it outlast my 12 hour shift?", "longevity"),
        ("아침에 뿌리면 하루 종일 가요?", "longevity"),
        ("점심때까지는 남아 있을까요?", "longevity"),
        ("does it make it till lunch or fade by 10?", "longevity"),
        ("퇴근할 때까지 향이 남아요?", "longevity"),
        ("is it an all-day scent?", "longevity"),
        ("금방 날아가는 편이에요?", "longevity"),
        ("how's the staying power?", "longevity"),
        # the drydown
        ("what's the drydown like?", "notes"),
        ("how does it smell at the end of the day?", "notes"),
        ("베이스 노트가 뭐예요?", "notes"),
        ("잔향은 어떤 느낌이에요?", "notes"),
        ("마지막에 남는 향이 뭐예요?", "notes"),
        ("what's in the base?", "notes"),
        ("드라이다운 어때요?", "notes"),
        ("what does it dry down to?", "notes"),
        # sillage
        ("heard it's a skin scent, will anyone around me smell it?", "sillage"),
        ("will others even notice it?", "sillage"),
        ("주변에서 맡을 수 있어요?", "sillage"),
        ("옆 사람한테 민폐 아닐까요?", "sillage"),
        ("does it fill the room?", "sillage"),
        ("티 많이 나요?", "sillage"),
        ("향이 확 퍼지는 편이에요?", "sillage"),
        ("is it too much for a funeral?", "sillage"),
        ("병원 갈 때 뿌리기엔 과한가요?", "sillage"),
        # who can wear it
        ("would my bf look silly wearing it?", "gender"),
        ("남자가 써도 돼요?", "gender"),
        ("can my husband wear this too?", "gender"),
        ("남친이 뿌려도 이상하지 않아요?", "gender"),
        ("is it too girly for a dude?", "gender"),
        ("우리 남편도 같이 써도 될까요?", "gender"),
        # occasion, price, size, stock
        ("면접 볼 때 뿌려도 괜찮아요?", "occasion"),
        ("is it ok for a job interview?", "occasion"),
        ("몇 ml예요?", "size"),
        ("몇 미리짜리예요?", "size"),
        ("얼마예요?", "price"),
        ("what's the damage?", "price"),
        ("매장에 몇 병 남았어요?", "stock"),
        ("재고 남아 있어요?", "stock"),
        ("any left in store?", "stock"),
    ],
)
def test_aspects_asked_in_other_words(context: Context, text: str, aspect: str) -> None:
    found = follow(context, text, ONE_FOCUS)
    assert found is not None and found.ids == ["ST0539"] and aspect in found.aspects, found
    if aspect == "gender":
        assert "mood" not in found.aspects, found  # "look silly" is no mood asked about


# -- new requests after a list stay new requests --------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "장미 향수 추천해 주세요",
        "any vanilla ones for winter?",
        "제일 인기 많은 남자 향수 추천해 주세요",
        "what's the best perfume for a first date?",
        "the sweetest vanilla perfume you have?",
        "다른 거 보여 주세요",
        "3번 말고 다른 거 추천해 줘",
        "could you find me something with oud under 200k",
        "이번엔 여름에 쓸 시트러스 향 찾아 주세요",
        "I want something that lasts all day, with leather",
        "하루 종일 가는 향수 있을까요?",
        "제일 오래가는 향수 추천해 주세요",
        "우디한 향 중에 제일 무난한 거 추천해줘",
        "now something for my mom, she likes lily",
        "can you make me a custom rose formula?",
        "남자친구 선물로 뭐가 좋을까요? 10만원대로",
        "둘째 언니 생일 선물 추천해 주세요",
    ],
)
def test_a_new_request_after_a_list_is_not_a_follow_up(context: Context, text: str) -> None:
    assert follow(context, text, LIST_FOCUS) is None


# -- 5. perfumes like the one in focus -----------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "음 좀 비싸네요 분위기 비슷한데 12만원 안쪽으로 몇 개 찾아줄래요?",
        "이거랑 비슷한 느낌인데 더 저렴한 거 있어요?",
        "같은 계열로 10만원 이하 있나요?",
        "anything in the same vibe under 120k?",
        "got any dupes for this?",
        "something similar but cheaper?",
        "any alternatives along those lines?",
        "like it but less pricey?",
        "이거 대체할 만한 향수 있을까요?",
        "비슷하게 가면서 덜 부담스러운 가격이면 좋겠어요",
        "그 향 좋은데 그런 결로 10만원대는요?",
        "이런 분위기로 좀 더 가벼운 거 있어요?",
        "결은 유지하고 가격만 낮춰서 찾아 주세요",
        "anything in that vibe but cheaper?",
        "something like that under 100k?",
    ],
)
def test_a_search_like_the_perfume_in_focus_is_no_question_about_it(context: Context, text: str) -> None:
    assert wants_similar(text), text
    assert follow(context, text, ONE_FOCUS) is None


@pytest.mark.parametrize(
    "text", ["그런 느낌 싫어요", "이 향수 가격이 얼마예요?", "그 향으로 주세요", "그거 지속력 어때요"]
)
def test_a_question_about_it_is_no_similar_search(text: str) -> None:
    assert not wants_similar(text)


def test_likeness_follows_the_character_not_only_the_opening(engine: SearchEngine) -> None:
    """Coco Mademoiselle (citrus, patchouli, rose, woody): a patchouli-rose chypre is more like it than a
    citrus-aquatic one that shares only its opening accord."""
    rarity = accord_rarity(engine.index.perfumes)
    coco = engine.get("ST0002")
    assert coco is not None
    others = [p for p in engine.index.perfumes if p.id != coco.id]
    best = sorted(others, key=lambda p: -likeness(coco, p, rarity))[:5]
    assert all({"patchouli", "rose"} & set(p.accords[:6]) for p in best), [(p.name, p.accords) for p in best]
    assert likeness(coco, coco, rarity) > 0.99


# -- whole turns ---------------------------------------------------------------------------------------
async def test_the_cheaper_of_two_is_chosen_then_그거_is_about_it(runtime: Runtime, engine: SearchEngine) -> None:
    chat = Conversation(runtime, "cheaper-then-it")
    await chat.say("Compare Chanel Bleu de Chanel and Creed Aventus")
    state = await chat.say("가격 싼 쪽으로 할게요. 재고 있나요?")
    assert [r["tool"] for r in state["results"]] == ["ask_about_perfumes"], state["results"]
    prices = {i: engine.get(i).price or 0 for i in ("ST0003", "ST0539")}  # type: ignore[union-attr]
    cheaper = min(prices, key=lambda i: prices[i])
    assert state["focus"]["perfume_id"] == cheaper and "재고" in state["reply"], state["reply"]
    state = await chat.say("그거 한여름에 뿌려도 괜찮아요?")
    assert [c["id"] for c in state["cards"]] == [cheaper], state["reply"]


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("I heard it's basically a skin scent. can people around me even smell it?", False),
        ("옆 사람한테 민폐 아닐까요?", False),
        ("can my husband wear this too?", False),
        ("any left in store?", False),
        ("다른 사람들이 맡으면 부담스러워할까요?", False),
        ("can I talk to a real person about this one?", True),
        ("직원분이랑 상담하고 싶어요", True),
        ("사람이랑 통화하고 싶어요", True),
        ("make me a custom blend like it", True),
        ("이런 느낌으로 조향해 주세요", True),
    ],
)
def test_a_request_for_staff_or_a_formula_is_told_from_a_question_about_people_around(text: str, asks: bool) -> None:
    from agents.references import staff_or_compose_request

    assert staff_or_compose_request(text) is asks


@pytest.mark.parametrize(
    ("language", "words"), [("ko", ("가장 저렴", "3개", "원")), ("en", ("cheapest", "3 shown", "KRW"))]
)
def test_the_cheapest_of_a_list_is_said_as_the_cheapest_of_them(
    context: Context, engine: SearchEngine, language: str, words: tuple[str, ...]
) -> None:
    from agents.replies import reply as render_reply

    ids = ["ST0002", "ST0003", "ST0539"]
    output = context.toolkit.ask_about_perfumes(perfume_ids=ids, aspects=["price"], choose="cheapest")
    text = render_reply("product_info", language, [{"tool": "ask_about_perfumes", "output": output}])
    cheapest = min(ids, key=lambda i: engine.get(i).price or 0)  # type: ignore[union-attr]
    assert output["chosen_id"] == cheapest and all(w in text for w in words), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what about the other one, how long does it last?", "ST0003"),
        ("and the other one's price?", "ST0003"),
        ("나머지 하나는 얼마예요?", "ST0003"),
        ("다른 쪽은 여름에 괜찮아요?", "ST0003"),
        ("남은 거는 남자가 써도 돼요?", "ST0003"),
    ],
)
def test_the_other_one_of_a_pair_is_the_one_not_chosen(context: Context, text: str, expected: str) -> None:
    chosen = Focus(kind="perfume", perfume_id="ST0009", list_ids=LISTED, group_ids=["ST0003", "ST0009"])
    found = follow(context, text, chosen)
    assert found is not None and found.ids == [expected], found


@pytest.mark.parametrize("text", ["show me other ones", "다른 거 보여 주세요", "any other options?"])
def test_other_perfumes_asked_for_are_a_new_request(context: Context, text: str) -> None:
    chosen = Focus(kind="perfume", perfume_id="ST0009", list_ids=LISTED, group_ids=["ST0003", "ST0009"])
    assert follow(context, text, chosen) is None
