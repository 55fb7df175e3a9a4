"""The reply's language is the message's own, whatever Korean or English words it borrows."""

from __future__ import annotations

import re

import pytest

from agents.language import own_words, reply_language
from tools.search.engine import SearchEngine

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        # English sentences holding a Korean word or two: answered in English.
        ("quick q, I'm a hobby perfumer in Busan. is 코스투스 오일 allowed at all?", "en"),
        ("found musk moskene in my grandpa's old 향료 catalog, is that still ok to use?", "en"),
        ("what's the deal with Molecule 01? 우리 팀장님 wears it and people keep complimenting her", "en"),
        ("my 엄마 wants something powdery for spring, any ideas?", "en"),
        ("is 우디 the same thing as woody in English descriptions?", "en"),
        ("my son is 14 and wants his first cologne. budget 10만원 or so, nothing too grown-up", "en"),
        ("office air is awful lately (회사 공기 최악 ㅋㅋ). need something fresh", "en"),
        # Korean sentences around English names and words: answered in Korean.
        ("Tom Ford Oud Wood 같은 느낌의 향수 있어요?", "ko"),
        ("Maison Francis Kurkdjian Baccarat Rouge 540 가격?", "ko"),
        ("budget 그대로 두고 좀 더 가벼운 것도 보여 줄 수 있어요?", "ko"),
        ("향수 추천 please", "ko"),
        ("summer에 뿌릴 citrus 향 for my boyfriend", "ko"),
        ("여친 생일 gift로 honey 느낌 나는 거 17만원 under", "ko"),
        # The customer says which language they want.
        ("그거 heat wave 올 때 뿌려도 괜찮아요? 대답은 한국어로 부탁해요", "ko"),
        ("is it long lasting? answer in Korean please", "ko"),
        ("이거 오래가요? in English please", "en"),
    ],
)
def test_the_reply_language_follows_the_message(text: str, language: str) -> None:
    assert reply_language(text) == language


def test_an_english_message_keeps_its_korean_words_only_outside_asides() -> None:
    assert own_words("need something fresh (회사 공기 최악)") == "need something fresh"
    assert own_words("Tom Ford Oud Wood 같은 느낌의 향수") == "Tom Ford Oud Wood 같은 느낌의 향수"


def test_a_search_explains_itself_in_the_messages_language(engine: SearchEngine) -> None:
    """The reasons on the cards ("matches: ...") are in the reply's language, whatever Korean words it borrows."""
    english = engine.search_sync("my son is 14, first cologne, budget 10만원 or so, something woody", 3)
    assert english.parsed.language == "en" and not any(HANGUL.search(r.reason) for r in english.results)
    korean = engine.search_sync("우디한 향수 10만원 이하로", 3)
    assert korean.parsed.language == "ko" and all(HANGUL.search(r.reason) for r in korean.results if r.reason)
