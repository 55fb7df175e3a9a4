"""Answers that weigh what the question asks: a time span against the perfume's longevity ("would it hold
up from 9 to 6?"), and the part of the pyramid asked about ("what's in the drydown?")."""

from __future__ import annotations

import pytest

from agents.references import hours_asked, layer_asked
from graphs.runtime import Runtime
from prompts import templates
from tests.test_regulatory_questions import ask
from tools.search.fit import lasts
from tools.search.lexicon import default_lexicon


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("would it hold up from 9 to 6?", 9.0),
        ("will it survive 9-5 at the office", 8.0),
        ("저녁 7시부터 11시까지 버틸까요?", 4.0),
        ("아침 9시부터 저녁 6시까지 가요?", 9.0),
        ("7pm to 11pm, will it hold?", 4.0),
        ("does it last 8 hours?", 8.0),
        ("10시간 가요?", 10.0),
        ("하루 종일 가요?", 9.0),
        ("can it last all day?", 9.0),
        ("is it long lasting?", None),
        ("2번은 오래가요?", None),
    ],
)
def test_the_hours_a_longevity_question_asks_for(text: str, hours: float | None) -> None:
    assert hours_asked(text) == hours


@pytest.mark.parametrize(
    ("text", "layer"),
    [
        ("what's in the drydown?", "base"),
        ("what does it dry down to", "base"),
        ("잔향은 어떤 향이에요?", "base"),
        ("마지막에 남는 향이 뭐예요?", "base"),
        ("how does it open?", "top"),
        ("첫 향은 어때요?", "top"),
        ("and the heart notes?", "heart"),
        ("what notes does it have?", None),
    ],
)
def test_the_part_of_the_pyramid_asked_about(text: str, layer: str | None) -> None:
    assert layer_asked(text) == layer


def test_a_span_is_weighed_against_the_longevity_labels_hours() -> None:
    assert [lasts("long lasting", h) for h in (6, 9, 11)] == ["yes", "barely", "no"]
    assert lasts("eternal", 10) == "yes" and lasts("eternal", 14) == "barely"  # "12+ hours"
    assert lasts("weak", 8) == "no" and lasts(None, 8) is None


async def test_the_answers_say_whether_it_lasts_the_span_and_name_the_drydown(runtime: Runtime) -> None:
    states = await ask(
        runtime, "tell me about Chanel Coco Mademoiselle", "would it hold up from 9 to 6?", "what's in the drydown?"
    )
    span, drydown = states[1]["reply"], states[2]["reply"]
    assert "7-10 hours" in span and "9 hours" in span and "touch-up" in span, span
    assert drydown.startswith("Chanel Coco Mademoiselle dries down to") and "Patchouli" in drydown, drydown
    assert "Bergamot" not in drydown  # the opening is not the drydown


async def test_the_korean_answers_too(runtime: Runtime) -> None:
    states = await ask(
        runtime, "샤넬 코코 마드모아젤 어때요?", "아침 9시부터 저녁 6시까지 버틸까요?", "잔향은 어떤 향이에요?"
    )
    span, drydown = states[1]["reply"], states[2]["reply"]
    assert "9시간" in span and "덧뿌리" in span and "저녁 외출" not in span, span
    assert "잔향(베이스 노트)" in drydown and "패출리" in drydown and "베르가못" not in drydown, drydown


@pytest.mark.parametrize("kind", ["mood", "occasion", "season"])
def test_every_situation_the_lexicon_reads_has_korean_words(kind: str) -> None:
    """A Korean answer about a mood, an occasion or a season never shows the lexicon's English key ("dry")."""
    korean = templates("service", "ko")
    missing = [
        value
        for value in default_lexicon().rules.get(kind, {})
        if f"{kind}_{value.replace(' ', '_')}" not in korean and f"when_{kind}_{value}" not in korean
    ]
    assert missing == []
