"""Changes to a composed formula (issue 10, item 3): more or less of a note or family, without a
material or family, lighter or stronger, another concentration. The same brief is composed again
with the change, validated again, and the reply says what changed.

The reading of a change is tested on the slot reader; the whole follow-up through the turn service
of the session's runtime (starter catalog, embedded roles), as a customer would say it, in phrasings
that are not those of the held-out chat evaluation.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from agents.formula_edits import FormulaEdit, apply_edit, edit_requested
from agents.slots import SlotReader
from graphs.inbound import Inbound
from graphs.runtime import Runtime
from tools.perfumery.database import Perfumery
from tools.search.lexicon import Lexicon
from tools.search.query import QueryParser

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def reader(lexicon: Lexicon) -> SlotReader:
    return SlotReader(QueryParser(lexicon, None))


class Chat:
    """One conversation through the turn service; `say` returns the thread's state after the turn."""

    def __init__(self, runtime: Runtime) -> None:
        self.service = runtime.require_service()
        self.thread = f"edits-{uuid.uuid4().hex[:10]}"

    async def say(self, text: str) -> dict[str, Any]:
        customer = await self.service.memory.repository.customer_for("cli", self.thread)
        await self.service.say(Inbound(text=text, customer_id=customer.id, channel="cli", conversation_id=self.thread))
        snapshot = await self.service.graph.aget_state({"configurable": {"thread_id": self.thread}})
        return dict(snapshot.values)


def formula(state: dict[str, Any]) -> dict[str, Any]:
    (composed,) = [r for r in state["results"] if r["tool"] == "compose_formula"]
    assert "error" not in composed["output"], composed["output"]
    return dict(composed["output"])


def lines(composed: dict[str, Any]) -> dict[str, float]:
    return {i["name"]: i["pct"] for i in composed["ingredients"]}


def family_share(perfumery: Perfumery, composed: dict[str, Any], family: str) -> float:
    """% of the concentrate the materials of `family` take."""
    found = {n: perfumery.materials.resolve(n) for n in lines(composed)}
    return sum(pct for n, pct in lines(composed).items() if (m := found[n]) is not None and m.family == family)


def carries(perfumery: Perfumery, name: str, word: str) -> bool:
    material = perfumery.materials.resolve(name)
    assert material is not None, name
    notes = [n.lower() for n in material.notes_for]
    return word in name.lower() or any(n == word or n.endswith(" " + word) for n in notes)


# -- reading a change -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "more", "less", "without", "intensity", "concentration"),
    [
        ("a touch more vanilla please", ["vanilla"], [], [], None, None),
        ("could you tone down the woods and add some citrus", ["citrus"], ["woody"], [], None, None),
        ("make it spicier", ["warm spicy"], [], [], None, None),
        ("take out the patchouli", [], [], ["Patchouli"], None, None),
        ("softer, and as an eau de toilette", [], [], [], "light", "EDT"),
        ("통카를 조금 더 넣어 주세요", ["Tonka Bean"], [], [], None, None),
        ("스모키한 느낌은 좀 줄여 주세요", [], ["smoky"], [], None, None),
        ("덜 스파이시하게 해 주세요", [], ["warm spicy"], [], None, None),
        ("좀 더 묵직하게요", [], [], [], "strong", None),
        ("오드코롱으로 바꿔 주실래요?", [], [], [], None, "EDC"),
    ],
)
def test_a_change_is_read_from_what_the_customer_says(
    reader: SlotReader,
    text: str,
    more: list[str],
    less: list[str],
    without: list[str],
    intensity: str | None,
    concentration: str | None,
) -> None:
    edit = FormulaEdit.from_slots(reader.read(text).to_dict())
    lowered = {m.lower() for m in edit.more}
    assert {m.lower() for m in more} <= lowered, edit
    assert {m.lower() for m in less} <= {m.lower() for m in edit.less}, edit
    assert set(without) <= set(edit.without), edit
    assert (edit.intensity, edit.concentration) == (intensity, concentration), edit


def test_changes_add_up_and_lighter_past_light_steps_the_concentration_down() -> None:
    brief = {"fragrance_family": "woody", "intensity": "moderate", "concentration": "EDP", "liked_notes": ["Vetiver"]}
    once = apply_edit(brief, FormulaEdit(without=["Vetiver"], more=["smoky"]))
    assert once["liked_notes"] == [] and once["disliked_notes"] == ["Vetiver"] and once["more_notes"] == ["smoky"]
    twice = apply_edit(once, FormulaEdit(intensity="light", less=["smoky"]))
    assert twice["disliked_notes"] == ["Vetiver"] and twice["less_notes"] == ["smoky"] and not twice["more_notes"]
    assert twice["intensity"] == "light" and twice["concentration"] == "EDP"
    assert apply_edit(twice, FormulaEdit(intensity="light"))["concentration"] == "EDT"
    strong = apply_edit({**brief, "intensity": "strong"}, FormulaEdit(intensity="strong"))
    assert strong["concentration"] == "Parfum"


