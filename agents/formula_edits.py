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

# Weakest first: "lighter" past a light formula steps the concentration down, "stronger" up.
CONCENTRATION_STEPS = ("EDC", "EDT", "EDP", "Parfum")
# A request for catalog perfumes, not for a change of the formula ("시판 향수 중에 비슷한 거", "show
# me perfumes without musk"): the turn searches the shop.
_SHOP = re.compile(
    r"(?<![a-z])(?:perfumes?|fragrances?|colognes?|products?|bottles?|brands?|in stock|buy|shop|store|"
    r"on the market|commercial|recommend|show me|find me)(?![a-z])|향수|제품|시판|판매|파는|살 수|매장|브랜드|추천|보여"
)
# Asking for a formula of its own ("another one", "a new formula", "처음부터 다시").
_NEW = re.compile(
    r"(?<![a-z])(?:new|another|different|fresh start|from scratch|second)(?![a-z])|"
    r"새로|새 |다른|처음부터|하나 더|또 하나"
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

    def __bool__(self) -> bool:
        return bool(self.more or self.less or self.without or self.intensity or self.concentration)

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
        fields |= {"intensity": self.intensity, "concentration": self.concentration}
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
    r"(?<![a-z])(?:less|fewer|down|back off|ease (?:up|off)|tone|tame|mute|reduce|lower|notch|softer on|"
    r"go easy|lighter on|cut back|scale back|pull back)(?![a-z])|덜|줄여|줄이|약하게|적게|낮춰|낮추|죽여"
)
_WITHOUT_CUE = re.compile(
    r"(?<![a-z])(?:no|without|remove|drop|ditch|lose|nix|zero|skip|take out|leave out|get rid of|cut out|"
    r"not even|none)(?![a-z])|빼|없이|제외|없애|없는|말고|싹\s*다"
)
_STRONG_CUE = re.compile(
    r"beast ?mode|projection|projecting|sillage|louder|bolder|stronger|powerful|punchier|monster|nuclear|"
    r"last(?:s|ing)? longer|longer[- ]lasting|more (?:intense|presence|power|performance|longevity|oomph)|"
    r"진하게|강하게|세게|확산|존재감|오래\s*가|잔향\s*길|묵직하게"
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


_MORE_ABOUT = re.compile(
    r"(?<![a-z])(?:tell|know|learn|hear|read|say|explain)(?: me| us)?(?: a (?:bit|little))? more about"
)


def read_change(slots: dict[str, Any], text: str) -> FormulaEdit:
    """The change a message asks of the formula in focus: what the slot reader read, and the notes and
    families it only saw named, given the direction the message's cue words give them (when they give
    one direction: "more X, no Y" is read by the slot reader itself), and the strength a change asks for
    ("beast mode", "무게감을 덜어 줘") when it named none."""
    edit = FormulaEdit.from_slots(slots)
    folded = text.lower()
    if _NOT_A_CHANGE.search(folded) and not _CHANGE.search(folded):
        return edit
    directed = {v.lower() for v in (*edit.more, *edit.less, *edit.without)}
    named = [v for v in (*(slots.get("liked_notes") or []), *(slots.get("accords") or [])) if v.lower() not in directed]
    named = list(dict.fromkeys(named))
    cues = {
        "without": bool(_WITHOUT_CUE.search(folded)),
        "less": bool(_LESS_CUE.search(_LIGHT_CUE.sub(" ", folded))),
        "more": bool(_MORE_CUE.search(_STRONG_CUE.sub(" ", folded))),
    }
    # A named note goes the way of the change already read ("no musks ... not even the white musk stuff"),
    # else the one way the cues point.
    if edit.without and cues["without"] and not edit.more:
        direction: str | None = "without"
    else:
        pointed = [k for k, on in cues.items() if on]
        direction = pointed[0] if len(pointed) == 1 else None
    if named and direction:
        getattr(edit, direction).extend(named)
    if edit.intensity is None:
        if _LIGHT_CUE.search(folded):
            edit.intensity = "light"
        elif _STRONG_CUE.search(folded) or {"strong", "enormous"} & set(slots.get("sillage") or []):
            edit.intensity = "strong"
    return edit


# A dislike said beside a request ("my wife despises patchouli btw", "단 냄새는 질색이에요"): the notes and
# families of the clause that says it are kept out of what is made, whatever else the clause names.
_DISLIKE = re.compile(
    r"(?<![a-z])(?:despises?|hates?|hated|(?:don'?t|doesn'?t|do not|does not) (?:like|love|want|enjoy)|"
    r"can'?t stand|cannot stand|dislikes?|allergic|not a fan of|"
    r"isn'?t a fan of|is not into|not into|no fan of|gags? on|can'?t do|sick of|avoid)(?![a-z])|"
    r"싫어|싫은|질색|별로|못\s*견|알레르기|안\s*맞"
)
_CLAUSE = re.compile(r"[.,;!?()]|(?<![a-z])(?:btw|but|and|though|tho|however)(?![a-z])|그런데|근데|하지만|인데")


@lru_cache(maxsize=1)
def _parser() -> Any:
    from tools.search.lexicon import default_lexicon
    from tools.search.query import QueryParser

    return QueryParser(default_lexicon(), None)


def disliked_in(text: str) -> list[str]:
    """The notes and families named in the clauses of `text` that say a dislike."""
    found: list[str] = []
    for clause in _CLAUSE.split(text.lower()):
        if clause and _DISLIKE.search(clause):
            parsed = _parser().parse(clause)
            found += [*parsed.notes, *parsed.accords, *parsed.exclude_notes, *parsed.exclude_accords]
    return list(dict.fromkeys(found))


def edit_requested(intent: str, slots: dict[str, Any], text: str, formula: dict[str, Any] | None) -> FormulaEdit | None:
    """The change this turn asks of the formula in focus, or None when it asks something else.

    With a formula just composed, a turn that says what to change ("more rose", "no musk", "lighter",
    "EDT") changes it, whatever the intent role made of a message that short; a turn that asks for
    catalog perfumes ("시판 향수 중에도 비슷한 거") or for a new formula ("another one, woody this
    time") does not, and neither does one with nothing to change.
    """
    if not formula:
        return None
    edit = read_change(slots, text)
    if not edit:
        return None
    if intent == "compare" or slots.get("perfumes") or (intent == "handoff" and _PERSON.search(text)):
        return None
    if _SHOP.search(text.lower()) and not _CHANGE.search(text.lower()):
        return None
    if _CHOOSING.search(text):  # "which of those is the most subtle?" asks about perfumes shown
        return None
    if _MORE_ABOUT.search(text.lower()):  # "tell me more about vetiver" asks about a note
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
