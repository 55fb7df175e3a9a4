"""Query understanding: what a Korean or English search query asks for.

The parser finds lexicon terms in the text (English on word boundaries, Korean as
substrings because particles attach to nouns), decides which of them are excluded
("without vanilla", "바닐라는 빼고"), and reads years, gender, longevity and sillage.
Notes, exclusions, brands, gender, years, longevity and sillage become hard filters;
named accords and season/mood/occasion words become preferences (see `engine`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from tools.search.lexicon import Lexicon, Term
from tools.search.text import compact, fold, is_korean, message_language, trie_pattern
from tools.search.transliterate import Transliterator

NEGATABLE = {"note", "accord", "sillage", "longevity"}
# English words that end the scope of a preceding "without"/"no".
_EN_SCOPE_RESET = re.compile(
    r"(?<![a-z])(?:but|with|for|like|love|loves|want|wants|prefer|please|perfumes?|fragrances?|"
    r"scents?|colognes?|i|yet|though|however|also|plus|and with)(?![a-z])|[.!?;:,]"
)
# "hates anything with lavender", "can't stand stuff that smells of oud": a dislike of whatever carries the item.
_EN_CARRIER = re.compile(
    r"^\s*(?:anything|something|stuff|things|scents?|perfumes?|fragrances?|ones?|colognes?)\s+"
    r"(?:with|that has|that have|containing|heavy on|that smells? (?:of|like)|that's got)\s+"
    r"(?:a\s+|any\s+|the\s+|too much\s+)?$"
)
# "not too", "not overly": the cue negates the adjective after the degree word, not the list after it.
_EN_DEGREE = re.compile(r"[\s-]*(?:too|overly|very|that|so|super)(?![a-z])")
# Connectors between listed items ("바닐라나 머스크", "장미, 자스민", "오드(우드)", "vanilla and musk").
# "almond 같은 고소한 향은 빼고", "바닐라처럼 달달한 건 싫어": an example and the family it belongs to are one
# item to a cue after them.
_KO_CONNECTOR = re.compile(
    r"^\s*(?:향|노트|계열|어코드)?\s*(?:이나|나|이랑|랑|와|과|하고|및|또는|혹은|이든|든|도|and|or|nor|&|"
    r"같은|같이|처럼|등의|등|류의|류|이런|계열의)?\s*[,/·()]?\s*$"
)
_KO_CUE_PREFIX = (
    r"^\s*\)?\s*(?:한|하는|인|스러운|스런|적인)?\s*"  # "스모키한 거 싫고": an adjective, then a noun
    r"(?:향|노트|냄새|향기|계열|느낌|성분|거|것|건|걸|게|종류|쪽)?\s*(?:이|가|은|는|을|를|도|만|이나|나|에는|엔|에)?\s*"
    # "머스크 들어간 건 다 빼고", "머스크 맡으면 머리가 아파요": a verb about the item, then its noun
    r"(?:(?:들어간|들어 간|들어있는|들어 있는|들어가는|섞인|나는|있는|든|맡으면|뿌리면|나면|들어가면)\s*"
    r"(?:거|것|건|걸|게|종류|향수|제품)?\s*(?:이|가|은|는|을|를|도|만)?\s*)?"
    # "시트러스 계열은 저랑 안 맞더라고요": who it does not suit
    r"(?:(?:저|제|나|내|저희|우리|남편|아내|와이프|엄마|아빠|그|그녀)\s*(?:랑|한테|에게|하고|와|이랑|는|은)?\s*)?"
    r"(?:(?:너무|좀|잘|별로|절대|절대로|전혀|많이|진짜|정말|아예|꼭|다|전부|모두|무조건|완전)\s*){0,2}"
)
# A dislike said a few words after its item, within the same clause ("꽃냄새는 할머니 화장품 같다고
# 싫어해", "단 냄새는 딱 질색", "바닐라 들어간 건 하나도 없었으면"): only the unmistakable cues
# reach that far, never past a clause break or a word of liking.
_KO_FAR_CUE = re.compile(
    r"(?:싫어|싫다|싫은|싫고|싫대|싫으|싫었|질색|없었으면|안\s?들어갔으면|안\s?났으면|없으면|빼고|빼\s?주|빼\s?줘|제외|말고|사절|"
    r"(?:들어가|들어\s?가|들어있|들어\s?있|넣으|넣|있으|섞이|나)면\s?안\s?(?:돼|되|됩|된)|빼\s?줬|빼\s?주셨|빼\s?달|"
    r"머리\s?(?:가\s?)?아프|머리\s?(?:가\s?)?아파|두통|못\s?참|못\s?견디|못\s?견뎌|못\s?버티|못\s?버텨|넣지\s?마|넣지\s?말|"
    r"거부감|역겨|역하|별로|질려|극혐|혐오|울렁|메스꺼|토\s?나|토할|속이\s?안\s?좋|안\s?맞|안\s?받|노노|패스|최악)"
)
# An English dislike a few words after its item, within its clause: "anything coconutty smells like sunscreen
# and he hates it", "vanilla, she says it gives her a headache", "clove makes my skin itchy". Only cues that
# point back at the item (a pronoun, a complaint about its smell) reach that far.
_EN_FAR_CUE = re.compile(
    r"(?<![a-z])(?:(?:hates?|hated|hating|loathes?|loathed|detests?|detested|dislikes?|disliked|despises?|despised|"
    r"can'?t stand|cannot stand|can'?t do|can'?t bear|can'?t handle|can'?t take|couldn'?t stand|won'?t wear|"
    r"will not wear|refuses? to wear|not a fan of|not into|sick of|tired of|over|won'?t touch|wouldn'?t touch|"
    r"won'?t go near|never wears?|refuses? to touch|can'?t stomach|can'?t tolerate)\s+(?:it|them|that|those|this)"
    r"(?![a-z])|smells?\s+(?:\w+\s+)?like\s+(?:a\s+|an\s+|the\s+|cheap\s+|old\s+)?(?:sunscreen|suncream|sun cream|"
    r"sunblock|sun block|suntan lotion|tanning lotion|bug spray|fly spray|insect repellent|cough syrup|medicine|"
    r"old lad(?:y|ies)|grandma|granny|cleaning products?|cleaner|bleach|chemicals?|air fresheners?|toilet|"
    r"bathrooms?|plastic|mothballs?|hospitals?|dentists?|band-?aids?|nail polish|hairspray|death|feet|sweat|"
    r"gasoline|petrol|cat pee|vomit|puke|baby wipes|candy ?floss|fake|headaches?|rot|garbage|trash)(?![a-z])|"
    r"(?:gives?|gave)\s+(?:me|him|her|them|us|(?:my|his|her|their)\s+\w+)\s+(?:a\s+|the\s+)?"
    r"(?:headaches?|migraines?|rash|hives|nausea|ick)|"
    r"(?:makes?|made)\s+(?:me|him|her|them|us|(?:my|his|her|their)\s+\w+)\s+(?:\w+\s+)?(?:sick|gag|nauseous|"
    r"sneeze|itch|itchy|dizzy|queasy|break out|throw up|puke)|"
    r"(?:is|are|'s|'re)\s+(?:a\s+)?(?:total\s+|hard\s+|big\s+)?(?:no-go|no go|dealbreaker|deal breaker|hard pass|"
    r"pass|nope|no from me|the worst|not (?:for (?:me|him|her|us)|it|(?:my|his|her) thing)|gross|nasty|"
    r"disgusting|awful|vile|sickening)(?![a-z])|ain'?t it(?![a-z])|"
    r"(?:is|are|'s|'re)\s+(?!never|not|n't)(?:\w+\s+)?too\s+\w+(?:\s+\w+)?\s+for\s+(?:me|him|her|us|them|(?:my|his|her|our)\s+\w+)(?![a-z])|"
    r"(?:leave|keep|take)\s+(?:it|them|that|those)\s+out(?![a-z])|(?:i'?m|he'?s|she'?s|is|am)\s+allergic)"
)
# A cue word that says no dislike after all: "nothing beats a good rose", "never tried oud".
_EN_NOT_A_DISLIKE = re.compile(
    r"\s+(?:beats|compares|tops|can top|comes close|is better|is as good|tried|smelled|sniffed|worn|owned|"
    r"had the chance|got to try)(?![a-z])"
)
_EN_CLAUSE_BREAK = re.compile(
    r"[.!?;\n]|(?<![a-z])(?:but|though|although|however|whereas|instead|want|wants|love|loves|prefer|prefers|"
    r"(?:i|he|she|they|we|you)\s+(?:really\s+)?(?:like|likes|liked))(?![a-z])"
)
_EN_FAR_WORDS = 8  # words an English far cue may stand after its item
_KO_CLAUSE_BREAK = re.compile(r"[.,!?;~\n]|는데|지만|그리고|근데|하지만|좋아|좋은|좋겠|원해|찾|추천")
_KO_FAR_WORDS = 6  # words a far cue may stand after its item
_KO_NOT_SWEET = re.compile(r"(?:달|달달하|달콤하|스윗하)지\s*않|안\s*달(?:고|달한|콤한|은|아요)|덜\s*달")
# Intensifiers before a longevity or sillage phrase ("지속력 엄청 좋은", "lasts really long") are
# dropped before matching, unless they begin a lexicon phrase themselves ("엄청 오래", "너무 센").
_INTENSIFIER = re.compile(
    r"(?<![\w\uac00-\ud7a3])(?:엄청나게|엄청|진짜|정말|완전|너무|매우|아주|되게|굉장히|꽤|겁나|넘|really|super|very|"
    r"extremely|incredibly|insanely|seriously|truly|ultra)\s+"
)
# What may follow a whole word (배, 차, 우드): 향/향수/냄새/노트, then a particle.
_WHOLE_SUFFIX = r"(?P<suffix>\s?(?:향수|향기|향|냄새|내음|노트))?"
_PARTICLES = r"(?:이랑|으로|하고|이나|이든|처럼|랑|이|가|은|는|을|를|의|로|와|과|도|만|나)"
# Hangul words left over after the lexicon: particles and 향/향수 endings come off before
# the transliteration path looks at them ("베티버가" -> 베티버, "스모키한" -> 스모키).
_LEFTOVER_SUFFIX = re.compile(
    r"(?:\s?(?:향수|향기|향|냄새|노트|계열|느낌|하고|하게|한데|해서|한|스러운|스런|같은))?" + _PARTICLES + "?$"
)
# Verb and adjective endings: a word ending so is Korean, not a loanword (그리운, 어울리는).
_NATIVE_ENDING = re.compile(r"(?:운|은|는|된|던|을|게|고|서|요|죠|다|지|데|니까|면|며|려|자|께|에|야|네|세|까)$")
# Everyday query words that are never a material name.
_KO_STOPWORDS = frozenset(
    """향수 추천 추천해 추천해줘 추천해주세요 제품 브랜드 종류 느낌 스타일 분위기 사람 선물 요즘 인기 가성비
    생신 생일 재입고 입고 문자 연락 연락처 알림 졸업 입학 결혼 기념일 집들이 출근 퇴근 데이트 소개팅
    제일 가장 조금 약간 살짝 그냥 혹시 어떤 무슨 어디 뭐가 뭔가 이런 그런 저런 정도 중에 위주 계열 베이스
    들어간 들어있는 들어 있는 나는 나요 있나요 있어요 주세요 해주세요 알려줘 찾아줘 좋아요 좋은 싶어요
    조합 처럼 년대 이후 이전 나온 출시 감성 거라 냄새 향기 선크림 썬크림 자외선차단제 모기약 파스""".split()  # noqa: SIM905
)
# Stems of everyday verbs and requests ("뿌릴", "어울리", "추천좀여", "부탁드려요").
_KO_STOP_STEMS = (
    *("추천", "부탁", "뿌리", "뿌릴", "어울리", "찾아", "찾고"),
    *("알려", "있으", "없으", "좋아", "원해", "원하"),
)
# Houses whose name is an everyday English word: read as the brand only where clearly meant.
_EVERYDAY_BRAND_WORDS = frozenset(
    "guess nest clean fresh coach next mango lush naked pure ghost glow escape".split()  # noqa: SIM905
)
# A brand named as a reference, not as a filter: "like Chanel No 19", "in the Jo Malone style",
# "not necessarily Chanel", "조말론 같은", "딥티크 스타일", "샤넬 느낌".
_EN_REFERENCE_BEFORE = re.compile(
    r"(?:(?<!i )(?<!we )(?<!you )(?<!they )(?<!she )(?<!he )(?<!really )(?<!would )(?<!'d )like|"  # "I like X": X
    r"similar to|style of|reminiscent of|alternative to|alternatives to|dupe of|dupe for|dupes for|"
    r"inspired by|not necessarily|instead of|cheaper than)\s+(?:(?:a|an|the|old[- ]school|classic|that|those|"
    r"some|something|from)\s+)*$"
)
_EN_REFERENCE_AFTER = re.compile(r"^(?:'s)?[\s-]*(?:style|vibes?|esque|type|inspired|dupes?|clones?|alternatives?)\b")
_KO_REFERENCE_AFTER = re.compile(r"^\s*(?:스타일|같은|같이|느낌|비슷|풍|st\b|류|처럼|대체|대신|말고)")
# A house ruled out ("please no Dior", "anything but Chanel", "had enough of Dior", "르라보 말고", "디올은 빼고",
# "샤넬 제외", "샤넬 아닌 걸로", "샤넬 외에"): the customer wants other houses, so it is a firm exclusion, never a wish.
_EN_BRAND_OUT_BEFORE = re.compile(
    r"(?:\b(?:no|not|without|except|excluding|besides|minus|skip|avoid|avoiding|nothing (?:from|by)|none (?:from|by)|"
    r"other than|anything but|anything except|apart from|aside from|instead of|had enough of|enough of|"
    r"bored of|bored with|tired of|sick of|over|done with|no more|not a fan of|not into|don'?t want|"
    r"do not want|hate|dislike|can'?t stand)\s+(?:(?:any|anymore|more|the|a|from|by|brand|brands|of)\s+)*)$"
)
_KO_BRAND_OUT_AFTER = re.compile(
    r"^\s*(?:꺼|거|것|제품|향수|브랜드|계열|쪽)?\s*(?:은|는|이|가|을|를|도)?\s*"
    r"(?:말고|말구|말곤|빼고|빼구|빼줘|빼 주|제외|아닌|아니고|아니구|외에|외의|이외|"
    r"싫|별로|질렸|질려|지겨|지겹|안\s*좋아|노노)"
)


def _brand_ruled_out(folded: str, start: int, end: int) -> bool:
    """Whether the brand at folded[start:end] is named only to be ruled out (see `_EN_BRAND_OUT_BEFORE`)."""
    before = folded[max(0, start - 40) : start]
    return bool(_EN_BRAND_OUT_BEFORE.search(before) or _KO_BRAND_OUT_AFTER.match(folded[end : end + 16]))


_PRODUCT_WORDS = frozenset(
    """perfume perfumes fragrance fragrances scent scents cologne colognes brand brands line range collection
    products bottle bottles 향수 브랜드 제품""".split()  # noqa: SIM905
)
_EN_STOPWORDS = frozenset(
    """a an the and or of for to with without in on at by from is are be was were i me my we you
    your it its this that these those something anything some any perfume perfumes fragrance
    fragrances scent scents cologne colognes smell smells smelling like love want need looking
    look find show recommend recommendation recommendations suggest suggestions please can could
    would do does have has get give me more most very really quite bit little too so what which
    who whose good nice great best new recent notes note accord accords type kind one ones hi hello
    thanks thank lot lots much many also just but not no""".split()  # noqa: SIM905
)

_YEAR_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"between\s+(\d{4})\s+and\s+(\d{4})"), "range"),
    (re.compile(r"(\d{4})\s*년?\s*(?:부터|에서|~|-|–|to)\s*(\d{4})\s*년?"), "range"),
    (re.compile(r"(\d{4})\s*(?:or|and)\s*(?:newer|later|after|onwards?|up)|(\d{4})\s*\+"), "min"),
    (re.compile(r"(\d{4})\s*(?:or|and)\s*(?:older|earlier|before)"), "max"),
    (re.compile(r"(?:after|post|newer than|later than)\s+(\d{4})"), "after"),
    (re.compile(r"(?:since|from)\s+(\d{4})"), "min"),
    (re.compile(r"(?:before|older than|pre|prior to|earlier than)\s*-?\s*(\d{4})"), "before"),
    (re.compile(r"(?:until|up to|through)\s+(\d{4})"), "max"),
    (re.compile(r"(\d{4})\s*년?\s*(?:이후|부터|넘어서|이상|以後)"), "min"),
    (re.compile(r"(\d{4})\s*년?\s*(?:이전|전에|전)"), "before"),
    (re.compile(r"(\d{4})\s*년?\s*까지"), "max"),
    (re.compile(r"(\d{2,4})\s*년대\s*(?:이전|전에|전|까지|以前)"), "decade_before"),
    (re.compile(r"(\d{2,4})\s*년대\s*(?:이후|부터|以後)"), "decade_min"),
    (re.compile(r"(?:before|pre|prior to|older than)\s*(?:the\s*)?-?'?((?:19|20)?\d0)'?s(?![a-z])"), "decade_before"),
    (re.compile(r"(?<![\d'])'?((?:19|20)?\d0)'?s\s*(?:or|and)\s*(?:earlier|older|before)"), "decade_before_incl"),
    (re.compile(r"(\d{2,4})\s*년대"), "decade"),
    (re.compile(r"(?<!\d)(19|20)(\d)0'?s(?![a-z])|(?<![\d'])'?(\d)0'?s(?![a-z])"), "decade_en"),
    (
        re.compile(
            r"(?:in|launched in|released in|from the year)\s+(\d{4})(?!\d)|(\d{4})\s*년\s*(?:에|에\s*나온|출시|산)"
        ),
        "exact",
    ),
]


# A phone number ("010-2024-2026", "+82 10 1234 5678") holds no year, whatever its digits.
_PHONE = re.compile(r"(?<![\d-])(?:\+?\d{1,3}[-.\s]?)?\d{2,4}[-.\s]\d{3,4}[-.\s]\d{4}(?![\d-])")
# "(f, 30s)", "in his 60s", "early 20s", "a 40s woman": an age, not a decade of launch years.
_AGE_BEFORE = re.compile(
    r"(?:(?<![a-z])(?:in|into)\s+(?:his|her|my|their|your|our|the)\s+(?:early|mid|late)?[\s-]*|"
    r"(?<![a-z])(?:early|mid|late)[\s-]*|\(\s*[fmw]\s*[,/]\s*|"
    r"(?<![a-z])(?:aged?|[fm]|woman|man|lady|guy|girl|female|male|wife|husband|dad|mom|mum|father|mother)\s*[,/]?\s*)$"
)
_AGE_AFTER = re.compile(
    r"^\s*(?:years?\s*old|yo(?![a-z])|y/o|woman|women|man|men|guy|guys|lady|ladies|girl|girls|boy|boys|female|"
    r"male|mom|mum|dad|wife|husband|couple|professional|student|[,/]\s*[fmw](?![a-z]))"
)
_AGE_RULES = frozenset({"decade_en", "decade_before", "decade_before_incl"})


# Who wears it, said as a profile tag: "(m, 40s)", "(F/50)", "m40", "28f", "[male, 30s]".
_SPEAKER_TAG = re.compile(
    r"[(\[]\s*(?P<a>m|f|male|female)\s*[,/]?\s*\d{2}\s*s?\s*[)\],]|"
    r"[(\[]\s*\d{2}\s*s?\s*[,/]?\s*(?P<b>m|f|male|female)\s*[)\]]|"
    r"(?<![a-z0-9])(?:(?P<c>m|f)\d{2}|\d{2}(?P<d>m|f))(?![a-z0-9])|"
    # "(남, 40대)", "여/28", "30대 남", "20대 후반 여 직장인"
    r"(?<![가-힣])(?P<e>남|여)\s*[,/]\s*\d{2}|\d{2}\s*(?:대|살|세)?\s*(?:초반|중반|후반)?\s*(?P<f>남|여)(?![가-힣])"
)
# A partner or relative who is company, not the wearer: "with my gf", "me and my wife", "여친이랑 데이트할 때",
# "와이프하고 같이". The perfume is for them only when said so ("for my gf", "여친 선물", "여친한테 줄").
_EN_COMPANY_BEFORE = re.compile(
    r"(?<![a-z])(?:with|alongside|(?:me|i) and|date with|dates with|dating|out with|around)\s+"
    r"(?:my|our|the)?\s*(?:new\s+)?$"
)
_EN_COMPANY_AFTER = re.compile(r"^\s+and\s+(?:i|me)(?![a-z])")
_KO_COMPANY_AFTER = re.compile(r"^\s*(?:이랑|랑|하고|이하고|과|와|이와|이랑은|랑은|하고는)(?!\s*(?:여자|남자))")
_KO_SEXED_WORD = re.compile(r"^(?:남자|여자|남성|여성)")
# A daughter in Korean said alone ("고3 딸 졸업 선물"): 딸 as a word, never 딸기 (strawberry).
_KO_DAUGHTER = re.compile(
    r"(?<![가-힣])딸(?:내미|래미|아이|애)?(?=$|[\s,.!?]|(?:이|이가|이는|이랑|한테|에게|을|를|은|는|의|도|이에요|이고))"
)
# An item added to a dislike just said: "no musk at all, white musk included", "nothing fruity, even pear",
# "화이트 머스크까지".
_EN_ALSO_AFTER = re.compile(r"^\s*(?:notes?\s+)?(?:included|too|either|as well|also)(?![a-z])")
_EN_ALSO_BEFORE = re.compile(
    r"(?<![a-z])(?:including|incl\.?|even|especially|esp\.?|nor|or any|and no)\s+(?:the\s+|any\s+)?$"
)
_KO_ALSO_AFTER = re.compile(r"^\s*(?:향|노트)?\s*(?:까지|까지도|포함|도\s*포함|도\s*마찬가지|도\s*안\s*돼)")
_SENTENCE_BREAK = re.compile(r"[.!?;\n]")
# An example of a dislike just said: "nothing fruity like candied pears", "no sweet stuff such as vanilla",
# "I hate gourmands, especially anything with caramel", "과일향은 싫어요 특히 복숭아 같은 거".
_EN_EXAMPLE_GAP = re.compile(
    r"[\s,:(-]*(?:(?:stuff|things|anything|notes|scents|ones|smells|smelling)[\s,:(-]+)?(?:(?:just|mostly|esp\.?)\s+)?"
    r"(?:like|such as|e\.?g\.?,?|for example|for instance|especially|particularly|notably|specifically|"
    r"incl\.?|including|even)\s+(?:(?:anything|something|stuff|things|the|a|an)\s+(?:with\s+|like\s+)?)?"
    r"(?:[a-z'-]+\s+)?"
)
_KO_EXAMPLE_BEFORE = re.compile(r"(?:특히|예를\s?들어|예를\s?들면|이를테면|예컨대)\s*$")
_KO_LIKED_AFTER = re.compile(r"좋|원해|사랑|최고|괜찮")


def _is_age(folded: str, start: int, end: int) -> bool:
    """Whether the decade-looking words at folded[start:end] give a person's age ("(f, 30s)")."""
    return bool(_AGE_BEFORE.search(folded[max(0, start - 30) : start]) or _AGE_AFTER.match(folded[end : end + 20]))