@pytest.mark.parametrize(
    ("intent", "text", "wanted"),
    [
        ("recommend", "more vanilla", True),
        ("handoff", "EDT로 바꿔 주세요", True),  # a short message the intent role misread
        ("recommend", "show me perfumes without musk", False),  # catalog perfumes, not the formula
        ("product_info", "which of those is the lightest?", False),
        ("handoff", "can I talk to a person about a lighter version?", False),
        ("compose", "another one, woody this time", False),
    ],
)
def test_only_a_change_of_the_formula_in_focus_changes_it(
    reader: SlotReader, intent: str, text: str, wanted: bool
) -> None:
    focused = {"brief": {"fragrance_family": "gourmand", "concentration": "EDP"}}
    found = edit_requested(intent, reader.read(text).to_dict(), text, focused)
    assert (found is not None) is wanted
    assert edit_requested(intent, reader.read(text).to_dict(), text, None) is None


# -- through the conversation ----------------------------------------------------------------------
async def test_more_of_a_note_raises_its_materials_and_the_reply_says_so(runtime: Runtime) -> None:
    chat = Chat(runtime)
    first = formula(await chat.say("Could you formulate a warm vanilla gourmand for me?"))
    state = await chat.say("a touch more vanilla please")
    second = formula(state)
    assert second["validation"]["compliant"]
    vanilla = [n for n in lines(second) if carries(runtime.perfumery, n, "vanilla")]
    assert vanilla and sum(lines(second)[n] for n in vanilla) > sum(lines(first).get(n, 0.0) for n in vanilla)
    assert second["changes"]["raised"] or second["changes"]["added"]
    assert state["reply"].startswith("I changed the formula as you asked")
    assert state["formulas"] and state["formulas"][0]["compliant"]


async def test_a_note_taken_out_stays_out_through_later_changes(runtime: Runtime) -> None:
    chat = Chat(runtime)
    first = formula(await chat.say("Compose a woody amber perfume with patchouli"))
    assert any(carries(runtime.perfumery, n, "patchouli") for n in lines(first))
    removed = formula(await chat.say("hmm, take out the patchouli"))
    assert not any(carries(runtime.perfumery, n, "patchouli") for n in lines(removed))
    assert removed["changes"]["removed"]
    state = await chat.say("and switch it to an eau de toilette")
    edt = formula(state)
    assert edt["formula"]["concentration"] == "EDT" and edt["validation"]["compliant"]
    assert not any(carries(runtime.perfumery, n, "patchouli") for n in lines(edt))
    assert edt["changes"]["concentration"] == {"before": "EDP", "after": "EDT"}
    assert "EDP → EDT" in state["reply"]


async def test_a_korean_change_is_answered_in_korean_with_what_changed(runtime: Runtime) -> None:
    chat = Chat(runtime)
    formula(await chat.say("상큼한 시트러스 향수 레시피 하나 만들어 주세요"))
    state = await chat.say("좀 더 진하게 해 주실 수 있어요?")
    changed = formula(state)
    assert changed["brief"]["intensity"] == "strong" and changed["validation"]["compliant"]
    assert state["reply"].startswith("말씀하신 대로 처방을 바꿨어요") and "강도 적당한 → 진한" in state["reply"]
    state = await chat.say("시트러스 느낌은 조금 줄여 주세요")
    less = formula(state)
    assert family_share(runtime.perfumery, less, "citrus") < family_share(runtime.perfumery, changed, "citrus")
    assert HANGUL.search(state["reply"])


async def test_a_change_naming_nothing_in_the_formula_says_it_is_unchanged(runtime: Runtime) -> None:
    chat = Chat(runtime)
    first = formula(await chat.say("Design a fresh citrus cologne for me"))
    assert not any(carries(runtime.perfumery, n, "oud") for n in lines(first))
    state = await chat.say("no oud in it, right? leave it out")
    again = formula(state)
    assert lines(again) == lines(first) and again["changes"]["unchanged"]
    assert state["reply"].startswith("The formula had nothing of that to change")


async def test_a_search_after_a_formula_is_a_search(runtime: Runtime) -> None:
    """ "Show me perfumes like it without musk" after a formula looks for catalog perfumes."""
    chat = Chat(runtime)
    formula(await chat.say("Compose a white floral perfume with jasmine"))
    state = await chat.say("can you show me perfumes in the shop that smell like it, without musk?")
    assert next(r["tool"] for r in state["results"]) in ("search_perfumes", "find_similar_perfumes")


