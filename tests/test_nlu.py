"""The NLU layer in process: the intent set and its training file, the classifier on fresh
hand-written utterances, the slot reader in both languages, and the evaluation report.

One NLU is built for the whole module (as the product builds it, from the starter index)
and shared by every test. The utterances below are written for these tests; a test checks
that none of them was copied from the training or evaluation data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agents.evaluation import DEFAULT_EVAL, evaluate_nlu, format_report, load_eval
from agents.intent import CLARIFY, INTENTS, load_examples
from agents.nlu import NLU
from core.errors import FragranceError
from tests.conftest import FIXTURES, StarterIndex
from tests.test_nlu_api_cli import start_nlu_cli_runs
from tools.perfumery.database import perfumery_for
from tools.search.engine import SearchEngine
from tools.search.text import fold

NLU_FIXTURES = FIXTURES / "nlu"
EVAL_SMALL = NLU_FIXTURES / "eval_small.jsonl"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
NINE = {
    "recommend",
    "product_info",
    "compare",
    "compose",
    "validate",
    "ingredient_info",
    "handoff",
    "smalltalk",
    "off_topic",
}


@pytest.fixture(scope="session")
def nlu(engine: SearchEngine, starter_index: StarterIndex, request: pytest.FixtureRequest) -> NLU:
    """Built as the API and the CLI build it: the starter index and its home's perfumery tables."""
    if any("nlu_cli_runs" in getattr(item, "fixturenames", ()) for item in request.session.items):
        start_nlu_cli_runs(starter_index.home)  # they run beside the build below (one thread each)
    return NLU.build(engine.embedder, engine, perfumery_for(starter_index.home).materials)


def _starter_id(starter_rows: dict[str, dict[str, str]], brand: str, name: str) -> str:
    ids = [i for i, row in starter_rows.items() if row["brand"] == brand and row["perfume"] == name]
    assert len(ids) == 1, (brand, name, ids)
    return ids[0]


# -- 1. the intent set and the training file ----------------------------------------------
def test_the_intent_set_is_exactly_the_nine() -> None:
    assert len(INTENTS) == 9
    assert set(INTENTS) == NINE


def test_the_classifier_can_predict_every_intent_and_nothing_else(nlu: NLU) -> None:
    assert set(nlu.classifier.model.classes_) == NINE


def test_the_bundled_examples_cover_every_intent_in_both_languages() -> None:
    examples = load_examples()
    assert {intent for _, intent in examples} == NINE
    for intent in NINE:
        texts = [t for t, i in examples if i == intent]
        assert any(HANGUL.search(t) for t in texts), f"{intent}: no Korean example"
        assert any(not HANGUL.search(t) for t in texts), f"{intent}: no English example"
        assert all(t.strip() for t in texts)


def test_load_examples_reads_a_valid_file_english_then_korean() -> None:
    assert load_examples(NLU_FIXTURES / "two_intents.yaml") == [
        ("Put me through to a salesperson", "handoff"),
        ("판매 직원 바꿔 주세요", "handoff"),
        ("매장 매니저랑 통화할래요", "handoff"),
        ("Howdy!", "smalltalk"),
        ("See you around", "smalltalk"),
    ]


def test_load_examples_rejects_an_unknown_intent_naming_it() -> None:
    path = NLU_FIXTURES / "unknown_intent.yaml"
    with pytest.raises(ValueError) as caught:
        load_examples(path)
    message = str(caught.value)
    assert "weather_report" in message
    assert str(path) in message
    assert "'recommend'" not in message.split("the set is")[0]  # only the unknown one is blamed