_PRONOUNS = frozenset(
    "he she him her his hers they them their theirs us our ours i'd i'm i've it's he's she's they're".split()  # noqa: SIM905
)


# A capital after these is a person's name ("my sister Nina", "a friend called Angel"), not a perfume's.
_PERSON_BEFORE = re.compile(
    r"(?:sister|brother|mom|mum|mother|dad|father|wife|husband|girlfriend|boyfriend|partner|friend|daughter|son|"
    r"aunt|uncle|niece|nephew|grandma|grandmother|grandpa|cousin|colleague|boss|coworker|named|called|name is|"
    r"i'm|i am|this is|it's)\s*,?\s*$",
    re.IGNORECASE,
)


# A bare number that is someone's age ("I'm 27", "she's turning 40", "27살"), beside the forms above.
_NUMBER_AGE_BEFORE = re.compile(r"(?:i'?m|i am|he'?s|she'?s|they'?re|turning|turned|is|was)\s+$")
_NUMBER_AGE_AFTER = re.compile(r"^\s*(?:살|세|대|th birthday)")


def _number_is_age(number: str, text: str) -> bool:
    """Whether a number of the text is someone's age wherever it stands, never a name word ("No 27")."""
    folded = text.lower()
    for m in re.finditer(rf"(?<!\d){re.escape(number)}(?!\d)", folded):
        before, after = folded[max(0, m.start() - 30) : m.start()], folded[m.end() : m.end() + 20]
        if _is_age(folded, m.start(), m.end()) or _NUMBER_AGE_BEFORE.search(before) or _NUMBER_AGE_AFTER.match(after):
            return True
    return False


