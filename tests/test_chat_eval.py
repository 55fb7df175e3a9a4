"""`fragrance-ai eval chat`: the held-out conversations through the turn service, on the starter catalog.

The whole set runs in CI through the command line (about a minute on the starter catalog), on the
embedded roles, and must keep at least 0.90 of turns passing in each language; a subset runs on the
stand-in model roles, whose every turn must pass with the history and the focus in their prompts.
The checks themselves are unit-tested on made-up turns: each can fail.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from agents.chat_eval import DEFAULT_CHAT_EVAL, Checker, Shown, _is_variety, load_chat_eval, select
from agents.focus import Focus
from agents.model_roles import orchestrator_messages
from agents.stand_in_roles import StandIns
from graphs.events import AllergenLine, FormulaCard, FormulaLine, PerfumeCard
from graphs.runtime import Runtime
from graphs.state import Context
from tests.conftest import StarterIndex, run_cli
from tools.search.engine import SearchEngine


def card(engine: SearchEngine, perfume_id: str) -> PerfumeCard:
    perfume = engine.get(perfume_id)
    assert perfume is not None
    return PerfumeCard(id=perfume.id, brand=perfume.brand, name=perfume.name, price=perfume.price)


@pytest.fixture(scope="module")
def checker(runtime: Runtime, engine: SearchEngine) -> Checker:
    return Checker(engine, runtime.perfumery)


def test_the_set_loads_and_covers_both_languages_and_every_pattern() -> None:
    conversations = load_chat_eval(DEFAULT_CHAT_EVAL)
    assert len(conversations) >= 60
    assert sum(c.lang == "ko" for c in conversations) >= 30 and sum(c.lang == "en" for c in conversations) >= 30
    patterns = {p for c in conversations for p in c.patterns}
    assert {"focus_question", "reference", "formula_edit", "dislike", "name_evidence", "slots"} <= patterns
    assert [c.id for c in select(conversations, ["ko-ref"], 1)] == ["ko-ref-04"]


def test_an_unknown_check_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- {id: x, lang: en, patterns: [p], turns: [{user: hi, checks: {answerd: true}}]}\n")
    with pytest.raises(Exception, match="answerd"):
        load_chat_eval(path)


def test_korean_replies_must_translate_descriptive_words(checker: Checker, engine: SearchEngine) -> None:
    shown = Shown(
        cards=[card(engine, "ST0539")], text="Creed Aventus: 프루티, 우디. 지속력은 오래가는 편이에요.", language="ko"
    )
    assert checker.check({"language": "ko"}, shown, [], "ko") == []
    shown.text = "Creed Aventus: fruity, woody. 지속력은 long lasting이에요."
    (failure,) = checker.check({"language": "ko"}, shown, [], "ko")
    assert "fruity" in failure and "long lasting" in failure
    # Material and INCI names may stay as written.
    formula = FormulaCard(
        kind="composed",
        ingredients=[FormulaLine(name="Rose Oil", pct=5)],
        compliant=True,
        amendment="51st",
        allergens_to_declare=[AllergenLine(name="Rosa damascena flower oil (rose)")],
    )
    shown = Shown(formulas=[formula], text="처방: Rose Oil 5 %. 표기: Rosa damascena flower oil (rose).", language="ko")
    assert checker.check({"language": "ko"}, shown, [], "ko") == []


def test_exclusions_cover_varieties_but_not_other_families(checker: Checker, engine: SearchEngine) -> None:
    assert _is_variety("White Musk", "musk") and _is_variety("Sicilian Lemon", "lemon") and _is_variety("Musk", "musk")
    assert not _is_variety("Orange Blossom", "orange") and not _is_variety("Muskmelon", "musk")
    musky = Shown(cards=[card(engine, "ST0002")], text="...")  # Coco Mademoiselle: White Musk, the accords
    (failure,) = checker.check({"perfumes_meet": {"notes_none": ["musk"]}}, musky, [], "en")
    assert "White Musk" in failure
    assert checker.check({"perfumes_meet": {"accords_any": ["rose"], "accords_none": ["oud"]}}, musky, [], "en") == []


def test_a_formula_contains_a_note_or_family_through_its_materials(checker: Checker) -> None:
    """ "contains_any: [rose]" is met by Rose Absolute, "[citrus]" by Bergamot Oil (its family), "[Hedione]"
    by Hedione itself; a formula of none of them fails."""
    formula = FormulaCard(
        kind="composed",
        ingredients=[FormulaLine(name=n, pct=10) for n in ("Rose Absolute", "Bergamot Oil", "Hedione")],
        compliant=True,
        amendment="51st",
    )
    shown = Shown(formulas=[formula], text="...")
    for words in (["rose"], ["citrus"], ["Hedione"], ["oud", "rose"]):
        assert checker.check({"formula": {"contains_any": words}}, shown, [], "en") == [], words
    (failure,) = checker.check({"formula": {"contains_any": ["vanilla", "oud"]}}, shown, [], "en")
    assert "none of" in failure


def test_a_price_limit_without_prices_needs_the_reply_to_say_so(checker: Checker, engine: SearchEngine) -> None:
    perfume = engine.get("ST0539")
    assert perfume is not None and perfume.price is not None
    cheap = {"perfumes_meet": {"price_max": perfume.price - 1}}
    assert checker.check(cheap, Shown(cards=[card(engine, "ST0539")], text="..."), [], "en")
    ok = {"perfumes_meet": {"price_max": perfume.price}}
    assert checker.check(ok, Shown(cards=[card(engine, "ST0539")], text="..."), [], "en") == []


def test_a_shop_fact_on_a_catalog_without_shop_data_needs_the_reply_to_say_it_has_none(
    checker: Checker, engine: SearchEngine
) -> None:
    price = {"mentions_any": ["219,000", "21만 9천"]}
    said_none = Shown(text="카탈로그에 Chanel Coco Mademoiselle의 가격 정보가 없어요.")
    assert checker.has_shop_data and checker.check(price, said_none, [], "ko")  # the starter catalog has prices
    without = Checker(engine, checker.perfumery)
    without.has_shop_data = False  # as the 38k export, which has none
    assert without.check(price, said_none, [], "ko") == []
    assert without.check(price, Shown(text="Chanel Coco Mademoiselle 정말 좋아요."), [], "ko")
    assert without.check({"mentions_any": ["지속"]}, said_none, [], "ko")  # not a shop fact: still needed


def test_about_a_rank_reads_the_list_shown_before(checker: Checker, engine: SearchEngine) -> None:
    listed = Shown(cards=[card(engine, i) for i in ("ST0002", "ST0003", "ST0009")], text="1. ... 2. ... 3. ...")
    answer = Shown(cards=[card(engine, "ST0003")], text="Chanel Bleu de Chanel lasts long.", final="reply")
    assert checker.check({"about_shown_rank": 2, "chooses_from_shown": True}, answer, [listed], "en") == []
    failures = checker.check({"about_shown_rank": 3}, answer, [listed], "en")
    assert failures and "Sauvage" in failures[0]
    outside = Shown(cards=[card(engine, "ST0539")], text="Creed Aventus.")
    assert checker.check({"chooses_from_shown": True}, outside, [listed], "en")


def test_a_regulatory_answer_is_read_by_its_first_verdict(checker: Checker) -> None:
    no = Shown(text="No: 5 % coumarin in the finished EDP is over the IFRA limit of 1.6 %.", final="reply")
    assert checker.check({"regulatory": {"material": "coumarin", "allowed": False}}, no, [], "en") == []
    assert checker.check({"regulatory": {"material": "coumarin", "allowed": True}}, no, [], "en")
    unnamed = Shown(text="Yes, that is allowed.", final="reply")
    assert checker.check({"regulatory": {"material": "coumarin", "allowed": True}}, unnamed, [], "en")


# -- the stand-in roles read only their prompts -----------------------------------------------------
def test_the_stand_in_orchestrator_answers_a_rank_only_from_the_focus_in_its_prompt(context: Context) -> None:
    stand_ins = StandIns(context.nlu)
    focus = Focus(kind="list", list_ids=["ST0002", "ST0003"], group_ids=["ST0002", "ST0003"])
    previous = [{"role": "user", "content": "rose perfumes please"}]

    def plan_for(summary: dict[str, Any]) -> list[str]:
        messages = orchestrator_messages("en", {}, {}, "is the second one unisex?", "product_info", summary, previous)
        answer = stand_ins.models["orchestrator"].invoke(messages)
        return [call["name"] for call in answer.tool_calls]

    assert plan_for(focus.summary()) == ["ask_about_perfumes"]
    assert plan_for(Focus().summary()) != ["ask_about_perfumes"]  # no focus in the prompt: no reference


def test_stand_ins_report_a_role_that_was_not_shown_the_conversation(context: Context) -> None:
    stand_ins = StandIns(context.nlu)
    stand_ins.expect("is it unisex?", ["Tell me about Creed Aventus"])
    stand_ins.models["intent"].invoke([SystemMessage("classify"), HumanMessage("is it unisex?")])
    assert stand_ins.failures() == ["the intent model was not shown the previous message"]
    stand_ins.expect("is it unisex?", ["Tell me about Creed Aventus"])
    stand_ins.models["intent"].invoke(
        [SystemMessage("classify"), HumanMessage("Tell me about Creed Aventus"), HumanMessage("is it unisex?")]
    )
    assert stand_ins.failures() == []


# -- the command, on the starter catalog ---------------------------------------------------------------
def test_eval_chat_on_the_starter_catalog_meets_the_target(starter_index: StarterIndex) -> None:
    run = run_cli(["eval", "chat", "--catalog", str(starter_index.home), "--json", "--quiet"], starter_index.home, 600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["turns"] == sum(len(c.turns) for c in load_chat_eval()) and report["catalog_perfumes"] > 300
    for language, entry in report["by_language"].items():
        assert entry["passed"] >= 0.90, (language, entry, [f["failures"] for f in report["failures"]])


@pytest.mark.parametrize("name", ["eval_chat_fresh.yaml", "eval_chat_fresh2.yaml", "eval_chat_fresh3.yaml"])
def test_the_sets_once_held_out_keep_the_target(starter_index: StarterIndex, name: str) -> None:
    """The blind sets measured once and then worked from: what they caught stays fixed (at least 0.90 of
    turns in each language). eval_chat_fresh4.yaml, the latest, is measured, not held to a target here."""
    data = DEFAULT_CHAT_EVAL.parent / name
    args = ["eval", "chat", "--data", str(data), "--catalog", str(starter_index.home), "--json", "--quiet"]
    run = run_cli(args, starter_index.home, 600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    for language, entry in report["by_language"].items():
        assert entry["passed"] >= 0.90, (name, language, entry, [f["failures"] for f in report["failures"]])


def test_eval_chat_on_the_stand_in_models(starter_index: StarterIndex) -> None:
    """History and focus reach the model roles: follow-ups pass on the model path too."""
    args = ["eval", "chat", "--models", "fake", "--only", "en-focus-01", "--only", "ko-ref-05", "--json", "--quiet"]
    run = run_cli([*args, "--catalog", str(starter_index.home)], starter_index.home, 600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["models"] == "fake" and report["turns"] == 6
    assert report["failures"] == [], report["failures"]


def test_eval_chat_refuses_a_catalog_file(starter_index: StarterIndex, tmp_path: Any) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("id,brand,perfume\n")
    run = run_cli(["eval", "chat", "--catalog", str(path)], starter_index.home)
    assert run.returncode == 2 and "FRAGRANCE_HOME folder" in run.stderr


def test_perfume_names_match_whatever_punctuation_a_catalog_spells_them_with(
    checker: Checker, engine: SearchEngine
) -> None:
    """ "Terre d'Hermes" on one catalog is "Terre d Hermes" on another: the checker matches either spelling,
    and still tells different names apart."""
    from agents.chat_eval import _name_key

    assert _name_key("Terre d'Hermes") == _name_key("Terre d Hermes") == _name_key("terre d’hermes")
    assert _name_key("Dolce&Gabbana Light Blue") == _name_key("Dolce Gabbana Light Blue")
    assert _name_key("Terre d'Hermes") != _name_key("Terre Hermes")
    aventus = engine.get("ST0539")
    assert checker.perfume("creed  aventus.") is aventus
    shown = Shown(cards=[], text="Try Creed Aventus - it's a classic.", language="en")
    assert checker.check({"about": "Creed, Aventus"}, shown, [], "en") == []
    assert checker.check({"not_named": ["Creed Aventus"]}, shown, [], "en")


def test_a_short_perfume_name_does_not_cut_into_a_longer_one(checker: Checker, engine: SearchEngine) -> None:
    """A card named "2" must not turn "Patchouli 24" into "Patchouli  4" before that name is set aside."""
    short = PerfumeCard(id="X1", brand="Comme des Garcons", name="2")
    longer = PerfumeCard(id="X2", brand="Le Labo", name="Patchouli 24")
    shown = Shown(cards=[short, longer], text="1. Comme des Garcons 2 - 우디. 2. Le Labo Patchouli 24 - 스모키.")
    shown.language = "ko"
    assert checker._language("ko", shown, []) is None