# -- 2. classification of fresh, clear utterances -----------------------------------------
CLEAR = [
    ("recommend", "en", "Could you suggest a warm perfume for a winter evening party?"),
    ("recommend", "en", "I'd like a fresh citrus fragrance recommendation for hot summer days"),
    ("recommend", "ko", "가을에 어울리는 차분한 향수 좀 골라 주세요"),
    ("recommend", "ko", "출근할 때 뿌리기 좋은 산뜻한 향수 추천해 줄래요?"),
    ("product_info", "en", "What are the top notes of Creed Aventus?"),
    ("product_info", "en", "Is Chanel Coco Mademoiselle available in 100ml and how much does it cost?"),
    ("product_info", "ko", "크리드 어벤투스 베이스 노트가 뭐예요?"),
    ("product_info", "ko", "샤넬 코코 마드모아젤 가격 알려 주세요"),
    ("compare", "en", "Bleu de Chanel vs Dior Sauvage, which lasts longer?"),
    ("compare", "en", "Which is sweeter, Shalimar or Flowerbomb?"),
    ("compare", "ko", "블루 드 샤넬과 디올 소바쥬 비교해 주세요"),
    ("compare", "ko", "크리드 어벤투스랑 디올 소바쥬 중에 뭐가 더 오래 가요?"),
    ("compose", "en", "Please create a custom perfume with jasmine and sandalwood for me"),
    ("compose", "en", "I want you to formulate my own personal scent with fig and cedar"),
    ("compose", "ko", "재스민이랑 샌달우드 넣어서 나만의 향수 조향해 주세요"),
    ("compose", "ko", "무화과랑 시더우드로 커스텀 향수 하나 만들어 줄 수 있어요?"),
    ("validate", "en", "Please check whether this formula is IFRA compliant: Bergamot Oil 10%, Hedione 30%"),
    ("validate", "en", "Review my recipe for allergens: citral 3%, geraniol 2%"),
    ("validate", "ko", "이 포뮬러가 IFRA 기준에 맞는지 검사해 주세요: 베르가못 오일 10%, 헤디온 30%"),
    ("validate", "ko", "제 레시피 알레르기 성분 점검 부탁드려요: 시트랄 3%, 제라니올 2%"),
    ("ingredient_info", "en", "What does Hedione smell like?"),
    ("ingredient_info", "en", "Is vanillin a natural or synthetic material?"),
    ("ingredient_info", "ko", "헤디온은 어떤 향이 나는 원료예요?"),
    ("ingredient_info", "ko", "샌달우드 오일은 어디서 얻는 원료인가요?"),
    ("handoff", "en", "I'd like to speak to a human agent, please"),
    ("handoff", "en", "Please connect me with a store employee"),
    ("handoff", "ko", "직원 불러 주세요"),
    ("handoff", "ko", "상담 직원이랑 통화하고 싶어요"),
    ("smalltalk", "en", "Hello there, nice to meet you!"),
    ("smalltalk", "en", "Thanks a lot for your help, bye!"),
    ("smalltalk", "ko", "반갑습니다, 좋은 아침이에요!"),
    ("smalltalk", "ko", "고맙습니다 좋은 하루 보내세요"),
    ("off_topic", "en", "How many moons does Jupiter have?"),
    ("off_topic", "en", "Can you explain how a car engine works?"),
    ("off_topic", "ko", "오늘 서울 날씨 어때?"),
    ("off_topic", "ko", "수학 숙제 좀 풀어 줘"),
]
UNCLEAR = ["asdf qwer", "zxcv", "hmm", "ㅋㅋㅋ", "도와주셔서 정말 감사해요", "a stronger one", "under $150"]


def _check_clarify(nlu: NLU, result: dict[str, Any]) -> None:
    threshold = nlu.classifier.threshold
    if result["confidence"] < threshold:
        assert result["clarify"] == CLARIFY[result["language"]], result
    else:
        assert result["clarify"] is None, result


def test_the_fresh_utterances_are_not_in_the_data_files() -> None:
    trained = {fold(text) for text, _ in load_examples()}
    held_out = {fold(item["text"]) for item in load_eval(DEFAULT_EVAL)}
    for _, _, text in CLEAR:
        assert fold(text) not in trained, f"copied from the training examples: {text}"
        assert fold(text) not in held_out, f"copied from the evaluation set: {text}"


def test_every_intent_has_two_fresh_utterances_per_language() -> None:
    for intent in NINE:
        for lang in ("en", "ko"):
            assert len([t for i, la, t in CLEAR if (i, la) == (intent, lang)]) >= 2, (intent, lang)
    assert all(bool(HANGUL.search(t)) == (lang == "ko") for _, lang, t in CLEAR)