def _capitalised_inside(word: str, text: str) -> bool:
    """Whether `text` writes `word` with a capital inside a sentence ("Is Angel too sweet?"), not
    as the first word of one ("Angel food is sweet"), not as a person's name ("my sister Nina") and
    not in an all-capitals text."""
    if text.isupper():
        return False
    for m in re.finditer(rf"(?<![A-Za-z]){re.escape(word[:1].upper())}(?i:{re.escape(word[1:])})(?![A-Za-z])", text):
        before = text[: m.start()].rstrip(" \t\"'(")
        if before and not before.endswith((".", "!", "?", "\n", ":")) and not _PERSON_BEFORE.search(before):
            return True
    return False


@dataclass(slots=True)
class ParsedQuery:
    """What a query was understood as; every field is also an explicit API filter."""

    text: str
    language: str
    notes: list[str] = field(default_factory=list)
    exclude_notes: list[str] = field(default_factory=list)
    accords: list[str] = field(default_factory=list)
    exclude_accords: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    exclude_brands: list[str] = field(default_factory=list)  # houses ruled out ("no Dior", "샤넬 말고")
    gender: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    longevity: list[str] = field(default_factory=list)  # allowed labels
    sillage: list[str] = field(default_factory=list)  # allowed labels
    seasons: list[str] = field(default_factory=list)
    moods: list[str] = field(default_factory=list)
    occasions: list[str] = field(default_factory=list)
    preferred_accords: list[list[str]] = field(default_factory=list)  # one any-of group per word
    keywords: list[str] = field(default_factory=list)  # words the lexicon does not know
    vector_words: list[str] | None = None  # the keywords the vector side reads (None: all of them)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def has_constraints(self) -> bool:
        return bool(
            self.notes
            or self.exclude_notes
            or self.accords
            or self.exclude_accords
            or self.brands
            or self.exclude_brands
            or self.gender
            or self.year_min
            or self.year_max
            or self.longevity
            or self.sillage
            or self.preferred_accords
        )

    def embedding_text(self) -> str:
        """English text for the vector side: positive terms only, so "no oud" never pulls oud."""
        parts: list[str] = [*self.moods, *self.seasons, *self.occasions]
        parts += [a for a in self.accords]
        head = " ".join(parts)
        bits = [f"{head} perfume".strip()]
        if self.notes:
            bits.append("notes: " + ", ".join(self.notes))
        if self.brands:
            bits.append("by " + ", ".join(self.brands))
        words = self.keywords if self.vector_words is None else self.vector_words
        if words:
            bits.append(" ".join(words))
        # With nothing positive understood, "perfume" it is: the raw text could carry an
        # excluded word ("no oud") straight into the vector.
        return "; ".join(bits)


