"""Changes to the formula just composed: "more rose", "no musk please", "make it lighter",
"EDT로 바꿔 주세요", "덜 달게".

A change is read from the turn's slots (agents/slots.py: more/less notes, dislikes, intensity, a
concentration) and applied to the brief the formula was composed from, which the conversation
carries (`Carried.formula`). The same brief with the change is composed again (composition is
deterministic: the same brief gives the same formula), validated as every composition is, and
the tool's result says what changed against the formula before (`tools.toolkit.formula_changes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from prompts import render
from tools.perfumery.composition import LAYER_PREFIX

# Weakest first: "lighter" past a light formula steps the concentration down, "stronger" up.
CONCENTRATION_STEPS = ("EDC", "EDT", "EDP", "Parfum")
# A request for catalog perfumes, not for a change of the formula ("시판 향수 중에 비슷한 거", "show
# me perfumes without musk"): the turn searches the shop.
_SHOP = re.compile(
    r"(?<![a-z])(?:perfumes?|fragrances?|colognes?|products?|bottles?|brands?|in stock|buy|shop|store|"
    r"on the market|commercial|recommend|show me|find me|options|alternatives|dupes?)(?![a-z])|"
    r"향수|제품|시판|판매|파는|살 수|매장|브랜드|추천|보여"
)
# Asking for a formula of its own ("another one", "a new formula", "처음부터 다시").
_NEW = re.compile(
    r"(?<![a-z])(?:new|another|different|fresh start|from scratch|second|start over|start again)(?![a-z])|"
    r"새로|새 |다른(?!\s*(?:건|것|거|부분|재료|노트)\S*\s*(?:다\s*)?(?:그대로|놔|두))|처음부터|하나 더|또 하나"
)
# Words that ask to change what was made ("make it", "switch", "바꿔").
_CHANGE = re.compile(
    r"(?<![a-z])(?:make it|make this|switch|change|turn it|swap|adjust|tweak|tone|take (?:it|that|them) out|"
    r"remove|drop|leave out|replace)(?![a-z])|바꿔|바꾸|변경|수정|조정|만들어|해 ?주세요|해 ?줘|빼 ?주|빼줘|넣어"
)


# A request for a person, which no change of a formula is ("can I talk to someone?", "직원 연결").
_PERSON = re.compile(
    r"(?<![a-z])(?:person|human|staff|someone|somebody|agent|manager|employee|representative)(?![a-z])|"
    r"직원|사람|상담원|담당자|매니저|점원",
    re.IGNORECASE,
)
# A question choosing among what was shown ("which of those is the most subtle?", "둘 중에 뭐가 더 가벼워요?").
_CHOOSING = re.compile(
    r"(?<![a-z])(?:which|of (?:these|those|them)|among)(?![a-z])|둘\s*중|그\s*중|이\s*중|어느|뭐가|어떤\s*게|어떤\s*거",
    re.IGNORECASE,
)
# Words that name the formula itself ("the formula", "이 배합"): a change meant for it even after a search.
_FORMULA_WORD = re.compile(
    r"(?<![a-z])(?:formula|recipe|blend|composition|accord)(?![a-z])|배합|처방|레시피|조향", re.I
)


def in_focus(kind: str | None, formula: dict[str, Any] | None, text: str) -> dict[str, Any] | None:
    """The formula a change in `text` would apply to: the one just composed, or an earlier one the
    text names ("the formula", "그 배합") after something else was shown."""
    if not formula:
        return None
    return formula if kind == "formula" or _FORMULA_WORD.search(text) else None


@dataclass(slots=True)
class FormulaEdit:
    """What a turn asks to change in the formula in focus."""

    more: list[str] = field(default_factory=list)
    less: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    intensity: str | None = None
    concentration: str | None = None
    step: int = 0  # the concentration a step down (-1) or up (+1): "농도 좀 낮춰 주세요"

    def __bool__(self) -> bool:
        return bool(self.more or self.less or self.without or self.intensity or self.concentration or self.step)

    @classmethod
    def from_slots(cls, slots: dict[str, Any]) -> FormulaEdit:
        return cls(
            more=list(slots.get("more_notes") or []),
            less=list(slots.get("less_notes") or []),
            without=[*(slots.get("disliked_notes") or []), *(slots.get("disliked_accords") or [])],
            intensity=slots.get("intensity"),
            concentration=slots.get("concentration"),
        )

    def to_dict(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"more": self.more, "less": self.less, "without": self.without}
        fields |= {"intensity": self.intensity, "concentration": self.concentration, "step": self.step}
        return {k: v for k, v in fields.items() if v}


# The direction a change request gives the notes and families it names, however it is phrased: slang
# ("moar lavender", "it should be the star"), idiom ("dial the sweetness down a notch") or Korean
# ("시트러스 계열은 싹 다 빼 줘"). The slot reader reads the set phrasings ("more rose", "덜 달게"); these
# cues give the notes it read as merely named a direction when a formula is in focus.
_MORE_CUE = re.compile(
    r"(?<![a-z])(?:moar|more|extra|star|hero|forward|front and cent(?:er|re)|dominant|dominate|lead|main|"
    r"stand out|pop|punchier|crank(?:ed)? up|pump(?:ed)? up|boost|amp(?:ed)? up|up the|bump(?:ed)? up|louder|"
    r"heavier on|spotlight|showcase|load(?:ed)? up|double)(?![a-z])|"
    r"더\s*(?:많이|넣|세게|강하|진하|살려|돋보|느껴|나게)|주인공|메인|강조|듬뿍|팍팍|왕창|늘려|늘리|추가|살려"
)
_LESS_CUE = re.compile(
    r"(?<![a-z])(?:less|les|lesss|fewer|down|back off|ease (?:up|off)|tone|tame|mute|reduce|lower|notch|softer on|"
    r"go easy|lighter on|cut back|scale back|pull back)(?![a-z])|덜|줄여|줄이|약하게|적게|낮춰|낮추|죽여"
)
_WITHOUT_CUE = re.compile(
    r"(?<![a-z])(?:no|without|remove|drop|ditch|lose|nix|zero|skip|take out|leave out|get rid of|cut out|"
    r"not even|none|keep out|keep (?:it|them) out|keep \w+(?: \w+)? out)(?![a-z])|빼|없이|제외|없애|없는|말고|싹\s*다"
)
_STRONG_CUE = re.compile(
    r"beast ?mode|projection|projecting|sillage|louder|bolder|stronger|powerful|punchier|monster|nuclear|"
    r"last(?:s|ing)? longer|longer[- ]lasting|more (?:intense|presence|power|performance|longevity|oomph)|"
    r"진하게|강하게|세게|확산|존재감|묵직하게|"
    r"(?<![a-z])(?:heavier|richer|denser|thicker|deeper)(?![a-z])|무겁게|풍성하게|풍부하게"
)
_LIGHT_CUE = re.compile(
    r"lighter|lighten|airier|airy|sheer|softer|quieter|subtler|more subtle|less (?:heavy|intense|strong|loud|dense)|"
    r"tone it down|dial it (?:back|down)|가볍|가벼|무게감|덜\s*무겁|은은하게|산뜻하게|잔잔하게|부담\s*없"
)
# A question about something, not a change ("tell me more about lavender", "what's the most cinnamal I
# can use?"): no direction is read from it.
_NOT_A_CHANGE = re.compile(
    r"(?<![a-z])(?:tell me|know|learn|explain|what(?:'s| is| are)|why|how much|how long|does it|is it|"
    r"is there|are there)(?![a-z])|%|뭐예요|뭔가요|왜|알려|설명|얼마나|몇\s*%",
    re.IGNORECASE,
)


# A question about the rules for a material, which the regulatory reader answers: an amount in %, or a rules word.
_RULES = re.compile(
    r"\d\s*%|(?<![a-z])(?:ifra|allowed|permitted|legal|banned|prohibited|restricted|safe to)(?![a-z])|"
    r"규정|기준|허용|금지|제한|한도|안전한가|써도\s*(?:돼|되|될|괜찮)|넣어도\s*(?:돼|되|될|괜찮)|사용해도"
)
_MORE_ABOUT = re.compile(
    r"(?<![a-z])(?:tell|know|learn|hear|read|say|explain)(?: me| us)?(?: a (?:bit|little))? more about"
)


# -- words a change is made of, beyond what the slot reader reads ---------------------------------
# The layer a change names ("sparkle up top", "beef up the base", "탑을 밝게", "잔향이 약해요"): the
# composer reads a "layer:<name>" entry of more_notes / less_notes as a larger (smaller) share of that layer.
_LAYERS = {
    "top": re.compile(
        r"(?<![a-z])(?:up top|top(?: notes?)?|opening|the open|head notes?|first (?:spray|sniff|impression)|start)"
        r"(?![a-z])|"
        r"탑|첫\s*향|첫\s*인상|첫\s*느낌|오프닝|초반|시작|뿌리자마자|처음\s*향"
    ),
    "heart": re.compile(
        r"(?<![a-z])(?:heart(?: notes?)?|middle(?: notes?)?|mid notes?)(?![a-z])|미들|하트|중간\s*향|중반"
    ),
    "base": re.compile(
        r"(?<![a-z])(?:base(?: notes?)?|bottom|dry ?down|drydown|foundation|the end|tail end|body|fuller|heft)"
        r"(?![a-z])|"
        r"베이스|잔향|끝\s*향|마무리|바닥|후반|라스트|밑\s*바탕"
    ),
}
# Qualities a change asks for, in everyday words, and the accords (as the lexicon names them) that give
# them: "fresher" / "더 상큼하게" is more citrus and fresh, "warmer" / "포근하게" more amber and balsam.
_QUALITIES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), accords)
    for pattern, accords in (
        (
            r"(?<![a-z])(?:fresh(?:er|ness)?|crisp(?:er)?|zest(?:y|ier)|zing(?:y|ier)?|sparkl\w*|bright(?:er|en)?|"
            r"lively|livelier|uplifting|juicier|zippy|zing)(?![a-z])|상큼|산뜻|상쾌|청량|밝[게은고아히]|밝았|시원|경쾌|톡\s*쏘|생기|"
            r"화사|발랄|싱그",
            ("citrus", "fresh"),
        ),
        (
            r"(?<![a-z])(?:warm(?:er|th)?|coz(?:y|ier)|cosier|snug(?:gly)?)(?![a-z])|따뜻|포근|따스|훈훈",
            ("amber", "balsamic"),
        ),
        (
            r"(?<![a-z])(?:clean(?:er)?|soap(?:y|ier)|laundry|freshly washed)(?![a-z])|"
            r"깨끗|깔끔|비누|클린|빨래|섬유유연제",
            ("musky", "soapy"),
        ),
        (
            r"(?<![a-z])(?:dark(?:er)?|deep(?:er)?|mood(?:y|ier)|sultr(?:y|ier)|sexier|sensual)(?![a-z])|어둡|어두운|깊[게은이고]|딥하|관능|섹시",
            ("woody", "amber"),
        ),
        (
            r"(?<![a-z])(?:creamy|creamier|smooth(?:er)?|round(?:er)?|velvety)(?![a-z])|부드럽|부드러|둥글|크리미|몽글",
            ("musky", "powdery"),
        ),
        (
            r"(?<![a-z])(?:masculine|manly|manlier|macho|for (?:a )?(?:man|men|guy|him))(?![a-z])|"
            r"남성적|남자다|남자답|남성스|남자\s*향",
            ("woody", "aromatic"),
        ),
        (
            r"(?<![a-z])(?:feminine|girly|girlier|ladylike|for (?:a )?(?:woman|women|her))(?![a-z])|"
            r"여성스|여성적|여자다|여자답|여리여리",
            ("floral", "powdery"),
        ),
        (r"(?<![a-z])(?:forest(?:y)?|woodland|foresty)(?![a-z])|숲|산림|피톤치드", ("woody", "green")),
        (r"(?<![a-z])(?:sweet(?:er|ness)?|sugary|candied)(?![a-z])|달달|달콤|달게|단\s*향|단\s*맛|당도", ("sweet",)),
        (r"(?<![a-z])(?:powder(?:y|ier)?)(?![a-z])|파우더|분내|분향|보송", ("powdery",)),
        (
            r"(?<![a-z])(?:green(?:er)?|leafy|grassy|herbal|herb(?:s|y)?)(?![a-z])|풀\s*냄새|풀\s*향|풀내|그린|초록",
            ("green",),
        ),
        (r"(?<![a-z])(?:floral|flowery|flowers?|florals)(?![a-z])|꽃|플로럴", ("floral",)),
        (r"(?<![a-z])(?:fruity|fruitier|fruits?)(?![a-z])|과일|과즙|프루티", ("fruity",)),
        (r"(?<![a-z])(?:wood(?:y|ier|s)?)(?![a-z])|우디|나무", ("woody",)),
        (r"(?<![a-z])(?:spic(?:y|ier|e|es)|peppery)(?![a-z])|향신료|스파이시|스파이스|매콤|알싸", ("warm spicy",)),
        (r"(?<![a-z])(?:citrus(?:y|sy)?|citrusy)(?![a-z])|시트러스|감귤|시트러시", ("citrus",)),
        (r"(?<![a-z])(?:musk(?:y|ier|s)?)(?![a-z])|머스크|머스키", ("musky",)),
        (r"(?<![a-z])(?:gourmand|edible|dessert(?:y)?|foody)(?![a-z])|구르망|디저트|먹는\s*향", ("sweet", "vanilla")),
        (r"(?<![a-z])(?:smok(?:y|ier|e)|incense)(?![a-z])|스모키|스모크|연기|인센스", ("smoky",)),
        (
            r"(?<![a-z])(?:aquatic|marine|watery|oceanic|salty|beach(?:y)?|ocean|seaside|sea breeze)(?![a-z])|"
            r"아쿠아|마린|바다|물\s*내음|짭짤",
            ("aquatic",),
        ),
    )
)
# The qualities that name a family of materials ("spicy", "sweet", "woody"): a dislike of one keeps out the
# family ("향신료는 질색이에요", "anything sweet makes me gag"); the moods (warmer, cleaner) name none.
_MOOD_ACCORDS = {
    ("woody", "aromatic"),
    ("floral", "powdery"),
    ("woody", "green"),
    ("citrus", "fresh"),
    ("amber", "balsamic"),
    ("musky", "soapy"),
    ("woody", "amber"),
    ("musky", "powdery"),
}
_FAMILY_QUALITIES = tuple(q for q in _QUALITIES if q[1] not in _MOOD_ACCORDS)
# "Too loud", "not so strong", "덜 튀게": lighter, when the message names nothing to have less of.
_TOO_LOUD = re.compile(
    r"(?<![a-z])(?:too (?:loud|strong|heavy|intense|much|powerful|overpowering)|not so (?:loud|strong|heavy)|"
    r"overpowering|a bit much|in your face|cloying|suffocating)(?![a-z])|"
    r"너무\s*(?:세|쎄|강|진|독|무거|튀)|과해|부담스러|덜\s*튀|숨\s*막"
)
# "Too faint", "향이 너무 약해요" with nothing named: stronger.
_TOO_FAINT = re.compile(
    r"(?<![a-z])(?:too (?:faint|weak|subtle|quiet|soft)|barely (?:there|smell)|"
    r"can'?t (?:really )?smell (?:it|anything)|"
    r"hardly smell)(?![a-z])|너무\s*(?:약|연하|흐릿|은은)|잘\s*안\s*(?:느껴|나|맡)|향이\s*(?:약|안\s*나)"
)
# A swap: "swap the vanilla for tonka", "replace oud with sandalwood", "바닐라 대신 통카로 바꿔 주세요".
_SWAP = re.compile(
    r"(?<![a-z])(?:swap|replace|switch|trade|exchange|change)(?: out)? (?P<out>.+?) (?:for|with|to|into) (?P<in>.+)"
)
_SWAP_KO = re.compile(
    r"(?P<out>\S+(?:\s+\S+){0,2})\s*(?:대신|말고|빼고)\s*(?P<in>\S+(?:\s+\S+){0,2}?)\s*(?:으로|로)(?:\s|$|[.,!?~])"
)
# Longer lasting ("hangs on longer", "gone by lunch", "오래가게", "금방 날아가요"): stronger, with more base.
_LONGER = re.compile(
    r"(?<![a-z])(?:long(?:er)?[- ]lasting|last(?:s|ing)? (?:longer|all day|longer on)|hang(?:s|ing)? (?:on|around)|"
    r"stay(?:s|ing)? (?:power|longer|on)|longevity|gone by|fades? (?:too |so )?(?:fast|quick|quickly|away)|"
    r"doesn'?t last|won'?t last|disappears? (?:fast|quick)|all day|stick(?:s|ing)? around|staying power)(?![a-z])|"
    r"오래\s*(?:가게|가도록|남게|남도록|지속되게|유지되게|갔으면|남았으면|가는\s*(?:걸로|쪽으로))|"
    r"지속(?:력|\s*시간)\S*\s*(?:좀|을|를)?\s*(?:높|늘|올|키|좋게|길게|강하게|보강)|"
    r"(?:금방|빨리|너무\s*빨리)\s*(?:날아|사라|없어|휘발|꺼져)|잔향\S*\s*(?:좀|을|이)?\s*(?:길게|오래)"
)
# Directions. A complaint says it too: "the pear's getting lost" asks for more pear, "too sweet" for less.
_MORE_WORDS = re.compile(
    r"(?<![a-z])(?:more|moar|mroe|moer|extra|add|adding|throw in|put in|include|a (?:dash|touch|hint|splash) of|"
    r"beef(?:ed)? up|crank(?:ed)?(?: (?:it|that|this|them))? up|turn(?: (?:it|that))? up|"
    r"dial(?: (?:it|that))? up|amp(?:ed)?(?: (?:it|that))? up|pump(?:ed)?(?: (?:it|that))? up|"
    r"punch(?: (?:it|that))? up|"
    r"bump(?:ed)?(?: (?:it|that))? up|juice (?:it|that) up|boost|heighten|highlight|emphasi[sz]e|accentuate|"
    r"bring out|bring (?:it|that) out|play up|up the|amplify|intensify|enhance|push|stronger on|heavier on|"
    r"bigger|louder|star|hero|spotlight|showcase|stand out|pop|shine|lift|kick|load(?:ed)? up|double|"
    r"getting lost|gets? lost|lost|buried|drowned(?: out)?|"
    r"can'?t (?:really |even )?(?:smell|notice|pick out|find|tell)|"
    r"barely (?:there|smell|notice)|hard to (?:smell|notice|pick out)|disappear(?:s|ed|ing)?|not enough|"
    r"too (?:faint|weak|quiet|subtle)|"
    r"missing|needs?|flat|dull|boring|bland|thin|weak|lifeless|meh)(?![a-z])|"
    r"더|살려|살리|살아나|키워|키우|강조|돋보|부각|올려|올리|높여|높이|늘려|늘리|보강|듬뿍|팍팍|왕창|확\s|많이|추가|"
    r"넣어|묻혀|묻히|묻혔|안\s*느껴|잘\s*안\s*(?:느껴|나|맡)|안\s*나|약해(?!지게)|약하다|약한\s*(?:것|듯|편)|부족|"
    r"쪽으로|방향으로|위주로|계열로|존재감|사라져|사라지|죽어|아쉬|띄워|띄우|세워|밋밋|심심|단조|싱거|허전|빈약|채워|채우|묵직|무겁게|풍성|풍부|진하게|"
    r"(?<![a-z])(?:heavier|richer|denser|thicker|fuller)(?![a-z])"
)
_LESS_WORDS = re.compile(
    r"(?<![a-z])(?:less|fewer|down|(?:tone|dial|turn|take|bring|knock|calm|scale|pull|cut|ease)(?: [a-z']+){0,4}? "
    r"(?:back|off)|back off|tame|mute|reduce|lower|lessen|soften|go easy|lighter on|softer on|quieter|"
    r"too (?:much|strong|loud|heavy|intense|sweet|sharp|powerful|harsh|cloying|dominant)|overpower\w*|overwhelm\w*|"
    r"a bit much|way too|low|to a minimum|minimal|dominat(?:es|ing)|overshadow\w*|drowning|drowns|takes over|"
    r"taking over|smaller|subtler|"
    r"not so much)(?![a-z])|"
    r"덜|줄여|줄이|줄었|낮춰|낮추|약하게|적게|죽여|죽이|눌러|누그러|가라앉|과해|과하|너무\s*(?:세|강|진|많|튀|두드러|달|쎄)|"
    r"튀어|튀는|거슬|부담|은은하게|살짝만"
)
_WITHOUT_WORDS = re.compile(
    r"(?<![a-z])(?:no|without|remove|drop|ditch|lose|nix|zero|skip|scrap|kill|axe|cut out|take (?:out|away)|"
    r"leave out|leave (?:it|that|them) out|get rid of|rid of|not even|none|eliminate|exclude)(?![a-z])|"
    r"빼|뺄|없이|제외|없애|없는|말고|날려|싹\s*다|몽땅|전부\s*다|하나도"
)
# A message's clauses, each with its own direction ("핑크페퍼는 살짝 줄이고 카다멈을 더 살려 주세요").
_EDIT_CLAUSE = re.compile(
    r"[.,;!?()\n]|(?<![a-z])(?:and|but|while|plus|also|then)(?![a-z])|(?<=[가-힣])(?:고|며|면서|지만|는데|되)\s|"
    r"그리고|그런데|근데|하지만|대신"
)
# "It" with nothing else named: the note changed last ("crank it up a bit" after "more pear").
_IT = re.compile(
    r"(?<![a-z])(?:crank|turn|pump|amp|dial|bump|punch|juice|bring|play|boost|push|beef)(?:ed)? (?:it|that|this)"
    r"(?: (?:up|out))?(?![a-z])|(?<![a-z])more of (?:it|that|this)(?![a-z])|"
    r"(?:그거|그\s*향|그\s*노트|이거|걔)\S*\s*(?:좀|조금|살짝)?\s*(?:더|살려|키워|올려|늘려)"
)
# A clause that goes the way of the one before ("..., and the leather too", "..., 머스크도요").
_ALSO = re.compile(
    r"(?<![a-z])(?:too|also|as well|either|neither|nor|plus)(?![a-z])|[가-힣]도(?:\s|$|요)|까지|마저|역시"
)
# A clause whose object is the note of the clause before: a pronoun, or Korean, which leaves it unsaid.
_OBJECT_LEFT = re.compile(r"(?<![a-z])(?:it|them|that|this one)(?![a-z])|[가-힣]")
# "Don't remove the rose, just tone it down", "장미는 빼지 말고": what a clause keeps is no change of it.
_KEEP = re.compile(
    r"(?<![a-z])(?:(?:don'?t|do not|never|no need to|without) (?:remove|drop|ditch|lose|take (?:out|away)|cut)|"
    r"keep (?:the|that|those|this|my)(?![a-z])(?![^,.;]*(?:free|out|away|off|to a minimum|low))|"
    r"keep (?:it|them) (?:in|as (?:it|they) (?:is|are)|there)|leave (?:the|that|those) \w+ (?:in|alone|as))(?![a-z])|"
    r"빼지\s*(?:말|마)|없애지\s*(?:말|마)|남겨|그대로|유지"
)
# A concentration however it is written ("오 드 뚜왈렛", "오드투왈렛", "eau de toilette", "코롱 정도로").
_CONCENTRATION_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("EDP", r"(?<![a-z])(?:eau de parfum|edp)(?![a-z])|오\s*드\s*(?:퍼퓸|파르펭|파르팽|퍼품)"),
        (
            "EDT",
            r"(?<![a-z])(?:eau de toilette|toilette|edt)(?![a-z])|"
            r"(?:오\s*드\s*)?(?:뚜|투|트|토)\s*왈렛|(?:오\s*드\s*)?토일렛",
        ),
        (
            "EDC",
            r"(?<![a-z])(?:eau de cologne|edc|cologne (?:strength|concentration|level))(?![a-z])|"
            r"오\s*드\s*코롱|코롱\s*(?:으로|정도|수준|농도|급|처럼)",
        ),
        ("Extrait", r"(?<![a-z])(?:extrait(?: de parfum)?|pure parfum)(?![a-z])|엑스트레|엑스트레이트|엑스트라잇"),
        ("Parfum", r"(?<![a-z])(?<!eau de )parfum(?![a-z])|(?<!드\s)(?<!드)퍼퓸"),
    )
)
_NOT_THIS = re.compile(r"^\s*(?:말고|대신|아니고|에서|보다)|^\s*(?:→|->)")
_NOT_THAT_BEFORE = re.compile(r"(?:instead of|rather than|from|not an?|not)\s*$")
# "Lower the concentration" / "농도 좀 높여 주세요" with no concentration named: a step down (up).
_STEP_DOWN = re.compile(
    r"(?:concentration|strength|dilut\w*)\W+(?:\w+\W+)?(?:down|lower)|(?:lower|reduce|weaker|dilute)\W+(?:\w+\W+)?concentration|"
    r"농도\S*\s*(?:를|을|는|좀|조금|살짝|한\s*단계)?\s*(?:낮|내려|줄|약하|연하|묽)|(?:묽게|연하게)"
)
_STEP_UP = re.compile(
    r"(?:concentration|strength)\W+(?:\w+\W+)?(?:up|higher)|"
    r"(?:raise|increase|higher|bump up)\W+(?:\w+\W+)?concentration|"
    r"농도\S*\s*(?:를|을|는|좀|조금|살짝|한\s*단계)?\s*(?:높|올려|올리|진하|세게)"
)


def concentration_in(text: str) -> str | None:
    """The concentration `text` asks for, however written; of several, the last not set aside ("EDP 말고
    오 드 뚜왈렛으로", "from EDP to EDT"). A longer name holds the shorter inside it ("extrait de parfum")."""
    folded = text.lower()
    spans: list[tuple[int, int, str]] = []
    for name, pattern in _CONCENTRATION_WORDS:
        for m in pattern.finditer(folded):
            if any(start < m.end() and m.start() < end for start, end, _ in spans):
                continue
            spans.append((m.start(), m.end(), name))
    kept = [
        (start, name)
        for start, end, name in spans
        if not _NOT_THIS.match(folded[end : end + 8])
        and not _NOT_THAT_BEFORE.search(folded[max(0, start - 14) : start])
    ]
    return max(kept)[1] if kept else None


def _direction(clause: str) -> str | None:
    """The one way a clause points: kept as it is, taken out, less, more; None when it points nowhere."""
    if _KEEP.search(clause):
        return "keep"
    if _WITHOUT_WORDS.search(clause) or _WITHOUT_CUE.search(clause):
        return "without"
    if _LESS_WORDS.search(clause) or _LESS_CUE.search(_LIGHT_CUE.sub(" ", clause)):
        return "less"
    if _MORE_WORDS.search(clause) or _MORE_CUE.search(_STRONG_CUE.sub(" ", clause)):
        return "more"
    return None


def _targets(clause: str) -> tuple[list[str], list[str]]:
    """The notes and accords a clause names (the lexicon's, and the qualities above), and its layers."""
    parsed = _parser().parse(clause)
    named = [*parsed.notes, *parsed.accords, *parsed.exclude_notes, *parsed.exclude_accords]
    for pattern, accords in _QUALITIES:
        if pattern.search(clause):
            named += list(accords)
    layers = [layer for layer, pattern in _LAYERS.items() if pattern.search(clause)]
    return list(dict.fromkeys(named)), layers


def read_change(slots: dict[str, Any], text: str, brief: dict[str, Any] | None = None) -> FormulaEdit:
    """The change a message asks of the formula in focus: what the slot reader read, and what each clause
    names given the direction that clause gives it (its cue words, or a complaint: "the pear's getting
    lost" is more pear, "too sweet" less sweet), the layer it names ("more sparkle up top": the top, and
    fresher), a longer life ("hangs on longer": stronger, more base), a concentration however it is
    written, and the strength a change asks for ("beast mode", "무게감을 덜어 줘") when it named none.
    `brief`: the formula's, so that "it" is the note changed last and a quality never brings back a
    family taken out before."""
    edit = FormulaEdit.from_slots(slots)
    folded = text.lower()
    if edit.concentration is None:
        edit.concentration = concentration_in(text)
    if _NOT_A_CHANGE.search(folded) and not _CHANGE.search(folded):
        return edit
    brief = brief or {}
    kept_out = {str(v).lower() for v in brief.get("disliked_notes") or []}
    directed = {v.lower() for v in (*edit.more, *edit.less, *edit.without)}
    slot_named = [
        v for v in (*(slots.get("liked_notes") or []), *(slots.get("accords") or [])) if v.lower() not in directed
    ]
    slot_named = list(dict.fromkeys(slot_named))
    placed: set[str] = set()
    pointed: list[str] = []
    refers_back = False
    idle: set[str] = set()
    before: list[str] = []  # what the clause before named: "장미는 빼지 말고 조금만 줄여 주세요"
    # "Swap the vanilla for tonka", "바닐라 대신 통카로": the one out, the other in.
    swap = _SWAP.search(folded) or _SWAP_KO.search(folded)
    if swap:
        for group, side in (("out", "without"), ("in", "more")):
            for value in _targets(swap.group(group))[0]:
                if value.lower() not in placed | directed:
                    getattr(edit, side).append(value)
                    placed.add(value.lower())
        pointed.append("more")
    for clause in _EDIT_CLAUSE.split(_CONCENTRATION_FREE.sub(" ", folded)):
        if not clause or not clause.strip():
            continue
        direction = _direction(clause)
        if direction is None:
            # A quality asked for with no more or less ("make it warmer", "탑을 밝게 띄워", "포근하게요") is more of it.
            qualities = [a for pattern, accords in _QUALITIES if _asked(pattern, clause) for a in accords]
            if qualities:
                direction, named = "more", list(dict.fromkeys(qualities))
                layers = [layer for layer, pattern in _LAYERS.items() if pattern.search(clause)]
            elif pointed and (_ALSO.search(clause) or len(clause.split()) <= 2):  # "ditch the oud, and the leather too"
                direction = pointed[-1]
                named, layers = _targets(clause)
            else:
                idle.update(v.lower() for v in _targets(clause)[0])  # named, and given no direction
                continue
        else:
            named, layers = _targets(clause)
        if direction == "keep":  # "keep the rose" (or "rose는 빼지 말고"): it stays as it is
            for value in named:
                for kind in (edit.without, edit.less, edit.more):
                    if value in kind:
                        kind.remove(value)
                placed.add(value.lower())
                directed.discard(value.lower())
            before = named
            continue
        if not named and not layers and before and direction in ("more", "less") and _OBJECT_LEFT.search(clause):
            named = before  # "don't remove the rose, just tone it down": it is the rose
            placed -= {v.lower() for v in named}
        pointed.append(direction)
        target_list = getattr(edit, direction)
        for value in named:
            key = value.lower()
            if key in directed or key in placed:
                continue
            if key in kept_out and value not in slot_named:  # a quality never brings back what was taken out
                continue
            target_list.append(value)
            placed.add(key)
        if direction in ("more", "less"):
            for layer in layers:
                token = f"{LAYER_PREFIX}{layer}"
                if token not in target_list:
                    target_list.append(token)
            if not named and not layers and direction == "more" and _IT.search(clause):
                refers_back = True
        before = named or before
        if direction == "less" and not _WITHOUT_WORDS.search(clause):
            # "덜 달고": less of it, however the slot reader took it
            for value in named:
                if value in edit.without:
                    edit.without.remove(value)
                    edit.less.append(value)
    # "The clove makes me itchy", "코코넛 향 맡으면 머리 아파요": a reaction takes the note out.
    for value in disliked_in(text):
        if value.lower() not in placed | directed:
            edit.without.append(value)
            placed.add(value.lower())
    # "Crank it up a bit" naming nothing: the note changed last.
    last = [n for n in brief.get("more_notes") or [] if not str(n).startswith(LAYER_PREFIX)]
    if refers_back and last and not (placed or edit.more or edit.less or edit.without):
        edit.more.append(last[-1])
    # A named note no clause placed goes the way of the change already read ("no musks ... not even the
    # white musk stuff"), else the one way the message points.
    rest = [v for v in slot_named if v.lower() not in placed | idle]
    if rest:
        ways = list(dict.fromkeys(pointed))
        way = "without" if edit.without and "without" in pointed and not edit.more else None
        way = way or (ways[0] if len(ways) == 1 else None)
        if way:
            getattr(edit, way).extend(rest)
    # "Hangs on longer", "오래가게": stronger (more base); else the strength a change asks for.
    if edit.intensity is None:
        if _LONGER.search(folded):  # stronger is more base already; past strong, a richer concentration
            edit.intensity = "strong"
        elif _LIGHT_CUE.search(folded) or (_TOO_LOUD.search(folded) and not (edit.more or edit.less or edit.without)):
            edit.intensity = "light"
        elif _TOO_FAINT.search(folded) and not (edit.more or edit.less or edit.without):
            edit.intensity = "strong"  # "it's too faint", "향이 너무 약해요": the whole of it
        elif _STRONG_CUE.search(folded) or (
            {"strong", "enormous"} & set(slots.get("sillage") or []) and not (edit.less or edit.without)
        ):
            edit.intensity = "strong"
    if edit.concentration is None and not edit.step:
        edit.step = -1 if _STEP_DOWN.search(folded) else 1 if _STEP_UP.search(folded) else 0
    edit.more = [v for v in edit.more if v.lower() not in {w.lower() for w in edit.without}]
    edit.more, edit.less, edit.without = (_once(edit.more), _once(edit.less), _once(edit.without))
    return edit


def _once(values: list[str]) -> list[str]:
    """Each value once, whatever its case ("Vanilla" read twice, or "Patchouli" and "patchouli")."""
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.lower(), value)
    return list(seen.values())


