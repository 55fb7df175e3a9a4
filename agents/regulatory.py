"""Direct questions about the rules for a material: "is 5% coumarin OK in an EDP?", "메틸 유제놀
넣어도 되나요?", "how much oakmoss can I put in a chypre?", "Is Lyral still allowed?", and the
follow-ups about the material just answered about: "what about 1%?", "그럼 몇 %까지 넣을 수 있어요?",
"그럼 대신 뭘 쓰면 돼요?".

`read_question` turns such a message into the arguments of the lookup_material tool (the amount,
the concentration, whether the amount is of the product or of the concentrate); the tool answers
from the IFRA and EU tables (tools/perfumery/usage.py). A message that names a material without
asking about its use stays a question about the material ("쿠마린이 뭐예요?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from prompts import render
from tools.perfumery.materials import load_materials
from tools.perfumery.regulation import STARTER_ALLERGENS, load_allergens
from tools.perfumery.usage import regulated_names
from tools.search.lexicon import default_lexicon
from tools.search.transliterate import Transliterator

# Asking whether (or how much) a material may be used.
_ASKS_USE = re.compile(
    r"(?<![a-z])(?:ok|okay|allowed|permitted|legal|safe|compliant|fine|acceptable|can i|could i|may i|am i allowed|"
    r"is it possible|how much|how many percent|max(?:imum)?|limit|up to|restricted|banned|prohibited|"
    r"still allowed|ifra|regulation|rules?|the most|highest|how high|i can (?:use|put|add|go)|"
    r"can (?:go|use) up)(?![a-z])|"
    r"넣어도|써도|사용해도|쓸 수|넣을 수|사용할 수|괜찮|되나요|돼요|될까|되죠|되는지|가능|얼마나|"
    r"몇\s*%|몇\s*퍼|한도|최대|제한|규정|규제|금지|허용|기준|ifra|IFRA",
    re.IGNORECASE,
)
# Asking for something to use instead.
_ASKS_INSTEAD = re.compile(
    r"(?<![a-z])(?:instead|alternatives?|substitutes?|replacements?|replace it|swap (?:it|for)|what else|"
    r"what can i use|use in its place)(?![a-z])|"
    r"대신|대체|대용|바꿔\s*쓸|뭘\s*쓰면|무엇을\s*쓰면|뭐\s*쓰면|어떤\s*걸\s*쓰",
    re.IGNORECASE,
)
# Asking how much is allowed, without an amount of its own.
_ASKS_LIMIT = re.compile(
    r"(?<![a-z])(?:how much|how many percent|max(?:imum)?|limit|up to what|what percent(?:age)?|the most|highest|"
    r"how high)(?![a-z])|"
    r"얼마나|몇\s*%|몇\s*퍼|한도|최대|어디까지|얼마까지",
    re.IGNORECASE,
)
_PCT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent|퍼센트|프로)")
# A % that is the concentrate's share of the product, not an amount of the material: "a 20% EDP", "the
# concentrate at 20% in alcohol", "at that same 20% dilution", "부향률 15%", "15% 오드퍼퓸".
_DILUTION_AFTER = re.compile(
    r"^\s*(?:dilution|concentration|concentrate\b|strength|in (?:alcohol|ethanol)|알코올|희석|부향률|"
    r"edp|edt|edc|parfum|extrait|eau de \w+|오\s*드\s*\S+|오드\s*\S+|퍼퓸|향수로)",
    re.IGNORECASE,
)
_AMOUNT_AFTER = re.compile(
    r"^\s*(?:of|in) (?:the )?(?:finished |final )?(?:product|perfume|fragrance|formula|concentrate|oil|compound|blend)|"
    r"^\s*(?:\S{0,3}\s*)?(?:완제품|완성품|제품)",
    re.IGNORECASE,
)
_DILUTION_BEFORE = re.compile(
    r"(?:dilution|diluted (?:to|at)|concentrate (?:is |at |level (?:of |at )?)|concentration (?:of |at )?|"
    r"부향률(?:은|이|는|을)?(?:\s*그대로)?|희석(?:률|해서|하면)?)\s*(?:of |at |to )?$|"
    # "EDT 10%로요": a concentration's name right before the %, nothing between.
    r"(?:\b(?:edp|edt|edc)|오드\s*퍼퓸|오드\s*뚜왈렛)\s*$",
    re.IGNORECASE,
)
# The amount is of the concentrate (the oil, the compound), not of the perfume.
_OF_CONCENTRATE = re.compile(
    r"(?<![a-z])(?:of the (?:concentrate|oil|compound|blend|formula)|in the (?:concentrate|oil|compound|blend|formula)|"
    r"concentrate|compound|in my formula|of my formula)(?![a-z])|"
    r"농축|원액|컴파운드|향료\s*중|처방\s*(?:에서|중|안에)|배합\s*(?:에서|중)",
    re.IGNORECASE,
)
# A formula question ("이 배합 IFRA 기준에는 맞는 거죠?"): about the formula in focus, not a material.
_ABOUT_FORMULA = re.compile(
    r"(?<![a-z])(?:this|the|that|my) (?:formula|recipe|blend|composition)(?![a-z])|이\s*배합|이\s*처방|이\s*레시피|"
    r"그\s*배합|그\s*처방|그\s*레시피|이\s*조합",
    re.IGNORECASE,
)


# Asking for a formula ("sketch me a lily-of-the-valley accord using one of those instead", "그 대체 원료로
# 은방울꽃 어코드 하나 짜 주세요"): a composition, even right after a rules answer.
_COMPOSING = re.compile(
    r"(?<![a-z])(?:compose|sketch|formula for|make me|build me|put together|design|write me|whip up|create)"
    r"(?![a-z])|짜\s*주|짜 줘|만들어|조향해|레시피\s*(?:좀|하나|로)",
    re.IGNORECASE,
)
# A question that is plainly about the rules (not "괜찮아요?" about a perfume's fit): where a material is
# only recognised by how its Korean name sounds, the message must say this much.
_RULES_WORDS = re.compile(
    r"(?<![a-z])(?:ifra|allowed|permitted|legal|banned|prohibited|restricted|limit|regulat\w*|compliant)(?![a-z])|"
    r"ifra|규정|규제|한도|허용|금지|걸리|걸려|제한|기준",
    re.IGNORECASE,
)
# Shopping for a perfume ("something earthy like vetiver, $110 max"): a material word there is a note.
_SHOPPING = re.compile(
    r"(?<![a-z])(?:find|recommend|suggest|looking for|shopping|buy|gift|present)(?![a-z])|"
    r"추천|찾아|찾고|골라|보여|선물|살만한|사려고",
    re.IGNORECASE,
)
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
# Particles and endings a Korean noun carries in a question ("파네솔을", "시나밀 알코올은", "시나말이요").
_PARTICLE = re.compile(r"(?:이요|에요|예요|은|는|이|가|을|를|도|에|의|로|으로|요|만)$")
MIN_HEARD_RATIO = 0.9
MIN_HEARD_SYLLABLES = 3


@lru_cache(maxsize=1)
def _sounds_like() -> Transliterator:
    """Materials and regulated substances by how a Korean loanword of their name sounds: customers write
    파네솔 or 파르네솔, 시나밀 or 신나밀 알코올, and no list of spellings keeps up with them."""
    allergens = [a.name for a in load_allergens(STARTER_ALLERGENS)]
    # The materials' own spelling first ("Cinnamyl Alcohol", not the allergen list's "Cinnamyl alcohol"),
    # each name once whatever its case, in a fixed order: the same word is heard the same way every run.
    names: dict[str, str] = {}
    for name in [*(m.name for m in load_materials()), *sorted(regulated_names().values()), *allergens]:
        names.setdefault(name.casefold(), name)
    return Transliterator(dict.fromkeys(names.values(), 1))


def heard_material(text: str) -> str | None:
    """The material a Hangul word (or two: "시나밀 알코올") of `text` sounds like, or None."""
    words = [_PARTICLE.sub("", w) for w in _HANGUL_RUN.findall(text)]
    windows = [a + b for a, b in pairwise(words)] + words
    sounds = _sounds_like()
    for window in windows:
        if len(window) < MIN_HEARD_SYLLABLES:
            continue
        found = sounds.lookup(window)
        if found is not None and found[1] >= MIN_HEARD_RATIO:
            return found[0]
    return None


@dataclass(slots=True)
class MaterialQuestion:
    """A question about using one material: lookup_material's arguments."""

    name: str
    pct: float | None = None
    concentration: str | None = None
    basis: str = "product"
    limit: bool = False
    instead: bool = False
    dilution_pct: float | None = None

    def tool_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"name": self.name}
        if self.pct is not None or self.limit:
            args |= {"pct": self.pct, "concentration": self.concentration, "basis": self.basis, "limit": self.limit}
            if self.dilution_pct is not None:
                args["dilution_pct"] = self.dilution_pct
        if self.instead:
            args["instead"] = True
        return args


