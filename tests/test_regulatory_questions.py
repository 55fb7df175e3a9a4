"""Direct questions about the rules for a material (issue 10, item 7): the IFRA limit, the
finished-product arithmetic and a yes or no; the names customers use in Korean; what to use in a
banned material's place, never the banned material as usable.

The verdicts are checked against the IFRA table's own numbers (the session's starter perfumery
tables), and the answers through the turn service, in phrasings that are not those of the held-out
chat evaluation.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from agents.regulatory import read_question
from agents.slots import SlotReader
from graphs.inbound import Inbound
from graphs.runtime import Runtime
from tests.conftest import StarterIndex
from tools.perfumery.database import Perfumery, perfumery_for
from tools.perfumery.formula import concentration_dilution
from tools.perfumery.usage import material_use, regulated_name
from tools.search.engine import SearchEngine

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def perfumery(starter_index: StarterIndex) -> Perfumery:
    return perfumery_for(starter_index.home)


@pytest.fixture(scope="module")
def reader(engine: SearchEngine, perfumery: Perfumery) -> SlotReader:
    return SlotReader(engine.parser, None, perfumery.materials)


def cat4(perfumery: Perfumery, name: str) -> float:
    """The category 4 limit the IFRA table gives the standard of `name` (% of the finished product)."""
    standard = perfumery.regulations.by_name.get(re.sub(r"[^a-z0-9]", "", name.lower()))
    if standard is None:
        material = perfumery.materials.resolve(name)
        assert material is not None, name
        (standard,) = {s.key: s for c in material.cas for s in perfumery.regulations.by_cas.get(c, [])}.values()
    limit = standard.limit("4")
    assert limit is not None, name
    return limit


# -- the verdict and its arithmetic -----------------------------------------------------------------
@pytest.mark.parametrize(("name", "concentration"), [("Eugenol", "EDT"), ("Citral", "EDP"), ("Isoeugenol", "Parfum")])
def test_the_limit_is_the_tables_and_its_concentrate_share_follows_the_dilution(
    perfumery: Perfumery, name: str, concentration: str
) -> None:
    limit = cat4(perfumery, name)
    use = material_use(perfumery, name, None, concentration)
    assert use.known and not use.prohibited and use.allowed is None
    assert use.limit_product_pct == pytest.approx(limit)
    assert use.limit_concentrate_pct == pytest.approx(min(100.0, limit * 100 / concentration_dilution(concentration)))


def test_an_amount_of_the_product_and_one_of_the_concentrate_are_judged_apart(perfumery: Perfumery) -> None:
    limit = cat4(perfumery, "Eugenol")
    over = material_use(perfumery, "eugenol", limit * 2, "EDT")
    assert over.allowed is False and over.product_pct == pytest.approx(limit * 2)
    # The same number as % of an EDT's concentrate (10 %) is a tenth of it in the product.
    diluted = material_use(perfumery, "eugenol", limit * 2, "EDT", basis="concentrate")
    assert diluted.allowed is True and diluted.product_pct == pytest.approx(limit * 2 * 0.1)
    assert material_use(perfumery, "eugenol", limit / 2, "EDT").allowed is True


@pytest.mark.parametrize("name", ["Lilial", "Lyral", "Musk ambrette", "Atranol", "6-Methylcoumarin"])
def test_a_banned_substance_is_never_allowed(perfumery: Perfumery, name: str) -> None:
    use = material_use(perfumery, name, 0.0001)
    assert use.known and use.prohibited and use.allowed is False


@pytest.mark.parametrize(
    ("said", "listed"),
    [
        ("메틸유제놀", "Methyl eugenol"),
        ("사프롤", "Safrole, Isosafrole and Dihydrosafrole"),
        ("머스크 자일렌", "Musk xylene"),
    ],
)
def test_korean_names_of_regulated_substances(perfumery: Perfumery, said: str, listed: str) -> None:
    assert regulated_name(said) == listed
    assert material_use(perfumery, said).known


# -- reading the question ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "focus", "args"),
    [
        ("Would 2% eugenol be acceptable in an EDT?", None, {"name": "Eugenol", "pct": 2.0, "concentration": "EDT"}),
        ("시트랄은 몇 퍼센트까지 넣을 수 있나요?", None, {"name": "Citral", "pct": None, "limit": True}),
        ("is 3% citral in the concentrate fine?", None, {"name": "Citral", "pct": 3.0, "basis": "concentrate"}),
        ("and 0.5%?", "Isoeugenol", {"name": "Isoeugenol", "pct": 0.5}),
        ("그럼 대신 쓸 만한 건요?", "Lilial", {"name": "Lilial", "instead": True}),
        ("is safrole banned?", None, {"name": "Safrole, Isosafrole and Dihydrosafrole", "limit": True}),
    ],
)
def test_a_rules_question_becomes_the_lookup_it_needs(
    reader: SlotReader, text: str, focus: str | None, args: dict[str, Any]
) -> None:
    question = read_question(text, reader.read(text).to_dict(), focus)
    assert question is not None
    got = question.tool_args()
    assert {k: got.get(k) for k in args} == args, got


@pytest.mark.parametrize(
    "text", ["what does eugenol smell like?", "Bergamot Oil 10%, Hedione 30%, Iso E Super 20%", "I love vanilla"]
)
def test_other_messages_are_no_rules_question(reader: SlotReader, text: str) -> None:
    assert read_question(text, reader.read(text).to_dict(), None) is None


# -- through the conversation ----------------------------------------------------------------------
async def ask(runtime: Runtime, *texts: str) -> list[dict[str, Any]]:
    service = runtime.require_service()
    thread = f"rules-{uuid.uuid4().hex[:10]}"
    customer = await service.memory.repository.customer_for("cli", thread)
    states = []
    for text in texts:
        await service.say(Inbound(text=text, customer_id=customer.id, channel="cli", conversation_id=thread))
        states.append(dict((await service.graph.aget_state({"configurable": {"thread_id": thread}})).values))
    return states


async def test_an_amount_over_the_limit_is_a_no_with_the_arithmetic(runtime: Runtime) -> None:
    limit = cat4(runtime.perfumery, "Eugenol")
    (state,) = await ask(runtime, f"Would {limit * 3:g}% eugenol be acceptable in an EDT?")
    reply = state["reply"]
    assert reply.startswith("No:") and f"{limit:g} %" in reply, reply
    assert "about 10 % concentrate" in reply and "of the concentrate" in reply, reply


async def test_a_korean_question_with_a_follow_up_amount(runtime: Runtime) -> None:
    limit = cat4(runtime.perfumery, "Isoeugenol")
    first, second = await ask(
        runtime, f"오드뚜왈렛에 이소유제놀 {limit / 2:g}% 써도 괜찮아요?", f"그럼 {limit * 4:g}%는요?"
    )
    assert first["reply"].startswith("네, 넣을 수 있어요") and HANGUL.search(first["reply"]), first["reply"]
    assert second["reply"].startswith("안 돼요") and "이소유제놀" in second["reply"], second["reply"]
    assert "Isoeugenol" not in second["reply"].replace("이소유제놀(Isoeugenol)", "")


async def test_a_regulated_substance_without_a_material_record_is_answered(runtime: Runtime) -> None:
    (state,) = await ask(runtime, "메틸유제놀은 얼마나 넣을 수 있어요?")
    reply = state["reply"]
    limit = cat4(runtime.perfumery, "Methyl eugenol")
    assert (
        reply.startswith("네, 메틸 유제놀(Methyl eugenol)은(는) 완제품의")
        and f"{limit:g}%" in reply
        and "메틸" in reply
    ), reply


async def test_substitutes_for_a_banned_material_never_offer_it(runtime: Runtime) -> None:
    first, second = await ask(runtime, "could I still put some Lyral in a muguet accord?", "so what could replace it?")
    assert first["reply"].startswith("No:") and "Lyral" in first["reply"], first["reply"]
    (lookup,) = second["results"]
    offered = [s["substitute"] for s in lookup["output"]["substitutes"]]
    assert offered and all(runtime.perfumery.validator.usable(name) for name in offered)
    assert "Lyral" not in offered and any(name in second["reply"] for name in offered)


async def test_is_the_formula_in_focus_compliant(runtime: Runtime) -> None:
    composed, checked = await ask(runtime, "Compose a fresh aquatic perfume", "is this formula IFRA compliant?")
    assert composed["formulas"]
    (validation,) = checked["results"]
    assert validation["tool"] == "validate_formula" and validation["output"]["compliant"]
    assert "IFRA" in checked["reply"]


# -- a rules question however it is phrased (issue 10) ----------------------------------------------
@pytest.mark.parametrize(
    ("text", "focus", "args"),
    [
        ("and eugenol at 0.5%? for a clove note", "Citral", {"name": "Eugenol", "pct": 0.5}),
        ("what about isoeugenol at 0.05% then?", None, {"name": "Isoeugenol", "pct": 0.05}),
        ("what's the highest eugenol dose I can go with?", None, {"name": "Eugenol", "limit": True}),
        ("so how high can citral go in an EDT", None, {"name": "Citral", "limit": True, "concentration": "EDT"}),
        ("유제놀 0.5%는요?", "Citral", {"name": "Eugenol", "pct": 0.5}),
        ("이소유제놀 0.1%면 어때요?", None, {"name": "Isoeugenol", "pct": 0.1}),
        ("시트랄은 최대 얼마까지 써요?", None, {"name": "Citral", "limit": True}),
    ],
)
def test_a_rules_question_in_other_words(
    reader: SlotReader, text: str, focus: str | None, args: dict[str, Any]
) -> None:
    question = read_question(text, reader.read(text).to_dict(), focus)
    assert question is not None, text
    got = question.tool_args()
    assert {k: got.get(k) for k in args} == args, got


async def test_a_follow_up_naming_another_material_and_then_its_limit(runtime: Runtime) -> None:
    limit = cat4(runtime.perfumery, "Eugenol")
    first, second, third = await ask(
        runtime,
        "is 0.05% citral in an EDP fine?",
        f"and eugenol at {limit * 5:g}%? I'd like a clove edge",
        "ok so what's the highest eugenol amount I can go with?",
    )
    assert first["results"][0]["tool"] == "lookup_material"
    assert second["reply"].startswith("No:") and "Eugenol" in second["reply"], second["reply"]
    assert third["results"][0]["tool"] == "lookup_material" and f"{limit:g}" in third["reply"], third["reply"]