@dataclass(slots=True)
class _Hit:
    start: int
    end: int
    terms: list[Term]
    negated: bool = False
    reference: bool = False  # a brand named as a reference ("like Chanel"), not a filter
    compared: bool = False  # what a disliked item is said to smell like ("like cheap candy"): no wish
    ruled_out: bool = False  # a brand named to be ruled out ("no Dior", "샤넬 말고"): excluded


# A food or drink the customer is having as they write ("sipping green tea rn", "커피 마시면서"):
# what they are doing, not what the perfume should smell of. The words stay read (no perfume name
# is looked for in them), but ask for nothing.
_EN_CONSUMING_BEFORE = re.compile(
    r"(?<![a-z])(?:sipping|drinking|drank|eating|ate|having|munching(?: on)?|snacking on|nursing|enjoying)\s+"
    r"(?:(?:some|a|an|my|the|hot|iced|cold|warm|fresh|cup of|glass of|mug of|bowl of|bit of)\s+)*$"
)
_KO_CONSUMING_AFTER = re.compile(
    r"^\s*(?:을|를|이|가|도|한\s*잔|한잔)?\s*(?:마시면서|마시는\s*중|마시고\s*있|마시다가|마시며|마시는데|"
    r"먹으면서|먹는\s*중|먹고\s*있|먹다가|먹으며|먹는데|홀짝)"
)


def _in_passing(folded: str, hit: _Hit) -> bool:
    """Whether a note or accord is only something being eaten or drunk as the text is written."""
    if not any(t.kind in ("note", "accord") for t in hit.terms) or hit.negated:
        return False
    before, after = folded[max(0, hit.start - 40) : hit.start], folded[hit.end : hit.end + 16]
    return bool(_EN_CONSUMING_BEFORE.search(before) or _KO_CONSUMING_AFTER.match(after))


# What an item is likened to or blamed for: "smells like cheap candy", "is way too sweet for him",
# "선크림 냄새 같아서", "선크림 냄새 난다고".
_EN_LIKENED_BEFORE = re.compile(
    r"smells?\s+(?:\w+\s+)?like\s+(?:(?:a|an|the|cheap|old|fake|some|my|his|her)\s+)*$|"
    r"(?:is|are|'s|'re)\s+(?:\w+\s+)?too\s+$"
)
_KO_LIKENED_AFTER = re.compile(
    r"^\s*(?:향|냄새|향기)?\s*(?:이|가)?\s*(?:같아|같다|같대|같고|같이|처럼|비슷|난다|나서|나는데|나요|남)"
)


def _company(folded: str, hit: _Hit) -> bool:
    """Whether a gendered word names someone the speaker is with, not who wears the perfume: a partner
    or relative joined by "with"/"이랑" ("with my gf", "여친이랑 데이트"); 남자/여자 themselves are
    never company ("남자랑 여자 둘 다")."""
    if not any(t.kind == "gender" for t in hit.terms) or any(t.kind in NEGATABLE for t in hit.terms):
        return False
    word = folded[hit.start : hit.end]
    if is_korean(word):
        return not _KO_SEXED_WORD.match(word) and bool(_KO_COMPANY_AFTER.match(folded[hit.end : hit.end + 6]))
    if word.startswith("for "):
        return False
    before = folded[max(0, hit.start - 30) : hit.start]
    return bool(_EN_COMPANY_BEFORE.search(before) or _EN_COMPANY_AFTER.match(folded[hit.end : hit.end + 12]))


_WORK_VERB_BEFORE = re.compile(
    r"(?<![a-z])(?:would|will|could|might|should|does|do|did|that|which|it|gonna|can|may|must|'d|'ll|to)\s+$"
)
_WORK_VERB_AFTER = re.compile(r"^\s+(?:for|with|well|out|better|best|on (?:me|him|her|my|his))(?![a-z])")


_EN_MOOD_NOT = re.compile(
    r"(?<![a-z])(?:nothing|not|no|never|isn'?t|aren'?t|without|less|don'?t want|doesn'?t want|hates?|avoid)\s+"
    r"(?:too\s+|overly\s+|very\s+|that\s+|so\s+|super\s+|a\s+|an\s+|anything\s+|something\s+)*$"
)
_KO_MOOD_NOT = re.compile(
    r"^\s*(?:한|하고|스러운|스런|적인|인)?\s*(?:향|느낌|거|건|것|게|쪽|분위기)?\s*(?:은|는|이|가)?\s*"
    r"(?:싫|별로|말고|빼고|아닌|아니|사절|부담|노노|않|안\s?(?:좋|맞))"
)


def _mood_ruled_out(folded: str, hit: _Hit) -> bool:
    """Whether a mood is named only to be ruled out ("nothing too grown-up", "not too youthful", "성숙한 건 싫어")."""
    if not any(t.kind == "mood" for t in hit.terms) or any(t.kind in NEGATABLE for t in hit.terms):
        return False
    if _EN_MOOD_NOT.search(folded[max(0, hit.start - 30) : hit.start]):
        return True
    return bool(is_korean(folded[hit.start : hit.end]) and _KO_MOOD_NOT.match(folded[hit.end : hit.end + 14]))