# A quality asked for: an English comparative ("warmer", "cleaner"), a Korean adverb ("포근하게", "밝게 띄워").
_ASKED_AFTER = re.compile(
    r"[가-힣]{0,3}게|[가-힣]{0,2}\s*(?:띄워|살려|만들어|바꿔)|(?: (?:it|things|this|that))? up(?![a-z])"
)


def _asked(pattern: re.Pattern[str], clause: str) -> bool:
    """Whether the clause asks for the quality `pattern` names rather than merely naming it."""
    return any(
        m.group(0).endswith(("er", "en")) or _ASKED_AFTER.match(clause, m.end()) or _CHANGE.search(clause)
        for m in pattern.finditer(clause)
    )


# Concentration words are not notes ("parfum" is no note to add more of).
_CONCENTRATION_FREE = re.compile("|".join(p.pattern for _, p in _CONCENTRATION_WORDS) + r"|농도|concentration")


# A dislike said beside a request ("my wife despises patchouli btw", "단 냄새는 질색이에요"): the notes and
# families of the clause that says it are kept out of what is made, whatever else the clause names.
_DISLIKE = re.compile(
    r"(?<![a-z])(?:despises?|hates?|hated|(?:don'?t|doesn'?t|do not|does not) (?:like|love|want|enjoy)|"
    r"can'?t stand|cannot stand|dislikes?|allergic|not a fan of|"
    r"isn'?t a fan of|is not into|not into|no fan of|gags? on|can'?t do|sick of|avoid|keep \w+(?: \w+)? out|"
    r"keep (?:it|them) out|keep out|leave out|leave \w+ out|none of|no trace of)(?![a-z])|"
    r"싫어|싫은|질색|별로|못\s*견|알레르기|안\s*맞|"
    # A reaction said of a smell is a dislike too ("clove makes my skin itchy", "코코넛 냄새 맡으면 속이 울렁거려요").
    r"(?<![a-z])(?:makes? me (?:sneeze|itch|itchy|sick|nauseous|gag|queasy|dizzy|cough)|"
    r"(?:makes?|turns?) my (?:skin|nose|stomach|eyes?|head)|gives? me (?:a )?(?:headaches?|migraines?|hives|rash)|"
    r"headaches?|migraines?|nause\w*|queasy|itchy|itches|rash|hives|sneez\w*|gag\w*|allerg\w*|"
    r"(?:smells?|reminds? me) (?:like|of) (?:sunscreen|suncream|medicine|cleaning|old lad\w+|grandma|bug spray|"
    r"cough syrup|hospital|the dentist|air freshener|toilet|bathroom|mothballs?|chemicals?|cheap)|ugh|"
    r"can'?t (?:handle|bear|take)|(?:hate|loathe|detest)s?|ew+|yuck|gross|triggers?)(?![a-z])|"
    r"알러지|알레르|머리\s*아|두통|속이\s*(?:울렁|메스|안\s*좋)|울렁|메스꺼|토할|구역|어지러|재채기|가려|간지러|"
    r"두드러기|트러블|역해|역겨|못\s*맡|거북|불편|힘들어|안\s*받|극혐|노노|싫"
)
_CLAUSE = re.compile(
    r"[.,;!?()]|(?<![a-z])(?:btw|but|and|though|tho|however|so|because|since|cuz|bc)(?![a-z])|그런데|근데|하지만|인데|"
    r"(?<=[가-힣])(?:고|며|면서|지만|는데|니까|서)\s"
)