@pytest.mark.parametrize(("intent", "lang", "text"), CLEAR, ids=[f"{i}-{la}-{n}" for n, (i, la, _) in enumerate(CLEAR)])
def test_clear_utterances_are_classified(nlu: NLU, intent: str, lang: str, text: str) -> None:
    result = nlu.parse(text)
    assert set(result) == {"text", "intent", "confidence", "slots", "language", "clarify"}
    assert result["text"] == text
    assert result["intent"] == intent, result
    assert isinstance(result["confidence"], float)
    assert 0.0 <= result["confidence"] <= 1.0
    assert result["language"] == lang
    assert result["slots"]["language"] == lang
    _check_clarify(nlu, result)


def test_clarify_is_set_exactly_below_the_threshold(nlu: NLU) -> None:
    threshold = nlu.classifier.threshold
    assert 0.0 < threshold < 1.0
    results = nlu.parse_many([t for _, _, t in CLEAR] + UNCLEAR)
    for result in results:
        assert result["intent"] in NINE
        # the confidence is the top class probability of nine, so never below 1/9
        assert 1 / 9 - 1e-4 <= result["confidence"] <= 1.0
        _check_clarify(nlu, result)
    assert HANGUL.search(CLARIFY["ko"]) and not HANGUL.search(CLARIFY["en"])


def test_the_threshold_alone_decides_whether_to_ask(nlu: NLU) -> None:
    texts = ["asdf qwer", "직원 불러 주세요", "What does Hedione smell like?"]
    classifier = nlu.classifier
    saved = classifier.threshold
    try:
        baseline = [r.to_dict() for r in classifier.classify_many(texts)]
        classifier.threshold = 1.01  # above any probability: every answer becomes a question
        asked = classifier.classify_many(texts)
        classifier.threshold = 0.0  # below any probability: nothing is asked
        told = classifier.classify_many(texts)
    finally:
        classifier.threshold = saved
    for before, a, t in zip(baseline, asked, told, strict=True):
        assert (a.intent, a.confidence) == (t.intent, t.confidence) == (before["intent"], before["confidence"])
        assert a.clarify == CLARIFY[a.language]
        assert t.clarify is None
    assert [a.language for a in asked] == ["en", "ko", "en"]
    assert HANGUL.search(asked[1].clarify or "")


def test_a_batch_gives_what_one_by_one_gives(nlu: NLU) -> None:
    texts = [t for _, _, t in CLEAR[::3]]
    batch = nlu.parse_many(texts)
    assert [r["text"] for r in batch] == texts
    for text, result in zip(texts, batch, strict=True):
        single = nlu.parse(text)
        assert result["intent"] == single["intent"]
        assert result["confidence"] == pytest.approx(single["confidence"], abs=2e-3)
        assert result["slots"] == single["slots"]
    assert nlu.parse_many([]) == []


@pytest.mark.parametrize(
    ("text", "lang"),
    [("Chanel 향수 추천해 줘", "ko"), ("Is 샤넬 a brand?", "ko"), ("Tell me about Chanel No 5", "en"), ("?", "en")],
)
def test_language_is_korean_when_any_hangul_appears(nlu: NLU, text: str, lang: str) -> None:
    result = nlu.parse(text)
    assert result["language"] == lang
    assert result["slots"]["language"] == lang


# -- 3. slots -----------------------------------------------------------------------------
def slots(nlu: NLU, text: str) -> dict[str, Any]:
    out: dict[str, Any] = nlu.parse(text)["slots"]
    return out


@pytest.mark.parametrize(
    ("text", "liked", "disliked"),
    [
        ("장미는 좋은데 바닐라는 싫어요", ["Rose"], ["Vanilla"]),
        ("I love rose but hate vanilla", ["Rose"], ["Vanilla"]),
        ("I like jasmine, no patchouli please", ["Jasmine"], ["Patchouli"]),
        ("우디한 향에 머스크는 빼 주세요", [], ["Musk"]),
    ],
)
def test_liked_and_disliked_notes(nlu: NLU, text: str, liked: list[str], disliked: list[str]) -> None:
    s = slots(nlu, text)
    assert s.get("liked_notes", []) == liked
    assert s.get("disliked_notes", []) == disliked


@pytest.mark.parametrize("text", ["시트러스하고 우디한 향", "something woody and citrusy"])
def test_accords(nlu: NLU, text: str) -> None:
    assert set(slots(nlu, text)["accords"]) == {"citrus", "woody"}