def _work_as_verb(folded: str, hit: _Hit) -> bool:
    """Whether "work" is the verb ("would work for date nights", "works well on skin"), not the office."""
    if folded[hit.start : hit.end] not in ("work", "works"):
        return False
    before = folded[max(0, hit.start - 12) : hit.start]
    return bool(_WORK_VERB_BEFORE.search(before) or _WORK_VERB_AFTER.match(folded[hit.end : hit.end + 16]))


def _tagged_gender(folded: str) -> str | None:
    """The wearer's gender from a profile tag ("(m, 40s)", "28f") or a Korean daughter said alone."""
    tag = _SPEAKER_TAG.search(folded)
    if tag:
        letter = next(g for g in tag.group("a", "b", "c", "d", "e", "f") if g)
        return "men" if letter.startswith(("m", "남")) else "women"
    if _KO_DAUGHTER.search(folded):
        return "women"
    return None


def _compared(folded: str, later: list[_Hit], *, english: bool) -> list[_Hit]:
    """The first of `later` when it is only what an item is likened to ("smells like cheap candy",
    "선크림 냄새 같아서"), not a note of its own."""
    if not later:
        return []
    hit = later[0]
    if english:
        likened = _EN_LIKENED_BEFORE.search(folded[max(0, hit.start - 40) : hit.start])
    else:
        likened = _KO_LIKENED_AFTER.match(folded[hit.end : hit.end + 16])
    return [hit] if likened else []


# "lemony", "peachy", "figgy", "vetiver-ish", "rosey": an adjective made from a note's name.
_EN_DERIVED = re.compile(r"(?<![a-z'])(?P<stem>[a-z]{3,}?)(?:-?ish|-y|y|ey)(?![a-z'])")

# Weather adjectives: the day they describe, not a smell ("for a rainy day", "a misty morning").
_WEATHER_WORDS = frozenset({"rainy", "sunny", "windy", "snowy", "misty", "foggy", "cloudy", "stormy", "icy"})


def _generic_note(note: str) -> bool:
    """Catalog umbrella notes ("Woody Notes", "Citrus Notes") are not real materials."""
    return note.endswith(" Notes") or note in {"Spices", "Citruses", "Flowers", "Fruits", "Woods"}


def _move(value: str, source: list[str], target: list[str]) -> None:
    if value in source:
        source.remove(value)
    _add(target, value)


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


