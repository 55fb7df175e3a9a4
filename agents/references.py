"""Reading a message against the conversation's focus: which shown perfumes it refers to and what
it asks about them.

"2번은 오래가요?", "is the first one OK for the office?", "둘 중에 뭐가 더 오래가요?", "the cheaper one -
does it last long?", "가격은요?", "is it unisex?": each refers to perfumes the conversation has in
focus (agents/focus.py), by rank, by pronoun, as a group, by a selector within the group, or only
implicitly (a bare question about an aspect), and asks about aspects the card data answers
(longevity, sillage, season, occasion, mood, gender, price, size, stock, notes). `read_follow_up`
returns that as a `FollowUp`, or None when the message is not a question about what was shown.

Two other follow-ups are told apart here too: "비슷한데 더 저렴한 거", "anything like it but under
150,000" (`wants_similar`: a search from the focused perfume) and "2번이랑 3번 비교해 주세요" (a
comparison, left to the planner's compare).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.focus import Focus
from tools.search.lexicon import default_lexicon

Aspect = Literal[
    "longevity", "sillage", "season", "occasion", "mood", "gender", "character", "price", "size", "stock", "notes"
]  # fmt: skip
ASPECTS: tuple[str, ...] = Aspect.__args__  # type: ignore[attr-defined]
MIDDLE = 100  # "the middle one": the middle of an odd-length list

_EN_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
                "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "last": -1, "top": 1, "bottom": -1, "middle": MIDDLE,
                "second to last": -2, "second-to-last": -2, "second last": -2, "penultimate": -2,
                "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}  # fmt: skip
_KO_ORDINALS = {"첫": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "둘": 2, "셋": 3, "넷": 4}
_EN_PICK_NOUN = r"(?:one|perfume|fragrance|scent|option|pick|bottle|suggestion|recommendation|rec|result|item|choice)s?"
_EN_ORDINAL = (
    r"(second[- ]to[- ]last|second last|penultimate|first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|6th|"
    r"last|middle)"
)
# "the second one", "the very first one you listed", "that one at the top", "the last one", "middle one",
# "your top pick", "#2"; never "a first date", "the last time", "top notes".
_EN_RANK = re.compile(
    rf"\b(?:the|that|this|your|ur)\s+(?:very\s+)?{_EN_ORDINAL}"
    rf"(?:\s+{_EN_PICK_NOUN}\b|(?=\s*(?:[-–—,?.!:]|$|\s+(?:is|was|sounds|looks|seems|has|lasts|does|smells|one|you|u|"
    rf"on|in|and|or|vs|ok|okay|good|fine|better|worth|for|too|work|works|suitable|right|any)\b)))"
    # "first one pls", "second option?", "da first one"; never "my first one", "a first date".
    rf"|(?<!\bmy )(?<!\ba )(?<!\bher )(?<!\bhis )(?<!\bour )(?<!\btheir )(?<!\bits )(?<!'s )"
    rf"\b{_EN_ORDINAL}\s+(?:one|option|pick|rec|suggestion|choice)s?\b"
    # "2nd?", "and the third?", "what about the last?": an ordinal alone is a rank.
    rf"|^\W*(?:(?:and|ok|okay|so|hmm+|what about|how about)\W+)*(?:the\s+)?{_EN_ORDINAL}(?=\s*(?:[-–—?!]|\.?\s*$))"
    rf"|(?<!\bmy )(?<!\bthe )(?<!\byour )(?<!\bour )\bnumber\s+(one|two|three|four|five|six)\b"
    rf"|\b(?:one|the one)\s+(?:at|on)\s+(?:the\s+)?(top|bottom)\b|\b(?:the\s+)?(top|bottom)\s+one\b"
    rf"|\b(?:your|the|ur)\s+(top)\s+(?:pick|choice|recommendation|suggestion)\b"
    rf"|\b(?:the\s+)?one\s+(?:you|u)\s+(?:listed|mentioned|showed|recommended|suggested|named|put)\s+{_EN_ORDINAL}\b"
    rf"|(?:\bnumber|\bno\.|\boption|\bpick|#)\s*([1-9])\b",
    re.IGNORECASE,
)
# "2 vs 3", "1 and 3", "between 2 and 4", "2 or 3": bare numbers only in a pair, never "2%" or "100ml".
_EN_RANK_PAIR = re.compile(r"(?<![\d,.])([1-9])\s*(?:vs\.?|versus|and|or|&|,)\s*([1-9])(?![\d,.%]|\s*(?:ml|%|k\b))")
# Korean: "3번", "두 번째", "둘째" (never "둘째 언니"), "마지막 거" (never "마지막으로", lastly), "맨 앞",
# "제일 처음에 보여준", "끝에서 두 번째", "가운데 거".
# "1이랑 3 중에", "2하고 4 비교": bare numbers in a Korean pair, when a choice or comparison follows.
_KO_RANK_PAIR = re.compile(
    r"(?<![\d,.])([1-9])\s*(?:번)?\s*(?:이랑|랑|하고|와|과|vs)\s*([1-9])\s*(?:번)?(?=\s*(?:중|사이|비교|뭐|어느|둘))"
)
_KIN = r"(?!\s*(?:언니|오빠|누나|형|동생|딸|아들|이모|고모|삼촌|조카|주|날|날에|시간|아이|애))"
# "마지막에 남는 향", "맨 끝에 나는 냄새": the drydown, not the last perfume.
_NOT_DRYDOWN = r"(?!\s*(?:에|엔|에는)?\s*(?:남|나는|날|까지|잔향|향이\s*남))"
_KO_RANK = re.compile(
    r"(?:끝|밑|아래)(?:에)?서\s*(두|세)\s*번\s*[째쨰]|([1-9])\s*번(?!\s*(?:뿌|써|쓰|사용|정도|씩|만|이나|쯤|더))(?:\s*[째쨰])?"
    r"|(첫|두|세|네|다섯|여섯)\s*번\s*[째쨰]|(첫|둘|셋|넷)\s*[째쨰]" + _KIN + r""
    r"|(마지막(?!\s*으로(?!\s*(?:보여|추천|나온|소개|말씀|알려|적어|올려)))" + _NOT_DRYDOWN + r")"
    r"|((?:맨|제일|가장|젤)\s*(?:위|처음|아래|밑|끝|앞|뒤|마지막)"
    + _NOT_DRYDOWN
    + r"|끝에\s*(?:있는\s*)?(?:거|꺼|것|걸|건|향수))"
    r"|(처음(?:에)?\s*(?:보여|추천|나온|소개|말씀|알려|올려|적어)|처음\s*(?:거|꺼|것|걸|건|게)\b)"
    r"|((?:가운데|중간)\s*(?:에\s*)?(?:있는\s*|있던\s*)?(?:거|꺼|것|걸|건|게|향수))"
    r"|([1-9])\s*(?:등|순위)"
)
_GROUP = re.compile(
    r"\bwhich(?:\s+one)?\b|\bof (?:these|those|them|the (?:two|three|four|five))\b|\bamong (?:them|these|those)\b|"
    r"\bbetween (?:them|these|those|the two)\b|\b(?:these|those) (?:two|three|four|five)\b|\bthe two\b|\beither\b|"
    r"둘\s*중|두\s*개\s*중|셋\s*중|세\s*개\s*중|그\s*중|이\s*중|그중|이중에|어느\s*쪽|어느\s*게|어느\s*것|어떤\s*게|"
    r"어떤\s*거|뭐가|무엇이|어떤\s*향수가|둘\s*다",
    re.IGNORECASE,
)
_CHOICE = re.compile(
    r"\bwhich\b|\bbest\b|\bbetter\b|\bmost\b|\bleast\b|\b\w+est\b|\bpick\b|\bchoose\b|\brecommend one\b|"
    r"어느|뭐가|어떤\s*게|어떤\s*거|제일|가장|더\s|덜\s|나아요|나을|낫|골라|추천해\s*주|무난",
    re.IGNORECASE,
)
# An explicit "which one" question: with nothing else referring back, it asks to choose from the group.
_WHICH = re.compile(r"\bwhich\b|어느|뭐가|어떤\s*게|어떤\s*거|무엇이|어떤\s*향수가", re.IGNORECASE)
# "the cheaper one", "더 싼 건 어느 쪽": a comparative picks within a pair; "the cheapest", "제일 싼 건"
# within any group. Neither when the message asks to be shown more ("더 저렴한 걸로 보여 주세요").
_CHEAPER_ONE = re.compile(
    r"\bthe (?:cheaper|less expensive|more affordable|lower[- ]priced|less pricey)\b|"
    r"\b(?:cheaper|less expensive|more affordable|lower[- ]priced) (?:one|of (?:the|those|these|them))\b|"
    r"\b(?:lower|smaller) price\b|\bthe budget one\b|"
    r"더\s*(?:싼|저렴한|값싼)\s*(?:건|거|게|걸|쪽|것|향수)|(?:(?<!비)싼|저렴한|값싼)\s*(?:쪽|편)|"
    r"(?:가격|값)(?:이|은|대가?)?\s*(?:더\s*)?(?:낮은|싼|저렴한)\s*(?:건|거|게|걸|쪽|것|향수|편)",
    re.IGNORECASE,
)
_CHEAPEST_ONE = re.compile(
    r"\bcheapest\b|\b(?:least|less) (?:expensive|pricey|costly)\b|\bmost (?:affordable|budget)|\blowest[- ]pric|"
    r"\blowest cost\b|(?:제일|가장|젤|젤루)\s*(?:값\s*)?(?:싼|싸|저렴)|"
    r"(?:가격|값)(?:이|은)?\s*(?:제일|가장|젤)\s*(?:낮|싼|싸|저렴)|최저가",
    re.IGNORECASE,
)
_PRICIER_ONE = re.compile(
    r"\bthe (?:pricier|more expensive|higher[- ]priced)\b|"
    r"더\s*비싼\s*(?:건|거|게|걸|쪽|것|향수)|비싼\s*(?:쪽|편)|(?:가격|값)(?:이|은)?\s*(?:더\s*)?높은\s*(?:건|거|게|걸|쪽|것|향수|편)",
    re.IGNORECASE,
)
_PRICIEST_ONE = re.compile(
    r"\bthe (?:priciest|most expensive)\b|\bhighest[- ]pric|(?:제일|가장|젤)\s*비싼|"
    r"(?:가격|값)(?:이|은)?\s*(?:제일|가장|젤)\s*높",
    re.IGNORECASE,
)
# "the most long-lasting", "제일 은은한 거", "the one with the most rose", "the lightest": a pick by a quality.
_SUPERLATIVE = re.compile(
    r"\bmost\b|\bleast\b|\b(?:the|which(?:\s+one)?(?:'s| is)?)\s+\w+est\b|\b\w{3,}est\s+(?:one|of)\b|\bbest\b|"
    r"제일|가장|젤\s|젤루|최고로|제일로",
    re.IGNORECASE,
)
_GENERIC = re.compile(
    r"\b(?:perfumes?|fragrances?|scents?|colognes?)\b|향수|향\s*(?:이|은|을)?\s*(?:뭐|어떤|추천)", re.IGNORECASE
)
# What was shown, said back: "보여준 것들 중에", "추천해 주신 거", "the ones you listed". Its 보여/추천 asks
# for nothing new.
_BACK_REF = re.compile(
    r"(?:보여|추천해|추천|골라|찾아|알려|소개해|소개|말씀해|말해|뽑아)\s*(?:주신|준|주셨던|줬던|드린|한|했던|하신|받은|된)|"
    r"보여준|아까\s*(?:그|거|것|꺼)|\b(?:you|u)\s+(?:just\s+)?(?:showed|listed|mentioned|recommended|suggested|picked|"
    r"gave|named|put|sent)\b|\b(?:listed|shown|mentioned|recommended|suggested) (?:above|earlier|before)\b|"
    r"\b(?:on|in|from) (?:the|your|that|this) list\b|리스트|목록",
    re.IGNORECASE,
)
# The one of a pair not chosen: "the other one", "나머지 하나", "다른 쪽"; never "other ones", "다른 거 보여 줘".
_OTHER = re.compile(
    r"\bthe other(?: one| perfume| fragrance| scent| bottle)?\b(?!\s*(?:ones|perfumes|options))|"
    r"나머지\s*(?:하나|한\s*개|거|것|꺼|건|향수|는|도)|다른\s*(?:하나|쪽|한\s*개)|반대쪽|남은\s*(?:하나|거|것)",
    re.IGNORECASE,
)
# A reference to something shown without a pronoun: "... 거", "the one ...", "중에".
_REFERENT = re.compile(
    r"\bones?\b|\bof (?:them|these|those)\b|(?:거|꺼|것|건|걸|게|놈|애)(?:\s|$|[?.!,]|는|은|요|가|이|로)|중에|중\s",
    re.IGNORECASE,
)
# Asking to be shown perfumes: a search, never a pick among those shown.
_SHOW = re.compile(
    r"\bshow\b|\brecommend\b|\bfind\b|\bsuggest\b|\bsomething\b|\banything\b|\boptions\b|\bothers?\b|"
    r"보여|추천|찾아|(?<!재고)(?<!재고 )있(?:을까|나요)|다른",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"\b(?:it|its|it's|this one|that one|this perfume|that perfume|this fragrance|that fragrance|this scent|"
    r"that scent|the one)\b|이거|그거|저거|이건|그건|저건|이게|그게|이걸|그걸|이것|그것|이\s*향수|그\s*향수|"
    r"이\s*제품|그\s*제품|얘|걔|요거",
    re.IGNORECASE,
)
_SIMILAR = re.compile(
    r"\bsimilar\b|\blike (?:it|this|that|them|those|these)\b|\bsame (?:mood|vibe|style|feel|family|direction|kind)\b|"
    r"\bin (?:that|this|the same) (?:style|vein|direction|mood)\b|\balternatives?\b|\bdupes?\b|"
    r"\balong (?:those|these|the same) lines\b|비슷한|비슷하|"
    r"\b(?:that|this|the same) (?:kind of )?(?:vibe|vein|feel|direction|style|spirit)\b|\bin the same spirit\b|"
    r"\bsomething like (?:it|this|that)\b|\b(?:close|closest) to (?:it|this|that)\b|\bsimilar vibes?\b|"
    r"같은\s*느낌|같은\s*계열|비슷한\s*느낌|대체할|보다\s*(?:덜|더|좀)|"
    # "그런 결로", "이런 분위기로", "그 느낌 그대로": the focused perfume's style, wanted again.
    r"(?:그런|이런|저런|그|이|같은)\s*(?:결|느낌|분위기|스타일|계열|무드|바이브|톤|라인|st)\s*(?:으로|로|의|인데|이면|그대로)|"
    r"(?:이거|그거|저거|얘|걔)\s*(?:랑|와|하고)?\s*(?:비슷|같은|닮은)|(?:결|느낌|분위기)\s*(?:은|는)?\s*(?:유지|그대로)",
    re.IGNORECASE,
)
_COMPARE = re.compile(r"\bcompare\b|\bcomparison\b|\bdifference\b|비교|차이", re.IGNORECASE)
# What is asked about; season, occasion, mood, gender, longevity and sillage also come from the slots.
_ASKS = {
    "longevity": re.compile(
        r"\blasts\b|\blasting\b|\blast (?:long|longer|all|through|thru|till|until|for|the whole|past)\b|"
        r"\b(?:it|will|would|does|do|can|that|they|this|them|me)\s+last\b|\blongevity\b|\bhow long\b|\bhours?\b|"
        r"\bstays?\b|\bwear time\b|\bhold up\b|"
        r"\bholds? up\b|\boutlasts?\b|\ball[- ]day\b|\bwhole day\b|\bstaying power\b|\bwears? off\b|\bfade[sd]?\b|"
        r"\bsurvive\b|\bmake it (?:through|to|till|until)\b|\bstick around\b|\bgo the distance\b|\bstill be there\b|"
        r"\b(?:till|until|through|thru) (?:the end|lunch|noon|evening|night|dinner|midnight|closing)\b|"
        r"\b(?:till|until|through|thru) the (?:day|night|shift|party|wedding|ceremony|show|concert|flight)\b|"
        r"\bfrom \d{1,2}(?::\d\d)?\s*(?:am|pm)?\s*(?:to|till|until|-)\s*\d{1,2}\b|\bby (?:lunch|noon|evening)\b|"
        r"오래|지속|몇\s*시간|시간\s*(?:정도|가|이나)|날아가|유지|버텨|버티|버틸|버팁|하루\s*종일|온종일|종일|"
        r"끝날\s*때까지|끝까지|(?:점심|저녁|밤|퇴근|오후|새벽|아침)\s*(?:때|시간)?\s*까지|\d+\s*시\s*까지|"
        r"금방\s*(?:사라|날아|없어|빠)|사라지|향이\s*(?:오래\s*)?남|까지\s*(?:남|향이|유지|지속)",
        re.IGNORECASE,
    ),
    "sillage": re.compile(
        r"\bproject(?:s|ion)?\b|\bsillage\b|\bstrong(?:er|est)?\b|\bloud\b|\bskin scent\b|\bsubtle\b|\bheavy\b|"
        r"\bintense\b|"
        r"\bnoticeable\b|\bquiet\b|\bpowerful\b|\blight(?:er|est)\b|\bsoft(?:er|est)\b|\bfill (?:the|a) room\b|"
        r"\bbeast mode\b|\bwafts?\b|\bclose to (?:the )?skin\b|\bnotice(?:able)?\b|\b(?:people|others|anyone|everyone|"
        r"someone|coworkers|colleagues|they|folks)\b[^.?!]{0,25}\bsmell\b|\bsmell (?:it|me) from\b|"
        r"퍼지|퍼져|확산|발향|진해|진한가|강해|강한가|강한 편|세요\?|센가|민폐|은은|잔잔|부담스럽|무거|가벼|"
        r"\btoo much\b|\boverpowering\b|\btoo strong\b|\bfunerals?\b|\bmemorial\b|\bhospitals?\b|\bclinic\b|"
        r"\blibrary\b|\bchurch\b|과하|과한|너무\s*(?:세|강|진|독)|장례|조문|문상|병원|도서관|예배|성당|"
        r"주변|옆\s*사람|남들이|다른\s*사람|맡을\s*수|티\s*(?:가|도)?\s*(?:많이|엄청|좀|잘|확)?\s*나|스킨\s*센트|살\s*냄새|살내음|코를\s*찌르",
        re.IGNORECASE,
    ),
    "price": re.compile(
        r"\bhow much\b|\bprice[ds]?\b|\bprice-wise\b|\bcosts?\b|\bexpensive\b|\bcheap(?:er|est)?\b|\bpricey\b|"
        r"\bin won\b|\bkrw\b|\bdamage\b|\baffordable\b|가격|얼마|비싸|비싼|싼|저렴|값|몇\s*원|비용",
        re.IGNORECASE,
    ),
    "size": re.compile(
        r"\d+\s*ml(?![a-z])|(?<![a-z])ml(?![a-z])|\bsizes?\b|\bbottles?\b|\b(?:bigger|larger|smaller)\b|\bhow big\b|"
        r"용량|미니|사이즈|몇\s*ml|밀리|미리|몇\s*미리|몇\s*밀리",
        re.IGNORECASE,
    ),
    "stock": re.compile(
        r"\bin stock\b|\bstock\b|\bavailable\b|\bavailability\b|\bsold out\b|\bcarry\b|\bhave it\b|"
        r"\bon (?:the )?shel(?:f|ves)\b|\bin (?:the )?(?:store|shop|boutique)\b|\bany (?:left|bottles? left)\b|"
        r"\bstill (?:have|carry|sell)\b|\bcan i (?:buy|get|grab|pick up) (?:it|one|a bottle)\b|\bpick (?:it|one) up\b|"
        r"\b(?:any|how many)(?: \w+)? left\b|\bin store\b|\bback in stock\b|"
        r"재고|품절|구매\s*가능|살\s*수\s*있|매장에|바로\s*살|지금\s*살|구할\s*수|사러\s*가|몇\s*(?:병|개)|"
        r"(?:병|개|수량|물량|재고)\s*(?:이|가)?\s*남|재입고|입고\s*(?:예정|일|되|돼|알림|언제|했|됐)",
        re.IGNORECASE,
    ),
    "notes": re.compile(
        r"\bnotes?\b|\bsmells? like\b|\b(?:what|how) does (?:it|that|this)(?: one)? smell\b|\bingredients?\b|"
        r"\bwhat(?:'s| is) in (?:it|there|that)\b|\baccords?\b|\bdescribe\b|\bdry ?down\b|\bdries down\b|\bthe base\b|"
        r"\bopening\b|\bheart\b|\bend of the day\b|\btell me (?:more )?about\b|노트|무슨\s*향|어떤\s*향|향이\s*나|성분|"
        r"들어가|자세히|설명|잔향|베이스|드라이\s*다운|(?:마지막|끝|나중)(?:에)?\s*(?:남는|나는)|첫\s*향|처음\s*향|탑\s*향",
        re.IGNORECASE,
    ),
    "gender": re.compile(
        r"\bunisex\b|\bfor (?:men|women|a man|a woman|him|her|guys|girls)\b|\bmen\b|\bwomen\b|\bguy\b|\bgirl\b|"
        r"\bmasculine\b|\bfeminine\b|\bgirlfriend\b|\bboyfriend\b|\bhusband\b|\bwife\b|\bbf\b|\bgf\b|\bhubby\b|"
        r"\bdudes?\b|\ba guy\b|\bguys? (?:wear|could|can|would)\b|\bpull (?:it |this |that )?off\b|\bmy man\b|"
        r"\bgirly\b|\bmanly\b|"
        r"남자|여자|남녀|공용|유니섹스|남성|여성|남친|여친|남자친구|여자친구|남편|아내|와이프|같이\s*(?:써|뿌|쓰)",
        re.IGNORECASE,
    ),
}
_LOW = re.compile(
    r"\bleast\b|\bless\b|\bsubtle\b|\bsoft(?:e?st|er)\b|\blight(?:est|er)\b|\bquiet(?:est|er)?\b|\bgentle(?:r|st)?\b|"
    r"\bmild(?:er|est)?\b|\bclose to (?:the )?skin\b|"
    r"\bnot (?:too )?(?:strong|loud)\b|은은|덜|약한|민폐|가벼|잔잔|부담\s*(?:없|스럽지)",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"\?|\b(?:is|are|does|do|can|could|would|will|how|what|which|should)\b|요\s*$|나요|까요|가요|죠|어때|있어요|돼요|되나|"
    r"괜찮|어울|나아|맞아|인가|일까|얼마|몇|뭐",
    re.IGNORECASE,
)
_ML = re.compile(r"(\d{2,3})\s*ml", re.IGNORECASE)
# A new request, not a question about what was shown.
_NEW_REQUEST = re.compile(
    r"\bshow me\b|\brecommend\b|\bsuggest\b|\bfind me\b|\blooking for\b|\bany (?:other|more)\b|\bsomething\b|"
    r"\banything\b|\bmore options\b|\bany of (?:those|these|them)\b|\bdo you have\b|\bcompose\b|\bcreate\b|"
    r"\bformula\b|\brecipe\b|추천|보여|찾아|골라\s*주|다른\s*거|"
    r"(?<!남아)(?<!남아 )(?:있을까요|있나요)|조향|레시피|배합|만들어|"
    r"(?<![그이저])걸로|(?<![그이저])거로|(?<![그이저])것으로|쪽으로",
    re.IGNORECASE,
)


@dataclass(slots=True)
class FollowUp:
    """A question about perfumes the conversation has in focus."""

    ids: list[str]
    """The perfumes it is about, in the order they were shown."""
    aspects: list[str] = field(default_factory=list)
    choose: str | None = None
    """"best": which of `ids` fits the aspects best; "cheapest" / "priciest": a selector by price."""
    how: str = "implicit"
    """How they were referred to: rank, group, selector, pronoun, other (of a pair) or implicit."""
    season: str | None = None
    occasion: str | None = None
    mood: str | None = None
    gender: str | None = None
    direction: str = "high"
    """For a choice on sillage or longevity: "low" when the least is wanted (subtle, 은은한)."""
    size_ml: float | None = None
    hours: float | None = None
    """For longevity: the hours it must last ("from 9 to 6", "8시간", "하루 종일")."""
    layer: str | None = None
    """For notes: the part of the pyramid asked about ("what's in the drydown?": base; "첫 향": top)."""

    def tool_args(self) -> dict[str, Any]:
        """The arguments of the ask_about_perfumes tool."""
        args: dict[str, Any] = {"perfume_ids": self.ids, "aspects": self.aspects}
        for name in ("choose", "season", "occasion", "mood", "gender", "size_ml", "hours", "layer"):
            if getattr(self, name) is not None:
                args[name] = getattr(self, name)
        if self.direction != "high":
            args["direction"] = self.direction
        return args


def ranks(text: str) -> list[int]:
    """Ranks named in the text, in order (1-based; -1 is "the last", -2 the one before it; MIDDLE the middle)."""
    out: list[int] = []
    for m in _EN_RANK.finditer(text):
        word = next((g for g in m.groups()[:-1] if g), "").lower().replace("-", " ")
        out.append(_EN_ORDINALS[word] if word else int(m.group(m.lastindex or 0)))
    for m in [*_EN_RANK_PAIR.finditer(text), *_KO_RANK_PAIR.finditer(text)]:
        out += [int(m.group(1)), int(m.group(2))]
    for m in _KO_RANK.finditer(text):
        back, digit, nth, nth_short, last, edge, first, middle, place = m.groups()
        if back:
            out.append(-_KO_ORDINALS[back])
        elif digit or place:
            out.append(int(digit or place))
        elif nth or nth_short:
            out.append(_KO_ORDINALS[nth or nth_short])
        elif last:
            out.append(-1)
        elif edge:
            out.append(1 if re.search(r"위|처음|앞", edge) else -1)  # 아래, 밑, 끝, 뒤, 마지막
        elif first:
            out.append(1)
        elif middle:
            out.append(MIDDLE)
    return list(dict.fromkeys(out))


def _by_rank(found: list[int], listed: list[str]) -> list[str]:
    ids: list[str] = []
    for r in found:
        if r == MIDDLE:
            if len(listed) % 2 == 1:
                ids.append(listed[len(listed) // 2])
        elif 0 < r <= len(listed) or (r < 0 and -r <= len(listed)):
            ids.append(listed[r - 1] if r > 0 else listed[r])
    return list(dict.fromkeys(ids))


def aspects_of(text: str, slots: dict[str, Any]) -> list[str]:
    """What a message asks about, from its words and its slots."""
    asked = [name for name, pattern in _ASKS.items() if pattern.search(text)]
    if slots.get("longevity") and "longevity" not in asked:
        asked.append("longevity")
    if slots.get("sillage") and "sillage" not in asked:
        asked.append("sillage")
    for slot in ("season", "occasion", "mood"):
        if slots.get(slot):
            asked.append(slot)
    if slots.get("gender") and "gender" not in asked:
        asked.append("gender")
    return [a for a in ASPECTS if a in asked]


def _selector(text: str, group: list[str]) -> str | None:
    """ "cheapest" / "priciest" when the message picks among the group by price."""
    if len(group) < 2 or _SHOW.search(_BACK_REF.sub(" ", text)):
        return None
    if _CHEAPEST_ONE.search(text) or (len(group) == 2 and _CHEAPER_ONE.search(text)):
        return "cheapest"
    if _PRICIEST_ONE.search(text) or (len(group) == 2 and _PRICIER_ONE.search(text)):
        return "priciest"
    return None


# Said of the perfumes shown, in so many words: "of the two", "between them", "둘 중", "그중에".
_OF_THE_SHOWN = re.compile(
    r"\b(?:of|between|among) (?:the (?:two|three|four|five|ones?)|those|these|them|both)\b|"
    r"(?:둘|셋|두 개|세 개|그|이|저)\s*중",
    re.IGNORECASE,
)


def _is_group(text: str) -> bool:
    """A reference to several perfumes; a bare "which" next to a singular pronoun is not ("which notes
    does it have?")."""
    hits = [m.group(0).lower() for m in _GROUP.finditer(text)]
    if not hits and _BACK_REF.search(text) and re.search(r"중|\bof\b|\bamong\b|\bwhich\b", text):
        return True  # "보여준 것들 중에", "of the ones you listed"
    if not hits:
        return False
    return not (set(hits) <= {"which"} and _PRONOUN.search(text) is not None)


def _new_subject(slots: dict[str, Any]) -> bool:
    """The message names something to search for: notes, accords, brands, a perfume."""
    return any(slots.get(k) for k in ("liked_notes", "accords", "brands", "perfumes"))


def wants_similar(text: str) -> bool:
    """A search for perfumes like the one in focus ("분위기 비슷한데 14만원 안쪽으로", "anything in that
    vein under 150k?"), not a question about it."""
    return bool(_SIMILAR.search(text))


def _superlative_pick(text: str, slots: dict[str, Any], aspects: list[str]) -> bool:
    """ "제일 오래가는 거", "the lightest one", "the one with the most rose", "보여준 것 중 제일 은은한 건": a pick
    among what was shown by a quality, not a new search; a superlative that names a new subject with nothing
    pointing back ("the sweetest vanilla perfume you have") is a search."""
    if not _SUPERLATIVE.search(text):
        return False
    if not (aspects or slots.get("accords") or slots.get("liked_notes")):
        return False
    points_back = bool(_REFERENT.search(text) or _BACK_REF.search(text))
    # "what's the best perfume for a first date?": a perfume in general, a question for a search.
    return points_back or not (_new_subject(slots) or _GENERIC.search(text))


def asked_about(perfume_id: str, text: str, slots: dict[str, Any]) -> FollowUp | None:
    """What a message naming one perfume asks about it besides what it is ("Do you have Baccarat Rouge
    540 in 100ml?", "Creed Aventus 가격 얼마예요?"), or None when it only asks what it is like."""
    aspects = [a for a in aspects_of(text, slots) if a != "notes"]
    if not aspects:
        return None
    return _condition(FollowUp(ids=[perfume_id], aspects=aspects, how="named"), text, slots)


_EST = re.compile(r"\b([a-z]{3,}?)(i?)est\b", re.IGNORECASE)


def _superlative_mood(text: str) -> str | None:
    """The lexicon mood an English superlative names ("the freshest", "the coziest", "the cleanest"), which
    the slots read only in its plain form."""
    moods = default_lexicon().rules.get("mood", {})
    for m in _EST.finditer(text):
        stem, y = m.group(1).lower(), m.group(2)
        bases = [stem + "y"] if y else [stem, stem + "e", stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] else stem]
        for base in bases:
            if base in moods and base not in ("light", "soft", "heavy"):  # those are the sillage
                return base
    return None