def read_question(text: str, slots: dict[str, Any], material_in_focus: str | None) -> MaterialQuestion | None:
    """The material question this message asks, or None.

    A material named with a question about its use ("5% coumarin OK?", "릴리알 써도 돼요?"); or, with a
    material just answered about, a follow-up naming an amount ("what about 1%?"), asking for the
    limit ("그럼 몇 %까지?") or for something to use instead ("what can I use instead?"). A message
    listing two or more formula lines is a formula to validate, not a question about one material.
    """
    named = list(slots.get("materials") or [])
    dilution, amounts = _amounts(text)
    # Formula lines, but for a dilution read as one ("부향률 15%"): two or more are a formula to validate.
    lines = [line for line in slots.get("formula_lines") or [] if dilution is None or line.get("pct") != dilution]
    # "Sketch me an accord with one of those" asks for a formula; "리랄 넣어서 향수 만들어도 되나요?" for leave.
    composing = bool(_COMPOSING.search(text)) and not _ASKS_USE.search(text)
    if len(lines) >= 2 or _ABOUT_FORMULA.search(text) or composing:
        return None
    asks_use = bool(_ASKS_USE.search(text))
    # A material named with an amount and asked ("and cinnamal at 1%?", "시나말 1%는요?"), or after a rules
    # answer: whether that much may be used, however the question is phrased.
    asks_amount = bool(amounts) and ("?" in text or material_in_focus is not None)
    if not amounts and not _RULES_WORDS.search(text) and (slots.get("budget") or _SHOPPING.search(text)):
        return None  # "something dry and earthy, like vetiver, $110 max": a perfume, not a rules question
    if not amounts and not _RULES_WORDS.search(text) and slots.get("disliked_notes"):
        return None  # "베티버 같은 건 조금이라도 들어가면 안 돼요": a dislike, not a question of leave
    if not named and (amounts or asks_use or _RULES_WORDS.search(text)):
        heard = heard_material(text)  # "파네솔을 0.1% 넣으려고 하는데 IFRA에 걸리나요?"
        named = [heard] if heard else []
    # After a rules answer, another material asked about ("and verbena oil for a lemony top note?").
    asks_next = bool(named) and material_in_focus is not None and "?" in text
    if named:
        if not (asks_use or asks_amount or asks_next or _ASKS_INSTEAD.search(text)):
            return None
        name = named[0]
    elif material_in_focus and (amounts or _ASKS_LIMIT.search(text) or _ASKS_INSTEAD.search(text)):
        name = material_in_focus
    else:
        return None
    if _ASKS_INSTEAD.search(text) and not amounts:
        return MaterialQuestion(name, concentration=slots.get("concentration"), limit=True, instead=True)
    return MaterialQuestion(
        name=name,
        pct=amounts[0] if amounts else None,
        concentration=slots.get("concentration"),
        basis="concentrate" if _OF_CONCENTRATE.search(text) else "product",
        limit=not amounts,
        dilution_pct=dilution,
    )