@pytest.mark.parametrize(
    ("text", "name", "value"),
    [
        ("a long-lasting scent for men", "gender", "men"),
        ("남자친구한테 줄 남자 향수", "gender", "men"),
        ("여자친구 선물용 향수", "gender", "women"),
        ("perfume for winter", "season", "winter"),
        ("여름용 향수", "season", "summer"),
        ("a fragrance for the office", "occasion", "office"),
        ("데이트용 향수", "occasion", "date"),
        ("회사에서 쓸 향수", "occasion", "office"),
        ("romantic scent", "mood", "romantic"),
        ("로맨틱한 향수", "mood", "romantic"),
        ("가을에 어울리는 차분한 향수", "mood", "calm"),
        ("더 가벼운 걸로", "intensity", "light"),
        ("좀 더 은은한 걸로요", "intensity", "light"),
        ("something lighter", "intensity", "light"),
        ("더 진한 걸로", "intensity", "strong"),
        ("I want a stronger one", "intensity", "strong"),
    ],
)
def test_single_valued_slots(nlu: NLU, text: str, name: str, value: str) -> None:
    assert slots(nlu, text).get(name) == value


def test_slot_free_text_has_only_the_language(nlu: NLU) -> None:
    for text, lang in [("반갑습니다, 좋은 아침이에요!", "ko"), ("Who is the president of France?", "en")]:
        s = slots(nlu, text)
        assert s == {"language": lang}


@pytest.mark.parametrize("text", ["long lasting perfume", "오래 가는 향수 있어요?", "지속력 좋은 향수"])
def test_longevity(nlu: NLU, text: str) -> None:
    longevity = slots(nlu, text)["longevity"]
    assert "long lasting" in longevity
    assert not {"very weak", "weak", "moderate"} & set(longevity)


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("10만원 이하", {"max": 100000.0, "currency": "KRW"}),
        ("15만 원 안쪽으로 우디한 향수", {"max": 150000.0, "currency": "KRW"}),
        ("150,000원 이하", {"max": 150000.0, "currency": "KRW"}),
        ("5천원짜리 샘플 있어요?", {"max": 5000.0, "currency": "KRW"}),
        ("under $150", {"max": 150.0, "currency": "USD"}),
        ("my budget is 90 dollars", {"max": 90.0, "currency": "USD"}),
        ("something cheaper", {"relative": "cheaper"}),
        ("좀 더 저렴한 거", {"relative": "cheaper"}),
    ],
)
def test_budget(nlu: NLU, text: str, budget: dict[str, Any]) -> None:
    assert slots(nlu, text).get("budget") == budget


def test_a_dollar_price_without_a_budget_cue_is_no_budget(nlu: NLU) -> None:
    assert "budget" not in slots(nlu, "Is Aventus $150?")


@pytest.mark.parametrize(
    ("text", "brand"), [("샤넬 향수", "Chanel"), ("디올 향수", "Christian Dior"), ("Chanel perfume", "Chanel")]
)
def test_brands(nlu: NLU, text: str, brand: str) -> None:
    assert slots(nlu, text)["brands"] == [brand]


def test_a_bare_distinctive_name_finds_the_catalog_perfume(
    nlu: NLU, starter_rows: dict[str, dict[str, str]], engine: SearchEngine
) -> None:
    aventus = _starter_id(starter_rows, "Creed", "Aventus")
    perfumes = slots(nlu, "How long does Aventus last?")["perfumes"]
    assert perfumes == [{"id": aventus, "brand": "Creed", "name": "Aventus"}]
    perfume = engine.get(aventus)
    assert perfume is not None and perfume.name == "Aventus"


def test_two_named_perfumes_in_order_once_each(nlu: NLU, starter_rows: dict[str, dict[str, str]]) -> None:
    bleu = _starter_id(starter_rows, "Chanel", "Bleu de Chanel")
    sauvage = _starter_id(starter_rows, "Christian Dior", "Sauvage")
    s = slots(nlu, "Bleu de Chanel vs Dior Sauvage, which lasts longer? I mean Sauvage, not Sauvage Elixir")
    ids = [p["id"] for p in s["perfumes"]]
    assert ids[:2] == [bleu, sauvage]
    assert len(ids) == len(set(ids))
    for p in s["perfumes"]:
        assert (p["brand"], p["name"]) == (starter_rows[p["id"]]["brand"], starter_rows[p["id"]]["perfume"])