# -- a change however it is phrased (issue 10: slang, idiom, Korean) --------------------------------
@pytest.mark.parametrize(
    ("text", "more", "less", "without", "intensity"),
    [
        ("gimme way more vetiver, let it lead", ["Vetiver"], [], [], None),
        ("i want the rose to be the hero here", ["Rose"], [], [], None),
        ("pump up the vanilla a bunch", ["Vanilla"], [], [], None),
        ("tone the smoky side down a little", [], ["smoky"], [], None),
        ("can we ease off on the woody stuff", [], ["woody"], [], None),
        ("ditch the oud completely, and the leather too", [], [], ["Oud", "leather"], None),
        ("crank it up, I want serious sillage", [], [], [], "strong"),
        ("needs to be airier and more sheer for daytime", [], [], [], "light"),
        ("장미가 주인공이 되게 해 줘", ["Rose"], [], [], None),
        ("바닐라 팍팍 넣어 주세요", ["Vanilla"], [], [], None),
        ("우디한 건 전부 없애 주세요", [], [], ["woody"], None),
        ("머스크는 하나도 없이 가 주세요", [], [], ["Musk"], None),
        ("존재감 있게 확산력 좀 키워 줘", [], [], [], "strong"),
        ("부담 없게 조금 가볍게 바꿔 줘요", [], [], [], "light"),
    ],
)
def test_a_change_is_read_however_it_is_phrased(
    reader: SlotReader, text: str, more: list[str], less: list[str], without: list[str], intensity: str | None
) -> None:
    focused = {"brief": {"fragrance_family": "woody", "concentration": "EDP"}}
    edit = edit_requested("recommend", reader.read(text).to_dict(), text, focused)
    assert edit is not None, text
    assert {m.lower() for m in more} <= {m.lower() for m in edit.more}, edit
    assert {m.lower() for m in less} <= {m.lower() for m in edit.less}, edit
    assert {m.lower() for m in without} <= {m.lower() for m in edit.without}, edit
    assert not ({m.lower() for m in more} & {m.lower() for m in edit.without}), edit
    if intensity:
        assert edit.intensity == intensity, edit


@pytest.mark.parametrize(
    "text", ["tell me more about vetiver", "what is the most rose I can use?", "장미 노트가 뭐예요?"]
)
def test_a_question_naming_a_note_is_no_change(reader: SlotReader, text: str) -> None:
    focused = {"brief": {"fragrance_family": "woody", "concentration": "EDP"}}
    edit = edit_requested("ingredient_info", reader.read(text).to_dict(), text, focused)
    assert edit is None or not (edit.more or edit.less or edit.without), edit


async def test_slang_and_idiom_change_the_formula_in_focus(runtime: Runtime) -> None:
    chat = Chat(runtime)
    first = formula(await chat.say("put together a woody amber formula for me, with vanilla"))
    louder = formula(await chat.say("go full beast mode on it, I want it to fill the room"))
    assert louder["brief"]["intensity"] == "strong" and louder["validation"]["compliant"]
    assert louder["changes"] and not louder["changes"].get("unchanged")
    state = await chat.say("ok now take the vanilla down a notch")
    calmer = formula(state)
    vanilla = [n for n in lines(louder) if carries(runtime.perfumery, n, "vanilla")]
    assert sum(lines(calmer).get(n, 0.0) for n in vanilla) < sum(lines(louder)[n] for n in vanilla)
    assert first["brief"]["fragrance_family"] == calmer["brief"]["fragrance_family"]


async def test_a_korean_family_taken_out_and_a_lighter_feel(runtime: Runtime) -> None:
    chat = Chat(runtime)
    formula(await chat.say("베르가못이랑 장미 들어간 향 배합 하나 만들어 주세요"))
    state = await chat.say("시트러스 쪽은 전부 없애 줘요")
    plain = formula(state)
    assert family_share(runtime.perfumery, plain, "citrus") == 0.0 and plain["validation"]["compliant"]
    state = await chat.say("무게감 없이 좀 더 산뜻하게 가 볼까요")
    lighter = formula(state)
    assert lighter["brief"]["intensity"] == "light" and family_share(runtime.perfumery, lighter, "citrus") == 0.0
    assert HANGUL.search(state["reply"]) and "fresh" not in state["reply"]


async def test_a_dislike_said_beside_a_compose_request_keeps_it_out(runtime: Runtime) -> None:
    chat = Chat(runtime)
    state = await chat.say("design me a warm woody evening blend, my husband can't stand patchouli though")
    assert not any(carries(runtime.perfumery, n, "patchouli") for n in lines(formula(state)))
    chat = Chat(runtime)
    state = await chat.say("앰버 느낌 향수 레시피 짜 주세요. 참고로 패출리는 질색이에요")
    assert not any(carries(runtime.perfumery, n, "patchouli") for n in lines(formula(state)))


@pytest.mark.parametrize(
    ("text", "out", "kept"),
    [
        ("a cozy amber blend please, though my partner hates oud", ["Oud"], ["amber"]),
        ("I love rose but I don't like musk at all, compose something for me", ["Musk"], ["Rose"]),
        ("우디한 향 조합해 주세요. 근데 가죽 냄새는 질색이에요", ["Leather"], ["woody"]),
        ("장미 향 레시피 부탁해요, 바닐라는 별로예요", ["Vanilla"], ["Rose"]),
    ],
)
def test_a_dislike_said_in_a_clause_is_read_from_that_clause(text: str, out: list[str], kept: list[str]) -> None:
    from agents.formula_edits import disliked_in

    said = {v.lower() for v in disliked_in(text)}
    assert {o.lower() for o in out} <= said, said
    assert not ({k.lower() for k in kept} & said), said