def _amounts(text: str) -> tuple[float | None, list[float]]:
    """The dilution the message gives (the concentrate's % of the product), and the amounts of the material."""
    dilution, amounts = None, []
    for m in _PCT.finditer(text):
        value = float(m.group(1))
        after = text[m.end() : m.end() + 30]
        if _AMOUNT_AFTER.match(after):  # "0.5% of the finished product": an amount, whatever came before
            amounts.append(value)
        elif dilution is None and (_DILUTION_AFTER.match(after) or
                                   _DILUTION_BEFORE.search(text[max(0, m.start() - 30) : m.start()])):  # fmt: skip
            dilution = value
        else:
            amounts.append(value)
    return dilution, amounts


def asks_about_formula(text: str) -> bool:
    """Whether the message asks whether the formula in focus meets the rules ("is this formula IFRA
    compliant?", "이 배합 IFRA 기준에는 맞는 거죠?")."""
    return bool(_ABOUT_FORMULA.search(text) or re.search(r"ifra|규정|기준|compliant|complies|allowed|안전", text, re.I))


# -- the answer, in the customer's language ---------------------------------------------------------
_CONCENTRATION_KO = {"EDP": "오드퍼퓸", "EDT": "오드뚜왈렛", "EDC": "오드코롱", "PARFUM": "퍼퓸", "EXTRAIT": "엑스트레"}
_REGULATION = re.compile(r"Regulation \((E[CU])\) (?:No\.? )?(\d+/\d+)")