def test_brand_and_name_together_find_the_perfume(nlu: NLU, starter_rows: dict[str, dict[str, str]]) -> None:
    coco = _starter_id(starter_rows, "Chanel", "Coco Mademoiselle")
    s = slots(nlu, "Is Chanel Coco Mademoiselle in stock?")
    assert [p["id"] for p in s["perfumes"]] == [coco]
    assert s["brands"] == ["Chanel"]


@pytest.mark.parametrize(
    ("text", "brand", "name"),
    [
        ("블루드샤넬은 여름에도 괜찮아요?", "Chanel", "Bleu de Chanel"),
        ("소바쥬랑 비슷한데 덜 스파이시한 거", "Christian Dior", "Sauvage"),
        ("르라보 상탈33 가격 알려주세요", "Le Labo", "Santal 33"),
        ("샤넬 넘버5 선물하려고요", "Chanel", "No 5"),
        ("I keep smelling Baccarat Rouge on the subway", "Maison Francis Kurkdjian", "Baccarat Rouge 540"),
    ],
)
def test_perfumes_named_in_korean_or_without_their_number(
    nlu: NLU, starter_rows: dict[str, dict[str, str]], text: str, brand: str, name: str
) -> None:
    assert [p["id"] for p in slots(nlu, text)["perfumes"]] == [_starter_id(starter_rows, brand, name)]


def test_the_words_of_a_named_perfume_are_not_read_as_notes(nlu: NLU) -> None:
    s = slots(nlu, "Does Jo Malone Lime Basil & Mandarin stay on skin, or should I add vanilla?")
    assert [p["name"] for p in s["perfumes"]] == ["Lime Basil & Mandarin"]
    assert s["liked_notes"] == ["Vanilla"]
    assert "materials" not in s
    assert s["brands"] == ["Jo Malone London"]  # the brand written before the name stays a brand


def test_a_note_list_in_a_reply_names_no_perfume(nlu: NLU) -> None:
    """Guerlain Vetiver and similar perfumes named like a note count only with their brand: the
    output guard reads replies that list notes capitalised."""
    s = slots(nlu, "They share Bergamot, Cedar, Labdanum, Patchouli, Pink Pepper, Vetiver.")
    assert "perfumes" not in s
    assert [p["name"] for p in slots(nlu, "Is Guerlain Vetiver dry?")["perfumes"]] == ["Vetiver"]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("쿠마린 2, 벤질 살리실레이트 3.5 이렇게 섞어도 돼요?", [("Coumarin", 2.0), ("Benzyl Salicylate", 3.5)]),
        (
            "vanilla 12, Iso E Super 20, clove 1.5 - is that allowed?",
            [("Vanilla", 12.0), ("Iso E Super", 20.0), ("Clove", 1.5)],
        ),
    ],
)
def test_formula_lines_without_percent_signs(nlu: NLU, text: str, lines: list[tuple[str, float]]) -> None:
    assert slots(nlu, text)["formula_lines"] == [{"name": n, "pct": p} for n, p in lines]


@pytest.mark.parametrize(
    "text",
    ["I bought 2 bottles of vanilla perfume for 3 friends", "장미 향수 2병이랑 바닐라 향수 1병 샀어요", "rose 2"],
)
def test_amounts_that_are_not_a_formula(nlu: NLU, text: str) -> None:
    assert "formula_lines" not in slots(nlu, text)


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("Bergamot Oil 10%, Hedione 30%", [("Bergamot Oil", 10.0), ("Hedione", 30.0)]),
        ("베르가못 오일 10%, 헤디온 30%", [("베르가못 오일", 10.0), ("헤디온", 30.0)]),
        ("Iso E Super: 25%\nAldehyde C-12 MNA = 0.5%", [("Iso E Super", 25.0), ("Aldehyde C-12 MNA", 0.5)]),
    ],
)
def test_formula_lines(nlu: NLU, text: str, lines: list[tuple[str, float]]) -> None:
    assert slots(nlu, text)["formula_lines"] == [{"name": n, "pct": p} for n, p in lines]


