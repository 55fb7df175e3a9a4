"""The embedded orchestrator: a rule planner from intent and slots to tool calls.

It calls the same tools a tool-calling model would (tools/toolkit.py), with arguments
built only from what the user said and what the conversation carried over. The
Ollama-backed orchestrator is to produce the same `ToolCall` list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agents import formula_edits, regulatory
from agents.focus import Focus
from agents.language import own_words
from agents.references import asked_about, ranks, read_follow_up, wants_similar
from tools.perfumery.composition import ACCORD_FAMILY, FAMILY_WORDS, PRECEDENCE
from tools.search.text import compact, fold, is_korean

_CONCENTRATION = re.compile(r"\b(parfum|extrait|edp|edt|edc)\b|(오드퍼퓸|오드뚜왈렛|오드코롱|퍼퓸)", re.IGNORECASE)
_DILUTION = re.compile(
    r"(\d+(?:\.\d+)?)\s*%\s*(?:dilution|concentrat|부향률|희석)|(?:dilution|부향률)\s*(\d+(?:\.\d+)?)\s*%"
)
_REFINE = re.compile(
    r"\b(?:cheaper|less expensive|lighter|less sweet|sweeter|stronger|something else|another|different|other)\b|"
    r"더\s|덜\s|다른|저렴|(?<!비)싼|가벼운\s*걸로|말고|"
    # Narrowing what was shown: "거기서 플로럴 느낌 있는 것만", "only the ones under 100,000", "of those".
    r"거기서|그\s*중에서|이\s*중에서|것만|걸로만|\b(?:only|just) the ones\b|\b(?:of|from|among) (?:those|these|them)\b",
    re.IGNORECASE,
)
# "same limits", "in that range", "그 가격대에서": the turn keeps the last search's limits (a lean, a tilt).
_SCOPE_HELD = re.compile(
    r"\b(?:same (?:limits?|budget|price|price range|range|conditions?|criteria)|(?:in|within) (?:that|this|the same) "
    r"(?:range|budget|price range)|lean(?:s|ing)?|tilt(?:ed)?|a (?:bit|touch|little) more)\b|"
    r"(?:그|같은)\s?(?:가격대|예산|조건|범위)",
    re.IGNORECASE,
)
# Asking for perfumes other than those just shown.
_OTHER_ONES = re.compile(
    r"\bothers\b|\bother ones?\b|\b(?:something|anything) else\b|\bdifferent ones?\b|\bmore options\b|"
    r"다른\s*(?:거|걸|것|향수|제품|애)|또\s*(?:있|없)",
    re.IGNORECASE,
)
_NEGATED = re.compile(r"\b(?:less|not|no|without|non)\s+\w+|(?:덜|안)\s*\S+|\S+\s*(?:없는|빼고|말고)")
_RANKS = re.compile(r"(\d)\s*번|#\s*(\d)|\bnumber\s*(\d)|\bno\.?\s*(\d)\b", re.IGNORECASE)
_CHEAPER = re.compile(r"cheap|afford|less expensive|costs? less|for less|저렴|(?<!비)싼|가성비", re.IGNORECASE)
# "a formula in that direction", "이런 느낌으로 조향": the brief comes from what was just shown.
_REFERS_BACK = re.compile(
    r"\b(?:in )?(?:that|this|the same) (?:direction|style|vibe|mood|feel)\b|\blike (?:these|those|them|it|that)\b|"
    r"이런\s*느낌|그런\s*느낌|이\s*느낌|그\s*느낌|비슷하게|이런\s*스타일|그런\s*스타일|이런\s*향|그런\s*향",
    re.IGNORECASE,
)


@dataclass(slots=True)
class ToolCall:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Carried:
    """What earlier turns leave for this one: the last search and the perfumes shown."""

    last_query: str | None = None
    last_filters: dict[str, Any] = field(default_factory=dict)
    shown_ids: list[str] = field(default_factory=list)
    shown_prices: list[float] = field(default_factory=list)
    focus_id: str | None = None  # the perfume last looked at on its own: what "it" refers to


def _filters(slots: dict[str, Any]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if slots.get("intensity") == "light":  # "가볍게 뿌릴", "something light": nothing that fills the room
        filters["sillage_max"] = "moderate"
    sillage = slots.get("sillage") or []
    if sillage and not {"strong", "enormous"} & set(sillage):  # "she gets headaches from strong stuff"
        filters["sillage_max"] = sillage[-1]
    if slots.get("disliked_notes"):
        filters["exclude_notes"] = slots["disliked_notes"]
    if slots.get("disliked_accords"):
        filters["exclude_accords"] = slots["disliked_accords"]
    if slots.get("disliked_brands"):  # "no Dior", "샤넬 말고": out of this search and every later one
        filters["exclude_brands"] = slots["disliked_brands"]
    budget = slots.get("budget") or {}
    if budget.get("max"):  # in the currency said (the search converts it), else the catalog's own
        filters["price_max"] = budget["max"]
        filters["price_currency"] = budget.get("currency") or "catalog"
    return filters


def _remember(slots: dict[str, Any]) -> ToolCall:
    """Remember the dislikes this turn stated ("I can't stand oud", "단 향은 질색"), notes and families."""
    args = {"disliked_notes": slots.get("disliked_notes") or []}
    if slots.get("disliked_accords"):
        args["disliked_accords"] = slots["disliked_accords"]
    return ToolCall("remember_preference", args)


def _holding(earlier: dict[str, Any], filters: dict[str, Any]) -> dict[str, Any]:
    """`filters` with what the customer said before and has not changed: a budget they named until
    they name another (not the ceiling "cheaper" drew from the prices shown, which only refines that
    list), every exclusion (added to, never dropped)."""
    out = dict(filters)
    if "price_max" not in filters and earlier.get("price_max") is not None and earlier.get("price_currency"):
        out["price_max"], out["price_currency"] = earlier["price_max"], earlier["price_currency"]
    if "sillage_max" not in filters and "sillage_min" not in filters and earlier.get("sillage_max"):
        out["sillage_max"] = earlier["sillage_max"]  # a ceiling for a reason (headaches) holds until changed
    for key in ("exclude_notes", "exclude_accords", "exclude_brands"):
        merged = list(dict.fromkeys([*(earlier.get(key) or []), *(filters.get(key) or [])]))
        if merged:
            out[key] = merged
    return out


def _names_word(word: str, folded: str, squeezed: str) -> bool:
    """A style word in the text: a Latin word on word boundaries ("sea" is not in "compose a"),
    a Hangul one anywhere (Korean writes its particles and compounds without spaces)."""
    key = compact(word)
    if len(key) < 2:
        return False
    if is_korean(word):
        return key in squeezed
    return re.search(rf"(?<![a-z]){re.escape(fold(word))}(?![a-z])", folded) is not None


def _family(slots: dict[str, Any], text: str, avoid: list[str] | None = None) -> str:
    """The style the text names; a style the customer dislikes ("시트러스 계열은 저랑 안 맞더라고요") is not it."""
    kept = _NEGATED.sub(" ", text)  # "less sweet" names no family
    folded, squeezed = fold(kept), compact(kept)
    # A style is disliked by its name, its material family ("sweet" is gourmand) or a family word of its own
    # ("anything sweet makes me gag": no gourmand); a note disliked ("a gourmand, no vanilla") leaves it be.
    families = formula_edits.families_in(list(avoid or []))
    disliked = {compact(a) for a in avoid or []} | {compact(ACCORD_FAMILY.get(a, a)) for a in families}
    family_words = {compact(a) for a in families}
    unwanted = {family for family, words in FAMILY_WORDS.items() if {compact(w) for w in words} & family_words}
    named = [
        family
        for family, words in FAMILY_WORDS.items()
        if any(_names_word(w, folded, squeezed) for w in words)
        and compact(family) not in disliked
        and family not in unwanted
    ]
    if named:  # "a fruity chypre" is a chypre: the most specific style named wins
        return max(named, key=lambda family: PRECEDENCE.get(family, 1))
    for accord in slots.get("accords", []):
        material_family = ACCORD_FAMILY.get(accord, "")
        if (
            material_family in FAMILY_WORDS
            and compact(material_family) not in disliked
            and material_family not in unwanted
        ):
            return material_family
    return "floral"


def _without_names(query: str, perfumes: list[dict[str, str]]) -> str:
    """The query with the perfumes it names taken out: the names of perfumes the customer owns would make the
    search look for their house ("Bleu de Chanel" read as a wish for Chanel) or for them."""
    for perfume in perfumes:
        for written in (f"{perfume.get('brand', '')} {perfume.get('name', '')}", perfume.get("name", "")):
            if written.strip():
                query = re.sub(re.escape(written.strip()), " ", query, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", query).strip()


def refines_last_search(slots: dict[str, Any], text: str, carried: Carried) -> bool:
    """Whether a turn reads as a refinement of the last search ("바닐라는 빼고요", "something cheaper",
    "without musk?"): there was a search, and the turn adds a condition to it. The intent role
    sees one message alone and may call such a turn small talk; the conversation knows better."""
    if not carried.last_query:
        return False
    condition = any(
        slots.get(k)
        for k in (
            "disliked_notes",
            "disliked_accords",
            "disliked_brands",
            "budget",
            "intensity",
            "more_notes",
            "less_notes",
        )
    )
    return condition or bool(_REFINE.search(text) or _SCOPE_HELD.search(text))


def _rules_out_house(intent: str, slots: dict[str, Any], carried: Carried) -> bool:
    """Whether the turn's only news is a house ruled out ("not Versace, other ones?", "디올은 빼고요") after a
    search: the last search is run again without it. A turn naming notes, accords or a perfume is read as it is."""
    if not slots.get("disliked_brands") or not carried.last_query or intent in ("compose", "validate", "handoff"):
        return False
    return not any(slots.get(k) for k in ("perfumes", "liked_notes", "accords", "brands", "formula_lines"))


def _similar(
    slots: dict[str, Any],
    text: str,
    carried: Carried,
    focus: Focus,
    held: list[str],
    remembered_accords: list[str] | None = None,
) -> list[ToolCall] | None:
    """ "Anything similar but cheaper?", "이거보다 덜 달달한 걸로", "시판 향수 중에도 비슷한 거": a search
    from the perfume (or the formula) in focus; None when the focus is a list (the last search is
    refined instead) or holds nothing to be like. What the customer said before holds here too: the
    families they dislike ("he can't stand anything sweet or smoky") and a budget they named."""
    disliked_accords = sorted(set(slots.get("disliked_accords") or []) | set(remembered_accords or []))
    filters = _holding(
        carried.last_filters, _filters({**slots, "disliked_notes": held, "disliked_accords": disliked_accords})
    )
    named = [i for i in (focus.list_ids[r - 1] for r in ranks(text) if 0 < r <= len(focus.list_ids))]
    reference = named[0] if named else focus.perfume_id if focus.kind == "perfume" else None
    if reference:
        budget = slots.get("budget") or {}
        cheaper = budget.get("relative") == "cheaper" or bool(_CHEAPER.search(text))
        args = {"perfume_id": reference, "query": text, "top_k": 5, "filters": filters, "cheaper": cheaper}
        return [ToolCall("find_similar_perfumes", args)]
    if focus.kind == "formula" and focus.formula:
        brief = focus.formula.get("brief") or {}
        words = [
            brief.get("fragrance_family"),
            *(brief.get("liked_notes") or []),
            brief.get("mood"),
            brief.get("season"),
        ]
        query = " ".join(str(w) for w in words if w) + " " + text
        disliked = sorted(set(held) | set(brief.get("disliked_notes") or []))
        filters = _filters({**slots, "disliked_notes": disliked})
        return [ToolCall("search_perfumes", {"query": query, "top_k": 5, "filters": filters})]
    return None


def _formula_or_rules(
    intent: str, slots: dict[str, Any], text: str, focus: Focus, held: list[str]
) -> list[ToolCall] | None:
    """A change to the formula in focus ("more rose", "EDT로 바꿔 주세요": its brief composed again with
    the change, compared with the formula before), a question about the rules for a material ("is 5%
    coumarin OK in an EDP?", "그럼 대신 뭘 쓰면 돼요?"), or whether the formula in focus complies; None
    for any other turn."""
    edit = formula_edits.edit_requested(intent, slots, text, formula_edits.in_focus(focus.kind, focus.formula, text))
    if edit is not None and focus.formula:
        brief = {k: v for k, v in (focus.formula.get("brief") or {}).items() if k != "previous"}
        request = formula_edits.apply_edit(brief, edit)
        request["disliked_notes"] = list(dict.fromkeys([*request.get("disliked_notes", []), *held]))
        calls = [ToolCall("compose_formula", {**request, "previous": brief})]
        if edit.without:  # a note taken out is a dislike the customer keeps; a family ("warm spicy") as one
            families = formula_edits.families_in(edit.without)
            remembered: dict[str, Any] = {"disliked_notes": [w for w in edit.without if w not in families]}
            if families:
                remembered["disliked_accords"] = families
            calls.append(ToolCall("remember_preference", remembered))
        return calls
    question = regulatory.read_question(text, slots, focus.material)
    if question is not None:
        return [ToolCall("lookup_material", question.tool_args())]
    named = slots.get("formula_lines") or slots.get("materials")
    if focus.kind == "formula" and focus.formula and not named and regulatory.asks_about_formula(text):
        # "이 배합 IFRA 기준에는 맞는 거죠?": the formula in focus, checked as it was shown; where only its
        # brief is known (a model role's summary of the focus), composed again from it: the same formula.
        lines = [{"name": name, "pct": pct} for name, pct in focus.formula.get("lines") or []]
        brief = {k: v for k, v in (focus.formula.get("brief") or {}).items() if k != "previous"}
        concentration = focus.formula.get("concentration") or brief.get("concentration") or "EDP"
        if not lines:
            return [ToolCall("compose_formula", brief)] if brief else None
        return [ToolCall("validate_formula", {"ingredients": lines, "concentration": concentration})]
    return None


def plan(
    intent: str,
    slots: dict[str, Any],
    text: str,
    carried: Carried,
    remembered_dislikes: list[str] | None = None,
    focus: Focus | None = None,
    remembered_accords: list[str] | None = None,
) -> list[ToolCall]:
    """Tool calls for one turn; an empty list means the reply needs no tool.

    A recommendation that only adds a refinement ("cheaper", "바닐라 없는 걸로", "더 가벼운 걸로")
    re-runs the last search with the new condition on top. Remembered dislikes (the customer's,
    from any of their conversations) hold in every search and composition unless this turn names
    them as liked.
    """
    perfumes = [p["id"] for p in slots.get("perfumes", [])]
    liked = set(slots.get("liked_notes", []))
    held = sorted(set(slots.get("disliked_notes", [])) | (set(remembered_dislikes or []) - liked))
    focus = focus or Focus()
    changed_or_ruled = _formula_or_rules(intent, slots, text, focus, held)
    if changed_or_ruled is not None:
        return changed_or_ruled
    # "not Versace, he thinks it's flashy. other ones?", "샤넬 말고요": a house ruled out after a list narrows
    # that search (whatever the intent role made of one short message), never a question about a perfume shown.
    ruling_out = _rules_out_house(intent, slots, carried)
    if ruling_out:
        intent = "recommend"
    # A question about what was just shown ("2번은 오래가요?", "is it unisex?") is answered from its data.
    follow = None
    if ruling_out:
        pass
    elif intent not in ("compose", "handoff") and not (intent == "validate" and slots.get("formula_lines")):
        follow = read_follow_up(text, slots, focus)
    if follow is not None:
        asked = follow.tool_args()
        if "character" in follow.aspects:
            asked |= {"accords": slots.get("accords") or [], "notes": slots.get("liked_notes") or []}
        return [ToolCall("ask_about_perfumes", asked)]
    if intent in ("recommend", "product_info") and wants_similar(text) and len(perfumes) <= 1:
        # "Tom Ford Oud Wood 같은 느낌의 향수": like the perfume named, else like the one in focus.
        like = Focus(kind="perfume", perfume_id=perfumes[0]) if perfumes else focus
        similar = _similar(slots, text, carried, like, held, remembered_accords)
        if similar:
            if slots.get("disliked_notes"):
                similar.append(ToolCall("remember_preference", {"disliked_notes": slots["disliked_notes"]}))
            return similar
    if intent == "recommend":
        disliked_accords = sorted(set(slots.get("disliked_accords", [])) | set(remembered_accords or []))
        filters = _holding(
            carried.last_filters, _filters({**slots, "disliked_notes": held, "disliked_accords": disliked_accords})
        )
        query = own_words(text)  # an English message's Korean aside is no part of the search
        # A turn that states a condition (a budget, a dislike) with at most a passing mood or occasion ("under
        # 130,000 won please, she's a student") narrows the last search; notes, accords or a house start anew.
        stated = (
            "budget",
            "disliked_notes",
            "disliked_accords",
            "disliked_brands",
            "intensity",
            "longevity",
            "sillage",
        )
        condition = any(slots.get(k) for k in stated)
        new_subject = any(slots.get(k) for k in ("liked_notes", "accords", "brands")) or (
            not condition and any(slots.get(k) for k in ("mood", "season", "occasion", "gender"))
        )
        if slots.get("owned_perfumes"):  # "I own Sauvage, what else?": never one they have
            filters["exclude_ids"] = list(slots["owned_perfumes"])
            query = _without_names(query, slots.get("perfumes") or [])
        leaning = bool(slots.get("more_notes") or slots.get("less_notes") or _SCOPE_HELD.search(text))
        if carried.last_query and (_REFINE.search(text) or leaning or not new_subject):
            # A refinement: the last search, narrowed by what this turn adds.
            query = f"{carried.last_query} {query}"
            filters = {**carried.last_filters, **filters}  # the exclusions and budget held above included
            # "anything a bit woodier in that range?": the family leaned towards is what the new list shows.
            leaned = [n for n in slots.get("more_notes") or [] if n == n.lower()]
            if leaned:
                filters["accords"] = list(dict.fromkeys([*(filters.get("accords") or []), *leaned]))
            if _OTHER_ONES.search(text) and carried.shown_ids:  # "not Versace either. others?": new ones
                filters["exclude_ids"] = list(dict.fromkeys([*(filters.get("exclude_ids") or []), *carried.shown_ids]))
            budget = slots.get("budget") or {}
            if budget.get("relative") == "cheaper" and carried.shown_prices:
                filters["price_max"] = min(carried.shown_prices) - 1
            # "lighter" / "stronger": the catalog's sillage label moves the other way.
            if slots.get("intensity") == "light":
                filters.pop("sillage_min", None)
                filters["sillage_max"] = "moderate"
            elif slots.get("intensity") == "strong":
                filters.pop("sillage_max", None)
                filters["sillage_min"] = "strong"
        calls = [ToolCall("search_perfumes", {"query": query, "top_k": 5, "filters": filters})]
        if slots.get("disliked_notes") or slots.get("disliked_accords"):  # a dislike holds from now on
            calls.append(_remember(slots))
        return calls
    if intent == "product_info":
        if perfumes:
            calls = [ToolCall("get_perfume", {"perfume_id": perfumes[0]})]
            # "Do you have Baccarat Rouge 540 in 100ml?": the card, and the answer to what was asked.
            about = asked_about(perfumes[0], text, slots)
            if about is not None:
                calls.append(ToolCall("ask_about_perfumes", about.tool_args()))
            return calls
        return [ToolCall("search_perfumes", {"query": text, "top_k": 3, "filters": {}})]
    if intent == "compare":
        ranks = [int(next(g for g in m.groups() if g)) for m in _RANKS.finditer(text)]
        by_rank = [carried.shown_ids[r - 1] for r in ranks if 1 <= r <= len(carried.shown_ids)]
        ids = perfumes or by_rank or carried.shown_ids[:2]
        it = focus.perfume_id or carried.focus_id or (carried.shown_ids[0] if carried.shown_ids else None)
        if len(ids) == 1 and it and it != ids[0]:
            ids = [it, ids[0]]  # "how does it compare with Bleu de Chanel?"
        if len(ids) >= 2:
            return [ToolCall("compare_perfumes", {"perfume_ids": ids[:4]})]
        return [ToolCall("search_perfumes", {"query": text, "top_k": 4, "filters": {}})]
    if intent == "compose":
        # "A formula in that direction" after a search: the style of what was asked for then.
        source = f"{carried.last_query} {text}" if carried.last_query and _REFERS_BACK.search(text) else text
        inspiration = perfumes[0] if perfumes else None
        if inspiration is None and _REFERS_BACK.search(text) and focus.kind == "perfume":
            inspiration = focus.perfume_id
        # "오 드 뚜왈렛", "eau de toilette", "오드코롱": the product's own name for it (EDT, EDC ...).
        name = formula_edits.concentration_in(text) or slots.get("concentration") or "EDP"
        # Disliked families too ("citrus", "sweet"): said now, or remembered from this conversation or before;
        # and what a clause of this message says a dislike of ("my wife despises patchouli btw").
        said_disliked = formula_edits.disliked_in(text)
        avoid = sorted(
            set(held) | set(slots.get("disliked_accords", [])) | set(remembered_accords or []) | set(said_disliked)
        )
        said = {v.lower() for v in said_disliked}
        slots = {**slots, "liked_notes": [n for n in slots.get("liked_notes", []) if n.lower() not in said]}
        slots["accords"] = [a for a in slots.get("accords", []) if a.lower() not in said]
        calls = [
            ToolCall(
                "compose_formula",
                {
                    "fragrance_family": _family(slots, source, avoid),
                    "mood": slots.get("mood"),
                    "intensity": slots.get("intensity") or "moderate",
                    "season": slots.get("season"),
                    "liked_notes": slots.get("liked_notes", []),
                    "disliked_notes": avoid,
                    "concentration": name,
                    "inspiration_id": inspiration,
                    "language": slots.get("language"),
                },
            )
        ]
        if slots.get("disliked_notes") or slots.get("disliked_accords"):
            calls.append(_remember(slots))
        return calls
    if intent == "validate":
        lines = slots.get("formula_lines", [])
        if not lines:
            return []
        args: dict[str, Any] = {"ingredients": lines}
        dilution = _DILUTION.search(text)
        concentration = _CONCENTRATION.search(text)
        if dilution:
            args["dilution_pct"] = float(dilution.group(1) or dilution.group(2))
        else:
            args["concentration"] = (concentration.group(1) or concentration.group(2)) if concentration else "EDP"
        return [ToolCall("validate_formula", args)]
    if intent == "ingredient_info":
        name = (slots.get("materials") or slots.get("liked_notes") or slots.get("disliked_notes") or [None])[0]
        return [ToolCall("lookup_material", {"name": name or text})]
    return []  # handoff, smalltalk, off_topic: answered without tools