def _n(value: float | None) -> str:
    """An amount as a person writes it: 1.5, 0.011, 8.33, 26.1."""
    return "-" if value is None else f"{value:.3g}" if value < 100 else f"{value:.0f}"


def render_use(info: dict[str, Any], language: str) -> str:
    """The answer to "may I use this much of it?": the verdict first (yes / no), then the IFRA limit in
    the finished product and the arithmetic from the concentrate, the label duty, and for a banned or
    over-limit material the compliant alternatives with the role each plays."""
    use = info["use"]
    ko = language == "ko"
    name = _shown_name(info, language)
    concentration = str(use.get("concentration") or "EDP").upper()
    values = {
        "name": name,
        "concentration": _CONCENTRATION_KO.get(concentration, concentration) if ko else concentration,
        "category": use.get("category") or "4",
        "dilution": _n(use.get("dilution_pct")),
        "amount": _n(use.get("asked_pct")),
        "product": _n(use.get("product_pct")),
        "concentrate": _n(use.get("concentrate_pct")),
        "limit": _n(use.get("limit_product_pct")),
        "limit_concentrate": _n(use.get("limit_concentrate_pct")),
        # The standard by its number and, in English, its name ("IFRA_STD_067 Oakmoss extracts": the
        # standard an oakmoss absolute is judged under); a Korean reply keeps to the number.
        "standard": " ".join(
            str(part) for part in (use.get("standard"), None if ko else use.get("standard_name")) if part
        ),
    }

    def t(key: str) -> str:
        return render("service", language, key, **values)

    parts: list[str] = []
    if use.get("prohibited"):
        parts.append(t("use_prohibited"))
        source = str(use.get("standard") or "")
        regulation = _REGULATION.search(source)
        if regulation:
            parts.append(render("service", language, "use_banned_eu", regulation=f"{regulation[1]} {regulation[2]}"))
        elif source:
            parts.append(t("use_banned_ifra"))
    elif use.get("asked_pct") is None:
        parts.append(t("use_limit") if use.get("limit_product_pct") is not None else t("use_unrestricted"))
    else:
        asked_of_product = use.get("basis") != "concentrate"
        if (use.get("concentrate_pct") or 0.0) > 100.0:
            parts.append(t("use_more_than_concentrate"))
        elif use.get("limit_product_pct") is None:
            parts.append(t("use_unrestricted"))
        else:
            verdict = "use_ok" if use.get("allowed") else "use_over"
            parts.append(t(verdict if asked_of_product else f"{verdict}_concentrate"))
            parts.append(t("use_arith_product" if asked_of_product else "use_arith_concentrate"))
    if any("IFRA standard specifies" in n for n in use.get("notes") or []):
        parts.append(render("service", language, "validate_specified_grade"))
    if use.get("allergen") and not use.get("prohibited"):
        parts.append(t("use_allergen"))
    options = info.get("substitutes") or []
    if options and (use.get("prohibited") or use.get("allowed") is False or info.get("asked_instead")):
        parts.append(
            render("service", language, "validate_substitutes", material=name, options=_options(options, language))
        )
    elif info.get("asked_instead"):
        parts.append(render("service", language, "use_no_substitutes", name=name))
    return " ".join(parts)