# How long it must last: a span of the clock ("from 9 to 6", "7시부터 11시까지", "9-5"), hours ("8 hours",
# "10시간"), or a whole working day ("all day", "하루 종일", "퇴근까지").
_CLOCK_SPAN = re.compile(
    r"(?<!\d)(\d{1,2})\s*(?::\d\d)?\s*(?:am|pm|시)?\s*(?:to|till|until|through|-|~|–|부터|에서)\s*"
    r"(?:아침|오전|오후|저녁|밤|새벽)?\s*(\d{1,2})\s*(?::\d\d)?\s*(?:am|pm|시)?(?!\d)",
    re.IGNORECASE,
)
_HOURS = re.compile(r"(\d{1,2}(?:\.\d)?)\s*(?:hours?|hrs?|h\b|시간)", re.IGNORECASE)
_WORKDAY = re.compile(
    r"\ball day\b|\bwhole day\b|\bfull (?:work )?day\b|\bworkday\b|하루\s*종일|온종일|퇴근\s*(?:까지|때까지)"
)
WORKDAY_HOURS = 9.0
_LAYER = {
    "base": re.compile(
        r"\bdry ?down\b|\bdries down\b|\bthe base\b|\bbase notes?\b|\bend of the day\b|\bat the end\b|"
        r"잔향|베이스|드라이\s*다운|(?:마지막|끝|나중)(?:에)?\s*(?:남는|나는)",
        re.IGNORECASE,
    ),
    "top": re.compile(
        r"\bopening\b|\bopens?\b|\bfirst (?:spray|sniff|spritz|few minutes)\b|\btop notes?\b|"
        r"첫\s*향|처음\s*(?:향|뿌렸을)|탑\s*(?:노트|향)",
        re.IGNORECASE,
    ),
    "heart": re.compile(
        r"\bheart notes?\b|\bmiddle notes?\b|\bthe heart\b|미들\s*노트|하트\s*노트|중간\s*향", re.IGNORECASE
    ),
}