@pytest.mark.parametrize(
    ("text", "year_min", "year_max"),
    [
        ("perfume released after 2015", 2016, None),
        ("2010년 이후에 나온 향수", 2010, None),
        ("perfumes from before 2000", None, 1999),
        ("2000년 이전 향수", None, 1999),
        ("between 2005 and 2015", 2005, 2015),
        ("2015년부터 2020년까지 나온 향수", 2015, 2020),
    ],
)
def test_year_bounds(nlu: NLU, text: str, year_min: int | None, year_max: int | None) -> None:
    s = slots(nlu, text)
    assert (s.get("year_min"), s.get("year_max")) == (year_min, year_max)


# -- slot bugs: these fail until the slot reader is fixed ----------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "I wanted something fresh for summer",
        "Recommend a long-lasting cologne for winter",
        "What's the perfect gift for my wife?",
        "a beautiful floral scent for spring",
    ],
)
def test_ordinary_words_are_not_perfume_names(nlu: NLU, text: str) -> None:
    """Bare catalog names that are ordinary English words (Wanted, Cologne, Perfect,
    Beautiful) must not turn a request without any perfume name into a named perfume."""
    assert slots(nlu, text).get("perfumes", []) == []


def test_a_name_is_not_read_across_punctuation(nlu: NLU) -> None:
    """Replies list notes capitalised: "Wood Sage, Sea Salt" is two notes, not Wood Sage & Sea Salt,
    while a name written with its own punctuation (Mr. Burberry) is still read."""
    assert "perfumes" not in slots(nlu, "Its own notes: Wood Sage, Sea Salt, Grapefruit")
    assert [p["name"] for p in slots(nlu, "Is Wood Sage & Sea Salt unisex?")["perfumes"]] == ["Wood Sage & Sea Salt"]
    assert [p["name"] for p in slots(nlu, "How long does Mr. Burberry last?")["perfumes"]] == ["Mr. Burberry"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Wanted something woody, maybe with Cedar", []),  # an English word alone: needs its brand
        ("Is Azzaro Wanted too sweet?", ["Wanted"]),
        ("Is Sauvage too strong for the office?", ["Sauvage"]),  # not an English word: read alone
        ("Halfeti or Delina for a date?", ["Halfeti", "Delina"]),
    ],
)
def test_a_bare_name_that_is_an_english_word_needs_its_brand(nlu: NLU, text: str, named: list[str]) -> None:
    assert [p["name"] for p in slots(nlu, text).get("perfumes", [])] == named


@pytest.mark.parametrize("text", ["something less intense please", "덜 진한 걸로 보여줘"])
def test_less_intense_is_not_stronger(nlu: NLU, text: str) -> None:
    assert slots(nlu, text).get("intensity") != "strong"


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("under $1,200", {"max": 1200.0, "currency": "USD"}),
        ("1,500,000원 이하", {"max": 1500000.0, "currency": "KRW"}),
    ],
)
def test_budget_with_thousands_separators(nlu: NLU, text: str, budget: dict[str, Any]) -> None:
    assert slots(nlu, text).get("budget") == budget


def test_at_least_is_not_a_maximum_budget(nlu: NLU) -> None:
    """ "10만원 이상" is "100,000 won or more"."""
    budget = slots(nlu, "10만원 이상 고급 향수").get("budget") or {}
    assert budget.get("max") != 100000.0


def test_formula_line_names_do_not_swallow_the_words_before_them(nlu: NLU) -> None:
    lines = slots(nlu, "Is this safe? Bergamot Oil 10% and Hedione 30%")["formula_lines"]
    assert [line["name"] for line in lines] == ["Bergamot Oil", "Hedione"]


# -- 4. the evaluation report -------------------------------------------------------------
def _fixture_items() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EVAL_SMALL.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def small_report(nlu: NLU) -> dict[str, Any]:
    return evaluate_nlu(nlu, load_eval(EVAL_SMALL))


def test_load_eval_reads_the_fixture(nlu: NLU) -> None:
    items = load_eval(EVAL_SMALL)
    assert items == _fixture_items()
    assert len(items) == 10
    assert {bool(HANGUL.search(i["text"])) for i in items} == {True, False}


