"""Changes to a composed formula and dislikes stated beside a formula request, in everyday words.

Customers do not say "more citrus in the top layer": they say "needs more sparkle up top", "the drydown
is too thin", "첫 향이 좀 밋밋해요", "the jasmine's getting buried", "핑크페퍼는 줄이고 카다멈은 살려 줘",
"농도는 오드투왈렛 정도로". A family taken out ("향신료는 몽땅 빼 주세요") reaches every material of it,
aroma chemicals included (eugenol is clove), and a reaction ("makes me queasy", "머리 아파요") keeps a
note out of a first formula. Nothing here fires without a formula in focus, and a question or a search
after a formula stays what it is. The phrasings are our own, not those of any chat evaluation set.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from agents.formula_edits import concentration_in, disliked_in, edit_requested
from agents.slots import SlotReader
from graphs.inbound import Inbound
from graphs.runtime import Runtime
from tools.perfumery.database import Perfumery
from tools.search.lexicon import Lexicon
from tools.search.query import QueryParser

HANGUL = re.compile(r"[\uac00-\ud7a3]")
FOCUSED = {"brief": {"fragrance_family": "floral", "concentration": "EDP", "more_notes": ["Pear"]}}


@pytest.fixture(scope="module")
def reader(lexicon: Lexicon) -> SlotReader:
    return SlotReader(QueryParser(lexicon, None))


def _lower(values: list[str]) -> set[str]:
    return {v.lower() for v in values}


# -- reading a change -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "more", "less", "without"),
    [
        # a layer, brighter
        ("could use a bit more zing at the start", ["fresh", "layer:top"], [], []),
        ("the opening feels flat, brighten it up", ["fresh", "layer:top"], [], []),
        ("첫 향이 좀 밋밋해요, 더 상큼하게 해 주세요", ["fresh", "layer:top"], [], []),
        ("탑 노트를 좀 더 화사하게", ["citrus", "layer:top"], [], []),
        ("the drydown is too thin, give it more body", ["layer:base"], [], []),
        ("베이스를 좀 더 보강해 주세요", ["layer:base"], [], []),
        # a note named, and a complaint giving the direction
        ("I can barely smell the jasmine", ["Jasmine"], [], []),
        ("자스민이 잘 안 느껴져요", ["Jasmine"], [], []),
        ("머스크가 묻혀요", ["Musk"], [], []),
        ("the vanilla is drowning everything, pull it back", [], ["Vanilla"], []),
        ("장미가 너무 튀어요", [], ["Rose"], []),
        ("바닐라가 과해요 좀 눌러 주세요", [], ["Vanilla"], []),
        ("the lemon is too sharp, soften it", [], ["Lemon"], []),
        # two changes in one message
        ("less sweet, more woody", ["woody"], ["sweet"], []),
        ("덜 달고 더 우디하게", ["woody"], ["sweet"], []),
        ("장미는 살짝 줄이고 바닐라를 더 키워 주세요", ["Vanilla"], ["Rose"], []),
        ("핑크페퍼는 빼고 카다멈은 더 넣어줘", ["Cardamom"], [], ["Pink Pepper"]),
        # qualities
        ("make it warmer and cozier", ["amber"], [], []),
        ("좀 더 포근하게 만들어 주세요", ["amber"], [], []),
        ("cleaner please", ["musky"], [], []),
        ("go darker and moodier", ["woody", "amber"], [], []),
        ("way more powdery", ["powdery"], [], []),
        ("spice it up a little", ["warm spicy"], [], []),
        ("it's for my husband, make it manlier", ["woody"], [], []),
        ("좀 더 여성스럽게 해 주세요", ["floral"], [], []),
        ("숲 느낌 나게 해 줘", ["woody", "green"], [], []),
        # taken out, a family too
        ("lose the patchouli", [], [], ["Patchouli"]),
        ("패출리 빼버려", [], [], ["Patchouli"]),
        ("ditch every spice in there", [], [], ["warm spicy"]),
        ("향신료 계열은 전부 없애 주세요", [], [], ["warm spicy"]),
        # "it": the note changed last
        ("crank it up a bit", ["Pear"], [], []),
        # added, swapped
        ("add a touch of saffron", ["Saffron"], [], []),
        ("swap the vanilla for tonka", ["Tonka Bean"], [], ["Vanilla"]),
        ("replace the oud with sandalwood", ["Sandalwood"], [], ["Oud"]),
        ("바닐라 대신 통카로 바꿔 주세요", ["Tonka Bean"], [], ["Vanilla"]),
        ("시트러스 빼고 그린으로 채워 줘", ["green"], [], ["citrus"]),
        ("make it smell like the beach", ["aquatic"], [], []),
        # kept, and the object left unsaid or a pronoun
        ("don't remove the rose, just tone it down", [], ["Rose"], []),
        ("장미는 빼지 말고 조금만 줄여 주세요", [], ["Rose"], []),
        ("keep the vanilla but add more amber", ["amber"], [], []),
        ("keep it totally wood-free: no cedar, nothing woody", [], [], ["Cedar", "woody"]),
        ("keep the sweetness low", [], ["sweet"], []),
        ("베이스 좀 묵직하게", ["layer:base"], [], []),
        # mixed script, typos, no spaces
        ("탑노트 more citrus pls", ["citrus", "layer:top"], [], []),
        ("vanilla 좀 줄여줘", [], ["vanilla"], []),
        ("rose를 더 살려줘", ["rose"], [], []),
        ("덜달게 해주세요", [], ["sweet"], []),
        ("mroe rose plz", ["Rose"], [], []),
        ("the oud is overpowering", [], ["Oud"], []),
        ("우디한 느낌 좀 빼고 플로럴 쪽으로", ["floral"], [], ["woody"]),
        # a clause going the way of the one before, and one that only names
        ("ditch the oud completely, and the leather too", [], [], ["Oud", "Leather"]),
        ("패출리는 빼 주세요, 머스크도요", [], [], ["Patchouli", "Musk"]),
        # a reaction said after a formula takes the note out
        ("the clove makes me itchy, take it out", [], [], ["Clove"]),
        ("코코넛 향 맡으면 머리 아파요", [], [], ["Coconut"]),
    ],
)
def test_a_change_in_everyday_words(
    reader: SlotReader, text: str, more: list[str], less: list[str], without: list[str]
) -> None:
    edit = edit_requested("off_topic", reader.read(text).to_dict(), text, FOCUSED)
    assert edit is not None, text
    assert _lower(more) <= _lower(edit.more), edit
    assert _lower(less) <= _lower(edit.less), edit
    assert _lower(without) <= _lower(edit.without), edit
    assert not (_lower(more) & _lower(edit.without)), edit


@pytest.mark.parametrize(
    ("text", "kept"),
    [("take out the patchouli, the rose is perfect", "rose"), ("make it warmer, I love the vanilla", "vanilla")],
)
def test_a_note_only_named_beside_a_change_is_left_as_it_is(reader: SlotReader, text: str, kept: str) -> None:
    edit = edit_requested("compose", reader.read(text).to_dict(), text, FOCUSED)
    assert edit is not None and edit, text
    assert kept not in _lower([*edit.more, *edit.less, *edit.without]), edit


@pytest.mark.parametrize(
    ("text", "intensity", "concentration", "step"),
    [
        ("it'd fade by noon, make it hang on longer", "strong", None, 0),
        ("잔향이 너무 빨리 날아가요", "strong", None, 0),
        ("오래가게 해 주세요", "strong", None, 0),
        ("it's way too loud", "light", None, 0),
        ("향이 너무 세요", "light", None, 0),
        ("it's too faint", "strong", None, 0),
        ("너무 약해요", "strong", None, 0),
        ("make it an eau de toilette", None, "EDT", 0),
        ("오드투왈렛으로 해 주세요", None, "EDT", 0),
        ("농도는 오 드 뚜왈렛 정도로요", None, "EDT", 0),
        ("코롱 정도로 가볍게 해 주세요", "light", "EDC", 0),
        ("엑스트레로 올려 주세요", None, "Extrait", 0),
        ("parfum strength please", None, "Parfum", 0),
        ("EDP 말고 오 드 퍼퓸 아니고 토일렛으로", None, "EDT", 0),
        ("농도 좀 낮춰 주세요", None, None, -1),
        ("농도를 한 단계 높여 줘", None, None, 1),
    ],
)
def test_strength_longevity_and_concentration_however_written(
    reader: SlotReader, text: str, intensity: str | None, concentration: str | None, step: int
) -> None:
    edit = edit_requested("smalltalk", reader.read(text).to_dict(), text, FOCUSED)
    assert edit is not None, text
    assert (edit.intensity, edit.concentration, edit.step) == (intensity, concentration, step), edit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("오 드 뚜왈렛", "EDT"),
        ("eau de parfum", "EDP"),
        ("오드 코롱", "EDC"),
        ("extrait de parfum", "Extrait"),
        ("퍼퓸", "Parfum"),
    ],
)
def test_concentration_words(text: str, expected: str) -> None:
    assert concentration_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "what's in it?",
        "how long does it last?",
        "이 향 오래가요?",
        "지속력은 어때요?",
        "thanks, that looks great!",
        "I love how fresh it is",
        "the base is lovely",
        "탑 노트가 뭐예요?",
        "베이스에 뭐가 들어갔어요?",
        "여기에 오크모스 0.05% 넣어도 돼요?",
        "is 2% eugenol ok in an EDP?",
        "show me perfumes that smell like this",
        "do you have anything warmer in the shop?",
        "비슷한 향수 매장에 있으면 보여 주세요",
        "something warmer under 100k?",
        "좀 더 상큼한 거 10만원 이하로 있어요?",
        "any options that are fresher?",
    ],
)
def test_a_question_or_a_search_is_no_change(reader: SlotReader, text: str) -> None:
    edit = edit_requested("recommend", reader.read(text).to_dict(), text, FOCUSED)
    assert edit is None or not edit, (text, edit)


@pytest.mark.parametrize(
    "text", ["needs more sparkle up top", "탑을 좀 더 밝게 해 주세요", "the pear's getting lost, crank it up"]
)
def test_nothing_fires_without_a_formula(reader: SlotReader, text: str) -> None:
    assert edit_requested("compose", reader.read(text).to_dict(), text, None) is None


# -- dislikes said as reactions beside a request --------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("Compose something floral for me, but lilies give me a headache", ["Lily"]),
        ("vanilla makes me nauseous so skip it. a warm amber formula please", ["Vanilla"]),
        ("I'm allergic to cinnamon, build me a warm amber", ["Cinnamon"]),
        ("oud smells like medicine to me. make a woody one", ["Oud"]),
        ("coconut reminds me of sunscreen ugh. tropical floral formula?", ["Coconut"]),
        ("장미 향 조향해 주세요. 근데 라벤더는 맡으면 두통이 와요", ["Lavender"]),
        ("패출리는 알러지가 있어서 빼고 우디하게 만들어 주세요", ["Patchouli"]),
        ("머스크 냄새 맡으면 재채기가 나요. 플로럴로 하나 부탁해요", ["Musk"]),
        ("바닐라는 속이 메스꺼워서요, 시트러스 레시피 부탁해요", ["Vanilla"]),
        ("spicy stuff makes me sneeze, make me a fresh one", ["warm spicy"]),
        ("향신료는 질색이에요. 우디 향 배합 부탁해요", ["warm spicy"]),
    ],
)
def test_a_reaction_is_a_dislike(text: str, out: list[str]) -> None:
    said = _lower(disliked_in(text))
    assert _lower(out) <= said, said
    assert not said & {"woody", "floral", "amber", "citrus"}, said  # what is asked for stays


@pytest.mark.parametrize(
    "text",
    [
        "compose a light floral that won't give me a headache",
        "머리 안 아픈 은은한 플로럴 향 레시피 부탁해요",
        "a fresh citrus blend please, I love lemon and bergamot",
        "I'd love a rose formula that reminds me of my grandma's garden",
        "I get headaches easily so make me a soft rose formula",
        "머리가 자주 아파서 은은한 장미 향으로 만들어 주세요",
        "I get migraines from strong stuff, so a light jasmine blend please",
    ],
)
def test_no_dislike_where_none_is_said(text: str) -> None:
    assert disliked_in(text) == []


# -- through the conversation ---------------------------------------------------------------------------
class Chat:
    def __init__(self, runtime: Runtime) -> None:
        self.service = runtime.require_service()
        self.thread = f"phrasing-{uuid.uuid4().hex[:10]}"

    async def say(self, text: str) -> dict[str, Any]:
        customer = await self.service.memory.repository.customer_for("cli", self.thread)
        await self.service.say(Inbound(text=text, customer_id=customer.id, channel="cli", conversation_id=self.thread))
        snapshot = await self.service.graph.aget_state({"configurable": {"thread_id": self.thread}})
        return dict(snapshot.values)


def composed(state: dict[str, Any]) -> dict[str, Any]:
    (result,) = [r for r in state["results"] if r["tool"] == "compose_formula"]
    assert "error" not in result["output"], result["output"]
    assert result["output"]["validation"]["compliant"]
    return dict(result["output"])


def lines(result: dict[str, Any]) -> dict[str, float]:
    return {i["name"]: i["pct"] for i in result["ingredients"]}


def layer_share(perfumery: Perfumery, result: dict[str, Any], layer: str) -> float:
    found = {n: perfumery.materials.resolve(n) for n in lines(result)}
    return sum(p for n, p in lines(result).items() if (m := found[n]) is not None and m.volatility == layer)


def carrying(perfumery: Perfumery, result: dict[str, Any], words: set[str], family: str | None = None) -> list[str]:
    """The lines that are of `family` or carry one of the notes `words` (a variety too: pink pepper)."""
    out = []
    for name in lines(result):
        m = perfumery.materials.resolve(name)
        assert m is not None, name
        notes = {n.lower() for n in m.notes_for}
        if m.family == family or any(n == w or n.endswith(" " + w) for n in notes for w in words):
            out.append(name)
    return out


async def test_a_family_taken_out_reaches_its_aroma_chemicals(runtime: Runtime) -> None:
    chat = Chat(runtime)
    first = composed(await chat.say("warm spicy formula for winter please, with clove and black pepper"))
    spices = {"clove", "pepper", "cinnamon", "cardamom", "nutmeg", "ginger", "allspice"}
    assert carrying(runtime.perfumery, first, spices, "spicy")
    state = await chat.say("hmm actually ditch every spice in there, clove and pepper included")
    second = composed(state)
    assert carrying(runtime.perfumery, second, spices, "spicy") == []
    assert second["changes"]["removed"] and state["reply"].startswith("I changed the formula")


async def test_a_korean_family_taken_out_with_examples(runtime: Runtime) -> None:
    chat = Chat(runtime)
    composed(await chat.say("겨울에 쓸 스파이시한 향 배합 하나 만들어 주세요. 정향이랑 시나몬 넣어서요"))
    state = await chat.say("생각해 보니 향신료는 다 빼 주세요. 정향이든 후추든 계피든 전부요")
    second = composed(state)
    assert carrying(runtime.perfumery, second, {"clove", "pepper", "cinnamon", "cardamom"}, "spicy") == []
    assert state["reply"].startswith("말씀하신 대로 처방을 바꿨어요")


async def test_a_reaction_keeps_the_note_out_of_the_first_formula(runtime: Runtime) -> None:
    chat = Chat(runtime)
    state = await chat.say("could you compose a creamy white floral? coconut makes me queasy though")
    assert carrying(runtime.perfumery, composed(state), {"coconut"}) == []
    chat = Chat(runtime)
    state = await chat.say("화이트 플로럴 향 레시피 부탁해요. 코코넛 향 맡으면 머리가 아파요")
    assert carrying(runtime.perfumery, composed(state), {"coconut"}) == []


async def test_layers_and_longevity_in_everyday_words(runtime: Runtime) -> None:
    chat = Chat(runtime)
    first = composed(await chat.say("a green floral formula for spring, please"))
    state = await chat.say("it could use more sparkle up top")
    brighter = composed(state)
    assert layer_share(runtime.perfumery, brighter, "top") > layer_share(runtime.perfumery, first, "top")
    state = await chat.say("and the base is too thin, beef it up")
    deeper = composed(state)
    assert layer_share(runtime.perfumery, deeper, "base") > layer_share(runtime.perfumery, brighter, "base")
    longer = composed(await chat.say("it's gone by lunch, can it hang on longer?"))
    assert longer["brief"]["intensity"] == "strong"


async def test_two_changes_and_a_concentration_in_korean(runtime: Runtime) -> None:
    chat = Chat(runtime)
    first = composed(await chat.say("장미랑 바닐라 들어간 향 레시피 만들어 주세요"))
    state = await chat.say("장미는 살짝 줄이고 바닐라를 더 살려 주세요")
    second = composed(state)
    rose = carrying(runtime.perfumery, first, {"rose"})
    assert sum(lines(second).get(n, 0.0) for n in rose) < sum(lines(first)[n] for n in rose)
    assert HANGUL.search(state["reply"]) and not second["changes"].get("unchanged")
    state = await chat.say("농도는 오 드 뚜왈렛 정도로 낮춰 주세요")
    third = composed(state)
    assert third["formula"]["concentration"] == "EDT" and "EDP → EDT" in state["reply"]


async def test_a_named_note_getting_lost_is_raised(runtime: Runtime) -> None:
    chat = Chat(runtime)
    first = composed(await chat.say("could you put together a fruity floral with pear?"))
    state = await chat.say("the pear is kind of buried, bring it out a bit")
    second = composed(state)
    pear = carrying(runtime.perfumery, second, {"pear"})
    assert sum(lines(second)[n] for n in pear) > sum(lines(first).get(n, 0.0) for n in pear)


async def test_a_search_after_a_formula_stays_a_search(runtime: Runtime) -> None:
    chat = Chat(runtime)
    composed(await chat.say("compose a fresh aquatic formula for me"))
    state = await chat.say("are there perfumes in the shop that smell a bit warmer than this?")
    assert next(r["tool"] for r in state["results"]) in ("search_perfumes", "find_similar_perfumes")


@pytest.mark.parametrize(
    ("text", "notes", "accords"),
    [("drop all the spices", [], ["warm spicy"]), ("패출리랑 달달한 건 빼 주세요", ["Patchouli"], ["sweet"])],
)
def test_what_is_taken_out_is_remembered_as_a_note_or_a_family(
    reader: SlotReader, text: str, notes: list[str], accords: list[str]
) -> None:
    from agents.focus import Focus
    from agents.planner import Carried, plan

    focus = Focus(kind="formula", formula=FOCUSED)
    calls = plan("compose", reader.read(text).to_dict(), text, Carried(), focus=focus)
    assert calls[0].name == "compose_formula"
    (remembered,) = [c.args for c in calls if c.name == "remember_preference"]
    assert _lower(notes) <= _lower(remembered["disliked_notes"]), remembered
    assert _lower(accords) <= _lower(remembered.get("disliked_accords") or []), remembered
    assert not _lower(accords) & _lower(remembered["disliked_notes"]), remembered


@pytest.mark.parametrize(
    ("text", "family", "out"),
    [
        ("anything sweet makes me gag, can you do a green formula", "green", "sweet"),
        ("compose a gourmand for me, no vanilla please", "gourmand", "vanilla"),
        ("spicy stuff makes me sneeze, compose a woody formula for me", "woody", "warm spicy"),
        ("코코넛 냄새 맡으면 속이 울렁거려요. 화이트 플로럴 향 조향해 주세요", "white floral", "coconut"),
    ],
)
def test_a_first_formula_keeps_out_what_is_disliked_and_keeps_its_style(
    reader: SlotReader, text: str, family: str, out: str
) -> None:
    from agents.focus import Focus
    from agents.planner import Carried, plan

    calls = plan("compose", reader.read(text).to_dict(), text, Carried(), focus=Focus())
    args = calls[0].args
    assert calls[0].name == "compose_formula" and "previous" not in args
    assert args["fragrance_family"] == family, args
    assert out in _lower(args["disliked_notes"]), args


async def test_more_of_a_note_raises_it_and_leaves_the_rest_of_the_formula(runtime: Runtime) -> None:
    """ "More rose" is more of the rose materials, not a floral base in place of the woods."""
    chat = Chat(runtime)
    first = composed(await chat.say("Compose a rose and sandalwood perfume for me"))
    second = composed(await chat.say("a bit more of the rose"))
    assert set(lines(second)) == set(lines(first)), (lines(first), lines(second))
    rose = carrying(runtime.perfumery, second, {"rose"})
    assert sum(lines(second)[n] for n in rose) > sum(lines(first)[n] for n in rose)