def hours_asked(text: str) -> float | None:
    """The hours a longevity question asks for, or None ("will it last from 9 to 6?" is 9)."""
    span = _CLOCK_SPAN.search(text)
    if span:
        start, end = int(span.group(1)), int(span.group(2))
        if 0 < start <= 24 and 0 < end <= 24:
            return float(end - start if end > start else end + 12 - start) or None
    hours = _HOURS.search(text)
    if hours:
        return float(hours.group(1))
    return WORKDAY_HOURS if _WORKDAY.search(text) else None


def layer_asked(text: str) -> str | None:
    """The part of the pyramid a notes question is about, or None for all of it."""
    return next((layer for layer, pattern in _LAYER.items() if pattern.search(text)), None)


def _condition(follow: FollowUp, text: str, slots: dict[str, Any]) -> FollowUp:
    """The conditions a question sets (season, occasion, mood, gender, a bottle size, least or most)."""
    follow.season, follow.occasion = slots.get("season"), slots.get("occasion")
    follow.mood, follow.gender = slots.get("mood"), slots.get("gender")
    if follow.mood is None and follow.choose == "best" and (mood := _superlative_mood(text)):
        follow.mood = mood  # "which is the freshest?": a pick by that mood
        follow.aspects = [a for a in ASPECTS if a in {*follow.aspects, "mood"} and a != "notes"]
    follow.direction = "low" if _LOW.search(text) else "high"
    size = _ML.search(text)
    if size and "size" in follow.aspects:
        follow.size_ml = float(size.group(1))
    if "longevity" in follow.aspects:
        follow.hours = hours_asked(text)
        if follow.hours and follow.occasion == "night" and "occasion" in follow.aspects:
            # "아침 9시부터 저녁 6시까지": the clock's evening is the end of the span, no evening out.
            follow.aspects.remove("occasion")
            follow.occasion = None
    if "notes" in follow.aspects:
        follow.layer = layer_asked(text)
    return follow


