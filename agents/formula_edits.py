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


def edit_requested(intent: str, slots: dict[str, Any], text: str, formula: dict[str, Any] | None) -> FormulaEdit | None:
    """The change this turn asks of the formula in focus, or None when it asks something else.

    With a formula just composed, a turn that says what to change ("more rose", "no musk", "lighter",
    "EDT") changes it, whatever the intent role made of a message that short; a turn that asks for
    catalog perfumes ("시판 향수 중에도 비슷한 거") or for a new formula ("another one, woody this
    time") does not, and neither does one with nothing to change.
    """
    if not formula:
        return None
    edit = FormulaEdit.from_slots(slots)
    if not edit:
        return None
    if intent == "compare" or slots.get("perfumes") or (intent == "handoff" and _PERSON.search(text)):
        return None
    if _SHOP.search(text.lower()) and not _CHANGE.search(text.lower()):
        return None
    if _CHOOSING.search(text):  # "which of those is the most subtle?" asks about perfumes shown
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