@lru_cache(maxsize=1)
def _parser() -> Any:
    from tools.search.lexicon import default_lexicon
    from tools.search.query import QueryParser

    return QueryParser(default_lexicon(), None)


# A reaction wished away, not a dislike ("a light floral that won't give me a headache", "머리 안 아픈 향").
_NO_REACTION = re.compile(
    r"(?<![a-z])(?:won'?t|wouldn'?t|doesn'?t|don'?t|does not|do not|will not|not|never|without|no|less)\s+"
    r"(?:[a-z']+\s+){0,3}?(?:give|make|trigger|cause|headache|sneez|itch|nause)|"
    r"(?:안|없는|없게|않는|않게|덜)\s*\S{0,4}\s*(?:두통|머리|울렁|아픈|아프)|(?:두통|머리\s*아프|울렁거리)\S*\s*(?:지\s*않|안\s|없)"
)


def disliked_in(text: str) -> list[str]:
    """The notes and families named in the clauses of `text` that say a dislike."""
    found: list[str] = []
    for clause in _CLAUSE.split(text.lower()):
        if clause and _DISLIKE.search(clause) and not _NO_REACTION.search(clause):
            parsed = _parser().parse(clause)
            found += [*parsed.notes, *parsed.accords, *parsed.exclude_notes, *parsed.exclude_accords]
            found += [a for pattern, accords in _FAMILY_QUALITIES if pattern.search(clause) for a in accords]
    return list(dict.fromkeys(found))