def _picks_by_quality(text: str, masked: str, slots: dict[str, Any], focus: Focus) -> bool:
    """A superlative pick among the group ("제일 오래가는 거", "the lightest one"), unless the message asks
    for something new or asks about the one perfume in focus ("is it the strongest of your range?")."""
    if _NEW_REQUEST.search(masked) or (focus.kind == "perfume" and _PRONOUN.search(text)):
        return False
    return _superlative_pick(text, slots, aspects_of(text, slots))


def _the_other(text: str, focus: Focus) -> str | None:
    """ "what about the other one?", "나머지 하나는요?" after one of two was chosen: the one not chosen."""
    pair = focus.group_ids
    if len(pair) != 2 or focus.perfume_id not in pair or not _OTHER.search(text):
        return None
    return next(i for i in pair if i != focus.perfume_id)


def read_follow_up(text: str, slots: dict[str, Any], focus: Focus) -> FollowUp | None:
    """The question about shown perfumes this message asks, or None (a new request, a refinement of
    the last search, a comparison, a formula change, or nothing in focus to refer to)."""
    if focus.empty or not (focus.list_ids or focus.group_ids or focus.perfume_id):
        return None
    if _SIMILAR.search(text) or slots.get("formula_lines") or slots.get("materials"):
        return None
    named = ranks(text)
    masked = _BACK_REF.sub(" ", text)  # "추천해 주신 것 중", "the ones you showed": no new request
    group = focus.group_ids or focus.list_ids
    ids: list[str] = []
    how = "implicit"
    choose: str | None = None
    other = _the_other(text, focus)
    if other:
        ids, how = [other], "other"
    elif named:
        ids, how = _by_rank(named, focus.list_ids), "rank"
        if not ids:
            return None
    elif (selector := _selector(text, group)) is not None:
        ids, how, choose = group, "selector", selector
    elif len(group) >= 2 and (_is_group(text) or _picks_by_quality(text, masked, slots, focus)):
        ids, how = group, "group"
    elif _PRONOUN.search(text) and not focus.perfume_id and focus.kind == "comparison" and 2 <= len(group) <= 3:
        # "그거 여름에도 돼요?" after two were compared and neither chosen: about each of them.
        ids, how = group, "pronoun"
    elif _PRONOUN.search(text) and (focus.perfume_id or focus.list_ids):
        ids, how = [focus.perfume_id or focus.list_ids[0]], "pronoun"
    aspects = aspects_of(text, slots)
    # A message that asks for something new ("show me ...", a budget, another perfume named) is a
    # search or a comparison, whatever it refers to; notes and accords named about perfumes referred
    # to are what they are asked about ("which of those is the freshest?", "is it sweet?").
    narrows = slots.get("disliked_notes") or slots.get("disliked_accords") or (slots.get("budget") or {}).get("max")
    # "그거 매장에 있나요?", "do you have it in stock?": whether the perfume referred to is there to buy.
    stock_of_it = how == "pronoun" and "stock" in aspects
    # "Which of the two is sweeter? I'm not into very sweet": a dislike said beside a pick is no new search.
    picking = how == "group" and bool(_OF_THE_SHOWN.search(text)) and bool(_WHICH.search(text))
    if how in ("implicit", "pronoun", "group") and (
        (_NEW_REQUEST.search(masked) and not stock_of_it) or (narrows and not picking)
    ):
        return None
    # "3번 말고 다른 거 추천해 줘": a rank named in a new request that asks nothing about it.
    if how == "rank" and not aspects and _NEW_REQUEST.search(masked):
        return None
    if "gender" in aspects and "mood" in aspects and not slots.get("gender"):
        aspects.remove("mood")  # "would my bf look weird wearing it?": who wears it, not a mood
    if how in ("implicit", "pronoun") and slots.get("perfumes"):
        return None
    if how == "implicit" and _new_subject(slots):
        return None
    if how != "implicit" and (slots.get("accords") or slots.get("liked_notes")):
        aspects = [*aspects, "character"]
    if _COMPARE.search(text) and len(ids) >= 2 and not aspects:
        return None
    if how == "implicit":
        if not aspects or not _QUESTION.search(text):
            return None
        if focus.perfume_id:
            ids = [focus.perfume_id]
        elif len(group) >= 2 and _WHICH.search(text):
            ids, how = group, "group"
        elif 2 <= len(group) <= 3 and focus.kind != "list":
            # "Can my boyfriend wear it too?" after two perfumes with none chosen: about each of them.
            ids = group
        else:
            return None
    if how == "other" and (_NEW_REQUEST.search(masked) and not aspects):
        return None
    if how in ("group", "rank") and len(ids) >= 2 and (_CHOICE.search(text) or how == "group"):
        choose = choose or "best"
    if choose in ("cheapest", "priciest") and not [a for a in aspects if a != "price"]:
        aspects = ["price"]
    follow = FollowUp(ids=ids, aspects=aspects or ["notes"], choose=choose, how=how)
    return _condition(follow, text, slots)


# Asking for a person or for a formula of one's own: what the handoff and compose intents are for.
_STAFF_OR_COMPOSE = re.compile(
    r"\b(?:human|agent|staff|representative|manager|real person|salesperson|operator)\b|\btalk to (?:a|an|some)|"
    r"\bspeak (?:to|with)\b|\bcall me\b|\bconnect me\b|\bcompose\b|\bcreate\b|\bformula\b|\brecipe\b|\bcustom\b|"
    r"\bblend\b|\bmy own\b|직원|상담원|상담사|매니저|점원|"
    r"사람(?:이랑|과|하고|한테|으로)\s*(?:얘기|통화|연결|상담|바꿔)|"
    r"사람\s*(?:바꿔|불러|연결)|연결해|통화|전화|조향|만들어|배합|레시피|나만의",
    re.IGNORECASE,
)


def staff_or_compose_request(text: str) -> bool:
    """Whether the message asks for a person or for a composed formula. The intent role reads one message
    alone and may call "can people around me even smell it?" or "can my husband wear this too?" a handoff
    or a composition; a question about the perfume in focus that asks for neither is a follow-up."""
    return bool(_STAFF_OR_COMPOSE.search(text))