def test_report_accuracy_matches_the_confusion_matrix(small_report: dict[str, Any]) -> None:
    items = _fixture_items()
    matrix = small_report["confusion"]
    assert set(matrix) == NINE and all(set(row) == NINE for row in matrix.values())
    assert sum(sum(row.values()) for row in matrix.values()) == len(items)
    for intent in NINE:
        assert sum(matrix[intent].values()) == sum(i["intent"] == intent for i in items)
    correct = sum(matrix[i][i] for i in NINE)
    assert 0.0 <= small_report["accuracy"] <= 1.0
    assert small_report["accuracy"] == pytest.approx(correct / len(items))
    assert len(small_report["errors"]) == len(items) - correct


def test_per_intent_precision_and_recall_from_the_matrix(small_report: dict[str, Any]) -> None:
    matrix = small_report["confusion"]
    assert set(small_report["per_intent"]) == NINE
    for intent in NINE:
        tp = matrix[intent][intent]
        predicted = sum(matrix[g][intent] for g in NINE)
        gold = sum(matrix[intent].values())
        entry = small_report["per_intent"][intent]
        assert entry["support"] == gold
        assert entry["precision"] == pytest.approx(tp / predicted if predicted else 0.0)
        assert entry["recall"] == pytest.approx(tp / gold if gold else 0.0)
        assert 0.0 <= entry["precision"] <= 1.0 and 0.0 <= entry["recall"] <= 1.0


def test_deliberately_wrong_gold_labels_are_errors(small_report: dict[str, Any]) -> None:
    wrong = [i for i in _fixture_items() if "deliberately wrong" in i.get("note", "")]
    assert len(wrong) == 2
    errors = {e["text"]: e for e in small_report["errors"]}
    for item in wrong:
        assert item["text"] in errors
        assert errors[item["text"]]["gold"] == item["intent"]
        assert errors[item["text"]]["predicted"] != item["intent"]
        assert small_report["confusion"][item["intent"]][errors[item["text"]]["predicted"]] >= 1
    assert small_report["accuracy"] <= 0.8
    for e in small_report["errors"]:
        assert e["gold"] != e["predicted"]


def test_by_language_counts_add_up(small_report: dict[str, Any]) -> None:
    items = _fixture_items()
    korean = sum(bool(HANGUL.search(i["text"])) for i in items)
    by_language = small_report["by_language"]
    assert set(by_language) == {"en", "ko"}
    assert by_language["ko"]["n"] == korean
    assert by_language["en"]["n"] == len(items) - korean
    assert sum(e["n"] for e in by_language.values()) == len(items)
    weighted = sum(e["accuracy"] * e["n"] for e in by_language.values()) / len(items)
    assert weighted == pytest.approx(small_report["accuracy"])
    assert all(0.0 <= e["accuracy"] <= 1.0 for e in by_language.values())


def test_format_report_names_accuracy_and_every_intent(small_report: dict[str, Any]) -> None:
    text = format_report(small_report)
    assert "accuracy" in text
    assert f"accuracy: {small_report['accuracy']:.3f}" in text
    for intent in INTENTS:
        assert intent in text
    assert "accuracy [ko]" in text and "accuracy [en]" in text
    assert "misclassified:" in text
    for e in small_report["errors"]:
        assert e["text"] in text


@pytest.mark.parametrize(
    ("content", "bad_line"),
    [
        ('{"text": "hi", "intent": "smalltalk"}\n\n{"text": "rain tomorrow?", "intent": "weather"}\n', 3),
        ('{"text": "hi", "intent": "smalltalk"}\n{"text": "", "intent": "smalltalk"}\n', 2),
        ('{"text": "hi"}\n', 1),
        ('{"text": "hi", "intent": "smalltalk"}\nnot json\n', 2),
    ],
)
def test_load_eval_rejects_a_bad_line_naming_it(tmp_path: Path, content: str, bad_line: int) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FragranceError) as caught:
        load_eval(path)
    assert f"{path}: line {bad_line}:" in str(caught.value)


def test_load_eval_unknown_intent_message_lists_the_intents(tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text('{"text": "rain tomorrow?", "intent": "weather"}\n', encoding="utf-8")
    with pytest.raises(FragranceError) as caught:
        load_eval(path)
    assert "line 1" in str(caught.value)
    assert all(intent in str(caught.value) for intent in INTENTS)