def families_in(words: list[str]) -> list[str]:
    """The words that name a family (an accord and no note: "warm spicy", "sweet", "citrus"), which a
    customer's profile keeps as a disliked accord rather than a note."""
    out = []
    for word in words:
        parsed = _parser().parse(word)
        if parsed.accords and not parsed.notes:
            out.append(word)
    return out


def edit_requested(intent: str, slots: dict[str, Any], text: str, formula: dict[str, Any] | None) -> FormulaEdit | None:
    """The change this turn asks of the formula in focus, or None when it asks something else.

    With a formula just composed, a turn that says what to change ("more rose", "no musk", "lighter",
    "EDT") changes it, whatever the intent role made of a message that short; a turn that asks for
    catalog perfumes ("시판 향수 중에도 비슷한 거") or for a new formula ("another one, woody this
    time") does not, and neither does one with nothing to change.
    """
    if not formula:
        return None
    edit = read_change(slots, text, formula.get("brief") or {})
    if not edit:
        return None
    if intent == "compare" or slots.get("perfumes") or (intent == "handoff" and _PERSON.search(text)):
        return None
    if _SHOP.search(text.lower()) and not _CHANGE.search(text.lower()):
        return None
    if (slots.get("budget") or {}).get("max"):  # "something warmer under 100k?": a price is for buying
        return None
    if _CHOOSING.search(text):  # "which of those is the most subtle?" asks about perfumes shown
        return None
    if _MORE_ABOUT.search(text.lower()):  # "tell me more about vetiver" asks about a note
        return None
    # "여기에 오크모스 0.05% 넣어도 돼요?" asks about the rules for a material; "swap the oakmoss for something
    # that's not restricted" is a change, the rules word describing what comes in.
    folded = text.lower()
    if _RULES.search(folded) and not (_SWAP.search(folded) or _SWAP_KO.search(folded)):
        return None
    if intent == "compose" and _NEW.search(text.lower()):
        return None
    return edit