def _options(options: list[dict[str, Any]], language: str) -> str:
    """Compliant alternatives with the role each plays ("Florhydral (watery lily-of-the-valley aldehyde)");
    in Korean by their Korean and trade names (the table writes the roles in English)."""
    if language == "ko":  # a trade name stays as written beside its Korean name: 플로하이드랄(Florhydral)
        return ", ".join(_with_own_name(o["korean_name"], o["substitute"]) if o.get("korean_name") else o["substitute"]
                         for o in options[:4])  # fmt: skip
    return ", ".join(f"{o['substitute']} ({o['role']})" for o in options[:4])


def _shown_name(info: dict[str, Any], language: str) -> str:
    """The material as a reply names it: in Korean by its Korean name, with its own name beside it
    ("리랄(Lyral)", "메틸 유제놀(Methyl eugenol)") unless that name is made of English descriptive
    words a Korean reply translates ("Black Pepper Oil")."""
    name = str(info.get("name") or "")
    korean = info.get("korean_name")
    if language != "ko" or not korean or korean == name:
        return name
    return _with_own_name(str(korean), name)


def _with_own_name(korean: str, name: str) -> str:
    return korean if _descriptive(name) else f"{korean}({name})"


@lru_cache(maxsize=1)
def _descriptive_words() -> frozenset[str]:
    lexicon = default_lexicon()
    return frozenset(v.lower() for (kind, v) in lexicon.korean_names if kind in ("note", "accord") and len(v) >= 4)


def _descriptive(name: str) -> bool:
    """Whether `name` holds a note or accord word ("pepper", "cyclamen"): a Korean reply says those in Korean."""
    lowered = name.lower()
    return any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", lowered) for w in _descriptive_words() if w in lowered)


def render_rules(info: dict[str, Any], language: str) -> str:
    """lookup_material's result when it answers a question about use, or describes a regulated
    substance that is no material of the database (which has no odour profile to describe)."""
    if info.get("use"):
        return render_use(info, language)
    name = _shown_name(info, language)
    parts = []
    if not info.get("usable", True):
        parts.append(render("service", language, "use_prohibited", name=name))
    else:
        limits = [s for s in info.get("ifra") or [] if s.get("cat4_limit_pct") is not None]
        if limits:
            parts.append(
                render(
                    "service",
                    language,
                    "rules_limited",
                    name=name,
                    limit=_n(limits[0]["cat4_limit_pct"]),
                    standard=limits[0]["standard"],
                )
            )
    options = info.get("substitutes") or []
    if options:
        parts.append(
            render("service", language, "validate_substitutes", material=name, options=_options(options, language))
        )
    return " ".join(parts) or render("service", language, "material_missing")