class QueryParser:
    """Parses queries against one lexicon and the brands one catalog actually carries."""

    def __init__(
        self,
        lexicon: Lexicon,
        catalog_brands: set[str] | None = None,
        catalog_notes: Mapping[str, int] | None = None,
        catalog_accords: Iterable[str] | None = None,
        common_words: frozenset[str] = frozenset(),
    ) -> None:
        """`catalog_notes` (note -> perfumes carrying it) and `catalog_accords` are the vocabulary
        Hangul loanwords the lexicon does not know are matched against; the lexicon's own notes
        and accords when not given. `common_words`: everyday English words, which a leftover word
        must not be to count as part of a perfume's name without other evidence (`name_words`)."""
        self.lexicon = lexicon
        self.common_words = common_words
        by_surface: dict[str, list[Term]] = {}
        terms = list(lexicon.terms)
        self._brand_lookup: dict[str, list[str]] = {}
        if catalog_brands is not None:
            terms = self._resolve_brands(terms, catalog_brands, lexicon, self._brand_lookup)
        whole = {fold(w) for w in lexicon.whole_words}
        for term in terms:
            surface = fold(term.surface)
            if surface in whole:
                continue  # matched only as a whole word (below)
            if surface and not any(t == term for t in by_surface.get(surface, [])):
                by_surface.setdefault(surface, []).append(term)
        self._link_note_accord_twins(by_surface, lexicon)
        self._terms = by_surface
        self._pattern = re.compile(trie_pattern(list(by_surface)))
        self._neg_before = self._cue_pattern(lexicon.negation_before, english=True)
        self._neg_after = self._cue_pattern(lexicon.negation_after, english=False)
        # Brand words made only of everyday words ("clean perfume" for the house Clean).
        # Brand words that are everyday words: made only of descriptive words ("clean perfume" for
        # the house Clean, "fresh"), or a bare everyday word ("guess", "nest").
        self._descriptive = self._common_words(lexicon)
        self._guarded = {
            surface
            for surface, found in by_surface.items()
            if any(t.kind == "brand" for t in found)
            and (
                surface in _EVERYDAY_BRAND_WORDS
                or all(w in self._descriptive or w in _PRODUCT_WORDS for w in surface.split())
            )
        }
        self._unguarded_pattern = re.compile(
            trie_pattern([s for s, found in by_surface.items() if any(t.kind != "brand" for t in found)])
        )
        # Whole words: a one-syllable note is a word of its own, never a syllable of another.
        accords = set(lexicon.accord_aliases.values())
        self._whole: dict[str, tuple[list[Term], bool]] = {}
        for surface, (term, strict) in lexicon.whole_words.items():
            found = [term]
            if term.kind == "note" and term.value.lower() in accords:
                found.append(Term(term.surface, "accord", term.value.lower()))
            self._whole[fold(surface)] = (found, strict)
        words = "|".join(re.escape(w) for w in sorted(self._whole, key=len, reverse=True))
        self._whole_pattern = (
            re.compile(rf"(?<![\uac00-\ud7a3])(?P<word>{words}){_WHOLE_SUFFIX}{_PARTICLES}?(?![\uac00-\ud7a3])")
            if words
            else None
        )
        if catalog_notes is None:
            vocabulary: dict[str, int] = dict.fromkeys(lexicon.note_aliases.values(), 1)
        else:
            vocabulary = dict(catalog_notes)
        vocabulary = {n: c for n, c in vocabulary.items() if not _generic_note(n)}
        # An accord wins a tie with a note (스모키 is smoky, not the note Smoke): Korean loan
        # adjectives name accords.
        top = max(vocabulary.values(), default=0) + 1
        for accord in catalog_accords if catalog_accords is not None else set(lexicon.accord_aliases.values()):
            vocabulary.setdefault(accord, top)
        self._accord_vocabulary = accords | set(catalog_accords or ())
        self.transliterator = Transliterator(vocabulary)
        # Notes named "<variety> <note>" (White Musk for Musk): what a dislike of the note avoids too.
        canonical = set(lexicon.note_aliases.values()) | set(catalog_notes or ())
        self._relatives: dict[str, list[str]] = {}
        for name in sorted(canonical):
            head = name.rsplit(" ", 1)
            if len(head) == 2 and head[1] in canonical and not _generic_note(name):
                self._relatives.setdefault(head[1], []).append(name)
        # English words the lexicon does not list but the catalog names a note by ("immortelle").
        self._english_notes = {
            n.lower(): n
            for n, count in vocabulary.items()
            if count >= 20 and n.isalpha() and len(n) >= 6 and n.lower() not in _EN_STOPWORDS
        }
        self._ko_stop = _KO_STOPWORDS | {fold(c) for c in lexicon.negation_after}

    @staticmethod
    def _link_note_accord_twins(by_surface: dict[str, list[Term]], lexicon: Lexicon) -> None:
        """ "vanilla", "바닐라향", "가죽" name a note and the accord of the same name alike.

        The lexicon lists some surfaces under only one of the two; linking them here
        makes every spelling behave the same. Generic notes ("Citrus Notes") are never
        linked: "citrus" asks for the accord, not for a perfume that lists "Citruses".
        """
        accords = set(lexicon.accord_aliases.values())
        notes_by_lower = {n.lower(): n for n in lexicon.note_aliases.values() if not _generic_note(n)}
        for surface, terms in by_surface.items():
            kinds = {t.kind: t.value for t in terms}
            if "accord" in kinds and "note" not in kinds and kinds["accord"] in notes_by_lower:
                terms.append(Term(surface, "note", notes_by_lower[kinds["accord"]]))
            elif (
                "note" in kinds
                and "accord" not in kinds
                and kinds["note"].lower() in accords
                and not _generic_note(kinds["note"])
            ):
                terms.append(Term(surface, "accord", kinds["note"].lower()))

    @staticmethod
    def _common_words(lexicon: Lexicon) -> set[str]:
        common = set(lexicon.note_aliases) | set(lexicon.accord_aliases) | _EN_STOPWORDS
        for table in lexicon.rules.values():
            common |= set(table)
        for term in lexicon.terms:
            if term.kind in ("season", "mood", "occasion", "longevity", "sillage", "gender"):
                common.add(fold(term.surface))
        return common

    @staticmethod
    def _cue_pattern(cues: tuple[str, ...], *, english: bool) -> re.Pattern[str] | None:
        if not cues:
            return None
        alts = sorted({fold(c) for c in cues}, key=len, reverse=True)
        if english:
            return re.compile("|".join(rf"(?<![a-z]){re.escape(c)}(?![a-z])" for c in alts))
        # Korean: the cue must follow the item at once, a particle or an adverb aside
        # ("바닐라는 빼고", "바닐라 향이 안 나는", "바닐라는 너무 싫어"), never a clause later.
        return re.compile(_KO_CUE_PREFIX + "(?:" + "|".join(re.escape(c) for c in alts) + ")")

    @staticmethod
    def _resolve_brands(
        terms: list[Term], brands: set[str], lexicon: Lexicon, lookup: dict[str, list[str]]
    ) -> list[Term]:
        """Point lexicon brand words at the catalog's own spelling of the brand.

        Catalogs spell houses differently ("Jo Malone" / "Jo Malone London", "Dolce
        Gabbana" / "Dolce&Gabbana"); a lexicon brand stands for every catalog brand that
        one of its spellings names. Every catalog brand is also findable by its own
        name, unless that name is a common word ("Fresh", "Nest").
        """
        by_compact: dict[str, list[str]] = {}
        for brand in brands:
            by_compact.setdefault(compact(brand), []).append(brand)
        resolved: dict[str, list[str]] = {
            brand: sorted({c for s in spellings for c in by_compact.get(s, [])})
            for brand, spellings in lexicon.brand_spellings.items()
        }
        lookup.update(by_compact)
        for brand, spellings in lexicon.brand_spellings.items():
            for spelling in spellings:
                if resolved[brand]:
                    lookup[spelling] = sorted(set(lookup.get(spelling, [])) | set(resolved[brand]))
        out = [t for t in terms if t.kind != "brand"]
        for t in terms:
            if t.kind == "brand":
                out += [Term(t.surface, "brand", catalog_brand) for catalog_brand in resolved.get(t.value, [])]
        common = set(lexicon.note_aliases) | set(lexicon.accord_aliases) | _EN_STOPWORDS | _EVERYDAY_BRAND_WORDS
        for table in lexicon.rules.values():
            common |= set(table)
        for brand in brands:
            surface = fold(brand)
            if surface in common and len(surface) >= 4 and surface not in _EN_STOPWORDS:
                # A house named by an everyday word ("Clean", "Fresh"): kept, but only read as the
                # brand where it is clearly meant (see `_brand_meant`).
                out.append(Term(brand, "brand", brand))
                continue
            if len(surface) < 4 or surface in common or (" " not in surface and surface.isalpha() and len(surface) < 5):
                continue
            out.append(Term(brand, "brand", brand))
        return out

    def family(self, note: str) -> tuple[list[str], list[str]]:
        """The notes and accords a customer who dislikes `note` avoids along with it: its varieties
        named after it ("White Musk" for Musk) and the accord named after it (musky for Musk)."""
        accords = [a for a in (note.lower(), f"{note.lower()}y") if a in self._accord_vocabulary]
        return list(self._relatives.get(note, ())), accords

    def accord_family(self, accord: str) -> tuple[list[str], list[str]]:
        """The notes (with their varieties) and other accords a customer who excludes the family
        `accord` avoids along with it: "no citrus" is no bergamot, lemon or Sicilian lemon either
        (rules.yaml `families`)."""
        notes, accords = self.lexicon.families.get(accord, ((), ()))
        varieties = [v for n in notes for v in self._relatives.get(n, ())]
        return list(dict.fromkeys([*notes, *varieties])), list(accords)

    def resolve_brand(self, name: str) -> list[str]:
        """Catalog brands a brand name means, whatever its spelling ("Dolce & Gabbana", "D&G", "디올")."""
        return self._brand_lookup.get(compact(name), [])

    # -- parsing ------------------------------------------------------------------------
    def parse(self, text: str) -> ParsedQuery:
        return self.understand(text)[0]

    def understand(self, text: str) -> tuple[ParsedQuery, list[tuple[str, str | None]]]:
        """The parsed query, and the Hangul words the lexicon did not know, each with the
        catalog note or accord the transliteration path found for it (None: none)."""
        folded = self._drop_intensifiers(fold(text))
        language = message_language(text)  # the reply's: "budget 10만원 or so" is explained in English
        parsed = ParsedQuery(text=text, language=language)
        hits: list[_Hit] = []
        for m in self._pattern.finditer(folded):
            surface = m.group(0)
            found = self._terms[surface]
            if surface in self._guarded:
                if self._brand_meant(text, folded, m.start(), m.end()):
                    found = [t for t in found if t.kind == "brand"]
                elif any(t.kind != "brand" for t in found):
                    found = [t for t in found if t.kind != "brand"]
                else:
                    # Not the house: read the words as what they are ("clean" the mood).
                    hits += [
                        _Hit(
                            m.start() + n.start(),
                            m.start() + n.end(),
                            [t for t in self._terms[n.group(0)] if t.kind != "brand"],
                        )
                        for n in self._unguarded_pattern.finditer(surface)
                    ]
                    continue
            hits.append(_Hit(m.start(), m.end(), found))
        hits += self._whole_word_hits(folded, hits)
        hits += self._derived_hits(folded, hits)
        unknown: list[tuple[str, str | None]] = []
        hits += self._loanword_hits(folded, hits, unknown)
        hits.sort(key=lambda h: h.start)
        self._mark_references(folded, hits)
        self._mark_negations(folded, hits)
        self._extend_dislikes(folded, hits)
        for hit in hits:
            if hit.compared or _in_passing(folded, hit):
                continue
            if _mood_ruled_out(folded, hit):
                continue  # "nothing too grown-up", "너무 성숙한 느낌은 싫고": not the mood wished for
            if _work_as_verb(folded, hit):
                continue  # "what else would work for date nights?": no office
            if _company(folded, hit):
                continue  # "여친이랑 데이트할 때": she is company; the wearer is the speaker
            self._apply(parsed, hit)
        if parsed.gender is None:
            parsed.gender = _tagged_gender(folded)
        if _KO_NOT_SWEET.search(folded):
            _add(parsed.exclude_accords, "sweet")
            if "sweet" in parsed.accords:
                parsed.accords.remove("sweet")
        year_spans = self._read_years(folded, parsed)
        consumed = [(h.start, h.end) for h in hits] + year_spans
        if self._neg_before:
            consumed += [(m.start(), m.end()) for m in self._neg_before.finditer(folded)]
        parsed.keywords = self._leftover_words(folded, consumed)
        if parsed.has_constraints():
            # Everyday words around what was understood ("office air is pure poison lately") say nothing
            # of the scent, and in the vector they pull perfumes named by them (Poison Ivy); names with
            # evidence still reach the lexical side (see `name_words`).
            named = set(self.name_words(parsed))
            parsed.vector_words = [w for w in parsed.keywords if w in named or w.strip("'") not in self.common_words]
        else:
            parsed.vector_words = list(parsed.keywords)
        return parsed, unknown

    def name_words(self, parsed: ParsedQuery) -> list[str]:
        """The leftover words that may match perfume names, each with evidence that a name is meant.

        An everyday word ("hot", "fine", "wanted", "angel", "he", "all") counts only when the text
        names a house too ("Angel by Mugler"), or writes the word capitalised inside a sentence
        ("Is Angel too sweet?"); a bare number ("No 2") only beside a house or another name word
        ("Santal 33"). A word that is no everyday word ("aventus", "sauvage") counts as it is.
        """
        kept: list[str] = []
        for word in parsed.keywords:
            if word.isdigit():
                continue
            ordinary = word in _EN_STOPWORDS or word in _PRONOUNS or word.strip("'") in self.common_words
            if not ordinary or parsed.brands or _capitalised_inside(word, parsed.text):
                kept.append(word)
        if kept or parsed.brands:
            kept += [w for w in parsed.keywords if w.isdigit() and not _number_is_age(w, parsed.text)]
        return kept

    def _drop_intensifiers(self, folded: str) -> str:
        if not _INTENSIFIER.search(folded):
            return folded
        out: list[str] = []
        last = 0
        for m in _INTENSIFIER.finditer(folded):
            found = self._pattern.match(folded, m.start())
            if found and found.end() > m.end():  # "엄청 오래", "너무 센": a phrase of its own
                continue
            out.append(folded[last : m.start()])
            last = m.end()
        out.append(folded[last:])
        return "".join(out)

    def _brand_meant(self, text: str, folded: str, start: int, end: int) -> bool:
        """Whether a brand named by everyday words ("clean") means the house: "by Clean" or
        "from Clean"; "Clean" capitalised inside a sentence with a product word after it ("I
        like Clean perfumes", "Clean's"); or a question about the brand alone ("Clean?", "Do you
        have Clean?"). A capital at the start of a sentence says nothing of a descriptive word
        ("Clean scents for summer"), but does of a plain everyday one ("Guess perfumes")."""
        if re.search(r"(?:^|\s)(?:by|from)\s*$", folded[:start]):
            return True
        word = folded[start:end].split()[0]
        capitalised = re.compile(
            rf"(?<![A-Za-z])(?:{re.escape(word.capitalize())}|{re.escape(word.upper())})(?![A-Za-z])"
        )
        products = "|".join(_PRODUCT_WORDS)
        found = False
        for m in capitalised.finditer(text):
            found = True
            before = text[: m.start()].rstrip()
            # A capital opening a sentence says nothing of a descriptive word ("Clean scents").
            inside = word not in self._descriptive or (bool(before) and not before.endswith((".", "!", "?")))
            if inside and re.match(rf"(?:\s+(?:{products})\b|'s\b)", text[m.end() :], re.IGNORECASE):
                return True
        asks = "?" in text or re.search(r"\b(?:brand|do you (?:have|carry|sell|stock)|any)\b", folded)
        return found and bool(asks) and not self._content_words(folded[:start] + " " + folded[end:])

    @staticmethod
    def _content_words(text: str) -> list[str]:
        words = re.findall(r"[a-z\uac00-\ud7a3][a-z0-9'\uac00-\ud7a3]*", text)
        return [w for w in words if w not in _EN_STOPWORDS and w not in _PRODUCT_WORDS and w not in _KO_STOPWORDS]

    def _derived_hits(self, folded: str, hits: list[_Hit]) -> list[_Hit]:
        """English adjectives made from a note the lexicon does not list as such ("lemony", "peachy",
        "cedary", "figgy", "vetiver-ish"): the note or accord of their stem."""
        out: list[_Hit] = []
        for m in _EN_DERIVED.finditer(folded):
            if any(h.start < m.end() and m.start() < h.end for h in hits):
                continue
            stem = m.group("stem")
            if m.group(0) in _WEATHER_WORDS:
                continue  # "a rainy day" is a mood, not the smell of rain
            for candidate in (stem, stem + "e", stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] else ""):
                found = [t for t in self._terms.get(candidate, []) if t.kind in ("note", "accord")]
                if candidate and found:
                    out.append(_Hit(m.start(), m.end(), found))
                    break
        return out

    def _whole_word_hits(self, folded: str, hits: list[_Hit]) -> list[_Hit]:
        if self._whole_pattern is None:
            return []
        out: list[_Hit] = []
        for m in self._whole_pattern.finditer(folded):
            terms, strict = self._whole[m.group("word")]
            if strict and not m.group("suffix"):
                continue
            if any(h.start < m.end() and m.start() < h.end for h in hits):
                continue
            out.append(_Hit(m.start(), m.start() + len(m.group("word")), terms))
        return out

    def _loanword_hits(self, folded: str, hits: list[_Hit], unknown: list[tuple[str, str | None]]) -> list[_Hit]:
        """Hangul words the lexicon does not know, matched by sound against the catalog's notes
        and accords (베티버 -> Vetiver, 라브다넘 -> Labdanum); `unknown` collects every such word."""
        chars = list(folded)
        for h in hits:
            chars[h.start : h.end] = " " * (h.end - h.start)
        masked = "".join(chars)
        out: list[_Hit] = []
        for m in re.finditer(r"(?<![a-z0-9])[a-z]{6,}(?![a-z0-9'])", masked):
            note = self._english_notes.get(m.group(0))
            if note is not None:
                out.append(_Hit(m.start(), m.end(), [Term(m.group(0), "note", note)]))
        for m in re.finditer(r"[\uac00-\ud7a3]+", masked):
            word = m.group(0)
            stem = _LEFTOVER_SUFFIX.sub("", word)
            if len(stem) < 2 or stem in self._ko_stop or stem.startswith(_KO_STOP_STEMS) or _NATIVE_ENDING.search(stem):
                continue
            found = self.transliterator.lookup(stem)
            value = found[0] if found else None
            if value is None and len(stem) > 2 and stem.endswith("우드"):
                value = "woody"  # 화이트우드, 블론드우드: some wood
            unknown.append((stem, value))
            if value is None:
                continue
            if value in self._accord_vocabulary:
                terms = [Term(stem, "accord", value)]
            else:
                terms = [Term(stem, "note", value)]
                if value.lower() in self._accord_vocabulary:
                    terms.append(Term(stem, "accord", value.lower()))
            out.append(_Hit(m.start(), m.start() + len(stem), terms))
        return out

    @staticmethod
    def _mark_references(folded: str, hits: list[_Hit]) -> None:
        for hit in hits:
            if not any(t.kind == "brand" for t in hit.terms):
                continue
            if _brand_ruled_out(folded, hit.start, hit.end):
                hit.ruled_out = True
                continue
            before, after = folded[max(0, hit.start - 40) : hit.start], folded[hit.end : hit.end + 12]
            if (
                _EN_REFERENCE_BEFORE.search(before)
                or _EN_REFERENCE_AFTER.match(after)
                or _KO_REFERENCE_AFTER.match(after)
            ):
                hit.reference = True

    def _mark_negations(self, folded: str, hits: list[_Hit]) -> None:
        negatable = [h for h in hits if any(t.kind in NEGATABLE for t in h.terms)]
        # English: a cue opens a scope that runs until a reset word or punctuation.
        if self._neg_before:
            cues = [m.end() for m in self._neg_before.finditer(folded) if not _EN_NOT_A_DISLIKE.match(folded, m.end())]
            for hit in negatable:
                opened = [c for c in cues if c <= hit.start]
                if not opened:
                    continue
                between = folded[opened[-1] : hit.start]
                if _EN_CARRIER.match(between):  # "hates anything with lavender": the cue reaches through
                    hit.negated = True
                    continue
                if _EN_DEGREE.match(between) and any(opened[-1] <= h.start < hit.start for h in negatable):
                    continue  # "not too sweet vanilla": the degree word's adjective only
                earlier = [h for h in negatable if opened[-1] <= h.start and h.end <= hit.start]
                if earlier and not _KO_CONNECTOR.match(folded[earlier[-1].end : hit.start]):
                    continue  # "allergic to cinnamon so something floral": the cue's item came and went
                if earlier and earlier[-1].negated:
                    hit.negated = True  # "hates anything with lavender or rose": the list goes on
                    continue
                if not _EN_SCOPE_RESET.search(between) and not self._hit_between(
                    hits, opened[-1], hit.start, allow=negatable
                ):
                    hit.negated = True
        # Korean: a cue after an item (or after a list of items joined by connectors).
        if self._neg_after:
            index = 0
            while index < len(negatable):
                group_end = index
                while group_end + 1 < len(negatable) and _KO_CONNECTOR.match(
                    folded[negatable[group_end].end : negatable[group_end + 1].start]
                ):
                    group_end += 1
                last = negatable[group_end]
                following = [h.start for h in hits if h.start >= last.end]
                tail = folded[last.end : min(following) if following else len(folded)]
                if (
                    self._neg_after.search(tail)
                    or self._far_dislike(folded, last.end, negatable[group_end + 1 :])
                    or self._far_dislike_en(folded, last.end, negatable[group_end + 1 :])
                ):
                    for hit in negatable[index : group_end + 1]:
                        hit.negated = True
                index = group_end + 1

    @staticmethod
    def _extend_dislikes(folded: str, hits: list[_Hit]) -> None:
        """An item added to a dislike of the same sentence ("nothing with musk in it, white musk included",
        "no fruity stuff, even pear", "머스크는 싫어요, 화이트 머스크까지") is disliked too."""
        negatable = [h for h in hits if any(t.kind in NEGATABLE for t in h.terms)]
        for index, hit in enumerate(negatable):
            if hit.negated or index == 0:
                continue
            earlier = [
                h for h in negatable[:index] if h.negated and not _SENTENCE_BREAK.search(folded[h.end : hit.start])
            ]
            if not earlier:
                continue
            before = folded[max(0, hit.start - 20) : hit.start]
            after = folded[hit.end : hit.end + 20]
            also = _EN_ALSO_AFTER.match(after) or _EN_ALSO_BEFORE.search(before) or _KO_ALSO_AFTER.match(after)
            example = negatable[index - 1].negated and _EN_EXAMPLE_GAP.fullmatch(
                folded[negatable[index - 1].end : hit.start]
            )
            example_ko = _KO_EXAMPLE_BEFORE.search(before) and not _KO_LIKED_AFTER.search(after[:12])
            if also or example or example_ko:
                hit.negated = True

    @staticmethod
    def _far_dislike(folded: str, end: int, later: list[_Hit]) -> bool:
        """Whether an unmistakable dislike cue closes the clause that a Korean item opens, a few
        words on ("꽃냄새는 할머니 화장품 같다고 싫어해"); words of other kinds (a mood, a person)
        may stand between, another note or accord may not (it is the one the cue is about), unless
        it is only what the item is likened to ("코코넛 향은 선크림 냄새 같아서 못 견뎌요")."""
        compared = _compared(folded, later, english=False)
        stop = later[len(compared)].start if len(later) > len(compared) else len(folded)
        clause = folded[end:stop]
        brk = _KO_CLAUSE_BREAK.search(clause)
        if brk:
            clause = clause[: brk.start()]
        cue = _KO_FAR_CUE.search(clause)
        found = cue is not None and len(clause[: cue.start()].split()) <= _KO_FAR_WORDS
        for hit in compared if found else ():
            hit.compared = True
        return found

    @staticmethod
    def _far_dislike_en(folded: str, end: int, later: list[_Hit]) -> bool:
        """Whether an English dislike that points back at the item ("... and hates it", "smells like
        sunscreen", "gives her a headache") closes its clause within a few words, no other note or
        accord nor a word of liking between (what the item is said to smell like aside: "vanilla
        smells like cheap candy and she won't wear it")."""
        compared = _compared(folded, later, english=True)
        stop = later[len(compared)].start if len(later) > len(compared) else len(folded)
        clause = folded[end:stop]
        brk = _EN_CLAUSE_BREAK.search(clause)
        if brk:
            clause = clause[: brk.start()]
        cue = _EN_FAR_CUE.search(clause)
        found = cue is not None and len(clause[: cue.start()].split()) <= _EN_FAR_WORDS
        for hit in compared if found else ():
            hit.compared = True
        return found

    @staticmethod
    def _hit_between(hits: list[_Hit], start: int, end: int, allow: list[_Hit]) -> bool:
        """A non-negatable term (a gender, a brand) between cue and item ends the scope."""
        return any(start <= h.start < end and h not in allow for h in hits)

    def _apply(self, parsed: ParsedQuery, hit: _Hit) -> None:
        kinds = {t.kind: t.value for t in hit.terms if t.kind != "brand"}
        ruled_out = hit.ruled_out
        for t in hit.terms:
            if t.kind == "brand" and ruled_out:  # "no Dior": other houses, and never a wish for Dior
                _move(t.value, parsed.brands, parsed.exclude_brands)
            elif t.kind == "brand" and not hit.reference and t.value not in parsed.exclude_brands:
                _add(parsed.brands, t.value)
        if "note" in kinds or "accord" in kinds:
            # The later mention wins: "vanilla perfume ... without vanilla after all" excludes it.
            note, accord = kinds.get("note"), kinds.get("accord")
            if hit.negated:
                if note:
                    _move(note, parsed.notes, parsed.exclude_notes)
                if accord:
                    _move(accord, parsed.accords, parsed.exclude_accords)
                elif note and note.lower() in self.lexicon.accord_aliases.values():
                    _move(note.lower(), parsed.accords, parsed.exclude_accords)
            elif note and note in parsed.exclude_notes:
                pass  # named again after it was ruled out ("장미는 할머니 화장품 냄새 같아서"): still ruled out
            elif note and not _generic_note(note):
                _move(note, parsed.exclude_notes, parsed.notes)
                if accord:  # a twin: the engine accepts either, preferring both
                    _move(accord, parsed.exclude_accords, parsed.accords)
            elif accord and accord not in parsed.exclude_accords:
                _move(accord, parsed.exclude_accords, parsed.accords)
        for kind, value in kinds.items():
            if kind == "gender":
                # "unisex" wins over a gendered word ("for him and her", "남녀공용").
                if parsed.gender != "unisex":
                    parsed.gender = value
            elif kind in ("season", "mood", "occasion"):
                target = {"season": parsed.seasons, "mood": parsed.moods, "occasion": parsed.occasions}[kind]
                _add(target, value)
                rule = self.lexicon.rules[kind][value]
                if rule.accords:
                    parsed.preferred_accords.append(list(rule.accords))
            elif kind in ("longevity", "sillage"):
                if hit.negated:
                    value = {"long": "short", "strong": "soft"}.get(value, "")
                    if not value:
                        continue
                labels = list(self.lexicon.labels.get((kind, value), ()))
                if kind == "longevity":
                    parsed.longevity = labels
                else:
                    parsed.sillage = labels

    @staticmethod
    def _read_years(folded: str, parsed: ParsedQuery) -> list[tuple[int, int]]:
        """Launch years the text asks for; the spans read (ages and phone numbers included, which
        are read as neither years nor keywords)."""
        taken: list[tuple[int, int]] = [(m.start(), m.end()) for m in _PHONE.finditer(folded)]
        for pattern, kind in _YEAR_RULES:
            for m in pattern.finditer(folded):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue
                groups = [g for g in m.groups() if g]
                if not groups:
                    continue
                taken.append((m.start(), m.end()))
                if kind in _AGE_RULES and _is_age(folded, m.start(), m.end()):
                    continue
                first = int(groups[0])
                if kind == "range" and len(groups) == 2:
                    lo, hi = sorted((first, int(groups[1])))
                    parsed.year_min, parsed.year_max = lo, hi
                elif kind == "min":
                    parsed.year_min = first
                elif kind == "after":
                    parsed.year_min = first + 1
                elif kind == "before":
                    parsed.year_max = first - 1
                elif kind == "max":
                    parsed.year_max = first
                elif kind == "exact":
                    parsed.year_min = parsed.year_max = first
                elif kind in ("decade", "decade_before", "decade_min", "decade_before_incl"):
                    start = first if first >= 1000 else (1900 + first if first >= 30 else 2000 + first)
                    if kind == "decade":
                        parsed.year_min, parsed.year_max = start, start + 9
                    elif kind == "decade_min":
                        parsed.year_min = start
                    elif kind == "decade_before_incl":
                        parsed.year_max = start + 9
                    else:
                        parsed.year_max = start - 1
                elif kind == "decade_en":
                    if len(groups) == 2:  # "1990s", "2010s"
                        start = int(groups[0]) * 100 + int(groups[1]) * 10
                    else:  # "90s", "'90s"
                        short = int(groups[0]) * 10
                        start = 1900 + short if short >= 30 else 2000 + short
                    parsed.year_min, parsed.year_max = start, start + 9
        return taken

    @staticmethod
    def _leftover_words(folded: str, consumed: list[tuple[int, int]]) -> list[str]:
        chars = list(folded)
        for start, end in consumed:
            chars[start:end] = " " * (end - start)
        words = re.findall(r"[a-z][a-z0-9'&\-]+|\d+", "".join(chars))
        return [w for w in words if w not in _EN_STOPWORDS and not re.fullmatch(r"\d{4}s?|\d0s", w)]