def apply_edit(request: dict[str, Any], edit: FormulaEdit) -> dict[str, Any]:
    """The compose_formula arguments of the formula in focus with the change made.

    Changes add up over turns: a note taken out stays out when the concentration changes next.
    "Lighter" of a light formula (or "stronger" of a strong one) moves the concentration a step.
    """
    changed = dict(request)
    lowered = {w.lower() for w in edit.without}
    liked = [n for n in changed.get("liked_notes") or [] if n.lower() not in lowered]
    disliked = list(dict.fromkeys([*(changed.get("disliked_notes") or []), *edit.without]))
    more = [n for n in changed.get("more_notes") or [] if n.lower() not in lowered | {w.lower() for w in edit.less}]
    less = [n for n in changed.get("less_notes") or [] if n.lower() not in {w.lower() for w in edit.more}]
    more = list(dict.fromkeys([*more, *(n for n in edit.more if n.lower() not in lowered)]))
    less = list(dict.fromkeys([*less, *(n for n in edit.less if n.lower() not in lowered)]))
    disliked = [n for n in disliked if n.lower() not in {m.lower() for m in edit.more}]
    changed |= {"liked_notes": liked, "disliked_notes": disliked, "more_notes": more, "less_notes": less}
    concentration = edit.concentration
    if edit.intensity:
        current = str(changed.get("intensity") or "moderate")
        if edit.intensity == current and not concentration:
            concentration = _step(str(changed.get("concentration") or "EDP"), -1 if current == "light" else 1)
        changed["intensity"] = edit.intensity
    if not concentration and edit.step:
        concentration = _step(str(changed.get("concentration") or "EDP"), edit.step)
    if concentration:
        changed["concentration"] = concentration
    return changed


def _step(concentration: str, direction: int) -> str:
    names = [c.lower() for c in CONCENTRATION_STEPS]
    key = {"extrait": "parfum"}.get(concentration.lower(), concentration.lower())
    if key not in names:
        return concentration
    return CONCENTRATION_STEPS[min(len(names) - 1, max(0, names.index(key) + direction))]


# -- the reply: what changed -------------------------------------------------------------------------
_INTENSITY_KO = {"light": "가벼운", "moderate": "적당한", "strong": "진한"}
MAX_LINES = 4  # materials named per kind of change


def render_changes(changes: dict[str, Any], language: str) -> str:
    """What changed in the formula, in the customer's language: materials raised and lowered (with
    both amounts), added and removed, and the concentration and intensity; or that the change found
    nothing to change (a note taken out that was not in it)."""
    ko = language == "ko"

    def name(line: dict[str, Any]) -> str:
        return str((line.get("korean_name") if ko else None) or line["name"])

    def moved(lines: list[dict[str, Any]]) -> str:
        return ", ".join(f"{name(x)} {x['before']:.2f} → {x['after']:.2f} %" for x in lines[:MAX_LINES])

    def listed(lines: list[dict[str, Any]], key: str) -> str:
        return ", ".join(f"{name(x)} ({x[key]:.2f} %)" for x in lines[:MAX_LINES])

    if changes.get("unchanged"):
        return render("service", language, "compose_unchanged")
    items = []
    for kind, text in (
        ("raised", moved(changes.get("raised") or [])),
        ("lowered", moved(changes.get("lowered") or [])),
        ("added", listed(changes.get("added") or [], "after")),
        ("removed", listed(changes.get("removed") or [], "before")),
    ):
        if text:
            items.append(render("service", language, f"compose_change_{kind}", lines=text))
    for kind in ("concentration", "intensity"):
        change = changes.get(kind)
        if change:
            before, after = str(change.get("before") or "-"), str(change.get("after") or "-")
            if ko and kind == "intensity":
                before, after = _INTENSITY_KO.get(before, before), _INTENSITY_KO.get(after, after)
            items.append(render("service", language, f"compose_change_{kind}", before=before, after=after))
    return render("service", language, "compose_changes", items="; ".join(items))
