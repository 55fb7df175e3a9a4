"""`fragrance-ai eval chat`: whole conversations through the real turn service, checked after each turn.

The conversations are data (`agents/data/eval_chat.yaml`, written by someone who had not read the
code). Each runs as a channel runs it: a fresh customer and thread on the turn service of one
runtime (embedded stores in a scratch folder), and after each turn its checks are run on what the
customer was shown, the typed events (Perfumes cards, Formula cards, the Reply's text), with the
catalog as the ground truth. A turn passes when every one of its checks holds; the report gives
the share of turns passed overall, per language and per pattern, and why each failing turn failed.

What each check means (the eval file names them; this is their one definition):

- ``language``: the Reply is in that language. Korean: it has Hangul, and none of the catalog's
  descriptive English words (accords, notes, longevity and sillage labels) is left untranslated
  outside perfume, brand and material names. English: no Hangul outside perfume names.
- ``answered``: the turn ended in a Reply that is not one of the consultant's non-answers (a
  clarifying question, the off-topic or greeting line, "couldn't find that perfume", ...).
- ``shows_perfumes``: a Perfumes event with at least one card.
- ``perfumes_meet``: every card shown this turn meets every constraint, read from the catalog:
  ``accords_any`` (one of its accords is listed), ``accords_none`` (none is), ``notes_none`` (no
  note is the listed word or a variety of it: "White Musk" for musk, not "Orange Blossom" for
  orange), ``notes_all``, ``gender`` (that gender or unisex), ``longevity_min``, ``sillage_max``,
  ``price_max`` (in KRW; a catalog without prices passes only when the reply says it has none).
- ``not_named``: none of these perfumes is shown as a card or named in the reply.
- ``about`` / ``about_shown_rank``: the turn answers about that perfume (or the one at that rank of
  the list in focus): it is named in the reply and, when cards are shown, it is the first card.
- ``chooses_from_shown``: the perfumes the answer names or shows all come from the list in focus
  (the latest earlier turn that showed two or more perfumes), at least one of them.
- ``mentions_any``: the reply contains one of the strings (case-insensitive). Strings that are shop
  facts (a price, a stock count, a size) pass on a catalog without shop data when the reply says the
  catalog has no such information: the right answer there (the 38k export has no prices).
- ``formula``: a Formula event; ``compliant``; ``contains_any`` (an ingredient is, is named for, or
  carries one of the words: "Hedione", or "rose" met by Rose Absolute, "citrus" by Bergamot Oil);
  ``changed_from_previous`` (lines differ from the conversation's previous formula);
  ``excludes_notes`` (no ingredient is, is named for, or carries that note or family, per the
  materials table); ``concentration``.
- ``regulatory``: the reply names the material and its first verdict word says allowed / not.
- ``substitutes_named``: the reply names a usable material that the substitutes table offers.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.intent import CLARIFY
from core.errors import FragranceError
from core.settings import Settings
from graphs.events import Formula, FormulaCard, PerfumeCard, Perfumes, TurnEvent
from prompts import render
from tools.perfumery.database import Perfumery
from tools.search.engine import SearchEngine
from tools.search.lexicon import Lexicon, default_lexicon
from tools.search.text import compact

DEFAULT_CHAT_EVAL = Path(__file__).resolve().parent / "data" / "eval_chat.yaml"

CHECKS = {
    "language", "answered", "shows_perfumes", "perfumes_meet", "not_named", "about", "about_shown_rank",
    "chooses_from_shown", "mentions_any", "formula", "regulatory", "substitutes_named",
}  # fmt: skip
MEET_KEYS = {"accords_any", "accords_none", "notes_none", "notes_all", "gender", "longevity_min", "sillage_max",
             "price_max"}  # fmt: skip
FORMULA_KEYS = {"present", "compliant", "contains_any", "changed_from_previous", "excludes_notes", "concentration"}
LONGEVITY = ["very weak", "weak", "moderate", "long lasting", "eternal"]
SILLAGE = ["intimate", "moderate", "strong", "enormous"]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# The consultant's non-answers, by template key of prompts/service (a clarifying question too).
NON_ANSWERS = ("off_topic", "greeting", "product_missing", "compare_missing", "validate_missing", "material_missing",
               "blocked", "turn_failed", "turn_unavailable")  # fmt: skip
# A reply saying the catalog has no price for what it shows (the issue: "say so and still recommend").
NO_PRICE = re.compile(
    r"no price|prices? (?:is|are)n't|prices? (?:is|are) not|without (?:a )?price|가격 정보|가격이 없", re.I
)
# A string of a mentions_any check that is a shop fact, and a reply saying the catalog has none.
SHOP_FACT = re.compile(r"\d|원|krw|₩|\$|재고|stock|품절|sold out|병|bottle|ml", re.I)
NO_SHOP_DATA = re.compile(
    r"(?:가격|재고|용량|사이즈) 정보가 없|no (?:price|stock|size)|has no (?:price|stock|size)|prices? (?:is|are)n't",
    re.IGNORECASE,
)
# Verdict words of a regulatory answer; the first one in the reply is its verdict.
ALLOWED_WORDS = re.compile(
    r"\byes\b|\ballowed\b|\bpermitted\b|\bis fine\b|\bis ok\b|\bwithin (?:the )?(?:limit|ifra)|\bcompl(?:y|ies|iant)\b|"
    r"\bup to\b|\bcan use\b|\bmay use\b|사용할 수 있|쓸 수 있|넣을 수 있|허용|가능해요|가능합니다|괜찮|한도 안|이내|"
    r"기준을 충족|까지 (?:쓸|넣|사용)",
    re.I,
)
FORBIDDEN_WORDS = re.compile(
    r"\bno\b|\bnot allowed\b|\bnot permitted\b|\bmay not\b|\bcannot\b|\bcan't\b|\bprohibited\b|\bbanned\b|"
    r"\bexceeds?\b|\bover the limit\b|\btoo (?:much|high)\b|\bdoes not comply\b|\bnot compliant\b|"
    r"쓸 수 없|넣을 수 없|사용할 수 없|안 ?돼|안 ?됩니다|금지|초과|넘어|넘습니다|불가|충족하지 않",
    re.I,
)


# -- the evaluation set --------------------------------------------------------------------------
@dataclass(slots=True)
class EvalTurn:
    user: str
    checks: dict[str, Any]


@dataclass(slots=True)
class EvalConversation:
    id: str
    lang: str
    patterns: list[str]
    turns: list[EvalTurn]


def load_chat_eval(path: Path = DEFAULT_CHAT_EVAL) -> list[EvalConversation]:
    """The conversations of `path`, every check key known (a typo fails loudly, never silently passes)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FragranceError(f"cannot read the chat evaluation set {path}: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise FragranceError(f"{path}: expected a list of conversations")
    out = []
    for number, item in enumerate(data, 1):
        where = f"{path}: conversation {number} ({item.get('id') if isinstance(item, dict) else item!r})"
        if not isinstance(item, dict) or not {"id", "lang", "patterns", "turns"} <= set(item):
            raise FragranceError(f"{where}: needs id, lang, patterns and turns")
        turns = []
        for t, turn in enumerate(item["turns"], 1):
            checks = turn.get("checks") or {}
            unknown = set(checks) - CHECKS
            unknown |= {f"perfumes_meet.{k}" for k in set(checks.get("perfumes_meet") or {}) - MEET_KEYS}
            unknown |= {f"formula.{k}" for k in set(checks.get("formula") or {}) - FORMULA_KEYS}
            if unknown or not turn.get("user"):
                raise FragranceError(f"{where} turn {t}: unknown checks {sorted(unknown)} or no user text")
            turns.append(EvalTurn(str(turn["user"]), dict(checks)))
        out.append(EvalConversation(str(item["id"]), str(item["lang"]), [str(p) for p in item["patterns"]], turns))
    return out


# -- one turn as the customer saw it ---------------------------------------------------------------
@dataclass(slots=True)
class Shown:
    """What one turn showed: its cards, formulas and final text."""

    cards: list[PerfumeCard] = field(default_factory=list)
    formulas: list[FormulaCard] = field(default_factory=list)
    text: str = ""
    language: str | None = None
    final: str = ""  # the final event's type: reply, refused, error, handoff_requested ...
    roles: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, events: list[TurnEvent]) -> Shown:
        shown = cls()
        for event in events:
            if isinstance(event, Perfumes):
                shown.cards += event.perfumes
            elif isinstance(event, Formula):
                shown.formulas.append(event.formula)
        last = events[-1] if events else None
        if last is not None:
            shown.final = last.type
            shown.text = str(getattr(last, "text", ""))
            shown.language = getattr(last, "language", None)
        return shown


@dataclass(slots=True)
class TurnResult:
    conversation: str
    turn: int
    language: str
    patterns: list[str]
    user: str
    passed: bool
    failures: list[str]
    reply: str


@dataclass
class ChatEvalReport:
    models: str
    catalog_perfumes: int
    turns: list[TurnResult]

    def share(self, keep: Callable[[TurnResult], bool] = lambda _: True) -> tuple[float, int]:
        chosen = [t for t in self.turns if keep(t)]
        return (sum(t.passed for t in chosen) / len(chosen) if chosen else 0.0), len(chosen)

    @property
    def by_language(self) -> dict[str, tuple[float, int]]:
        languages = sorted({t.language for t in self.turns})
        return {lang: self.share(lambda t, lang=lang: t.language == lang) for lang in languages}  # type: ignore[misc]

    @property
    def by_pattern(self) -> dict[str, tuple[float, int]]:
        patterns = sorted({p for t in self.turns for p in t.patterns})
        return {p: self.share(lambda t, p=p: p in t.patterns) for p in patterns}  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        overall, n = self.share()
        return {
            "models": self.models,
            "catalog_perfumes": self.catalog_perfumes,
            "turns_passed": overall,
            "turns": n,
            "by_language": {k: {"passed": v, "turns": c} for k, v, c in ((k, *v) for k, v in self.by_language.items())},
            "by_pattern": {k: {"passed": v, "turns": c} for k, v, c in ((k, *v) for k, v in self.by_pattern.items())},
            "failures": [asdict(t) for t in self.turns if not t.passed],
        }


def format_chat_report(report: ChatEvalReport, failures: bool = False) -> str:
    overall, n = report.share()
    lines = [f"chat evaluation ({report.models} roles), catalog of {report.catalog_perfumes} perfumes"]
    lines.append(f"turns passed: {overall:.3f}  ({n} turns)")
    for lang, (share, count) in report.by_language.items():
        lines.append(f"turns passed [{lang}]: {share:.3f}  ({count} turns)")
    lines.append("")
    lines.append(f"{'pattern':<18}{'passed':>8}{'turns':>7}")
    for pattern, (share, count) in report.by_pattern.items():
        lines.append(f"{pattern:<18}{share:>8.3f}{count:>7}")
    if failures:
        lines.append("")
        lines.append("failing turns:")
        for t in report.turns:
            if not t.passed:
                lines.append(f"- {t.conversation} turn {t.turn}: {t.user}")
                lines += [f"    {f}" for f in t.failures]
                lines.append("    reply: " + " ".join(t.reply.split())[:300])
    return "\n".join(lines)


# -- the checks ------------------------------------------------------------------------------------
def _ci(text: str) -> str:
    return " ".join(text.casefold().split())


def _name_key(name: str) -> str:
    """A perfume name as the checker matches it: case and punctuation aside, since catalogs spell the
    same name "Terre d'Hermes" or "Terre d Hermes", "Dolce&Gabbana" or "Dolce Gabbana"."""
    return " ".join(re.sub(r"[^\w]+", " ", name.casefold()).split())


def _is_variety(note: str, word: str) -> bool:
    """A note is a word's variety when it is that word or ends with it (English puts the head noun
    last): "White Musk" is musk, "Sicilian Lemon" lemon; "Orange Blossom" is a blossom, not orange."""
    return _ci(note) == _ci(word) or _ci(note).endswith(" " + _ci(word))


def _names_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(_ci(word))}(?![a-z])", _ci(text)) is not None


class Checker:
    """Runs one turn's checks against what the turn showed and the catalog."""

    def __init__(self, engine: SearchEngine, perfumery: Perfumery, lexicon: Lexicon | None = None) -> None:
        self.engine = engine
        self.perfumery = perfumery
        self.lexicon = lexicon or default_lexicon()
        self._by_name: dict[str, Any] = {}
        # Descriptive English words a Korean reply must not leave untranslated.
        self.english_words = {
            w
            for (kind, value) in self.lexicon.korean_names
            if kind in ("accord", "note")
            for w in [value.casefold()]
            if len(w) >= 4
        } | {label for label in (*LONGEVITY, *SILLAGE) if label != "moderate"}

    # -- catalog look-ups
    def perfume(self, full_name: str) -> Any:
        """A catalog perfume by "Brand Name" (exact, case-insensitive)."""
        if not self._by_name:
            self._by_name = {_name_key(f"{p.brand} {p.name}"): p for p in self.engine.index.perfumes}
        return self._by_name.get(_name_key(full_name))

    def names_in(self, text: str, perfume: Any) -> bool:
        """The reply names a perfume: by its name (as written, ignoring case) or a Korean name of it."""
        if _names_word(_name_key(text), _name_key(perfume.name)):
            return True
        aliases = self.lexicon.perfume_aliases.get(self.lexicon.perfume_key(perfume.brand, perfume.name), [])
        return any(alias in text for alias in aliases)

    # -- the turn
    def check(self, checks: dict[str, Any], shown: Shown, history: list[Shown], language_expected: str) -> list[str]:
        failures: list[str] = []
        for card in shown.cards:
            perfume = self.engine.get(card.id)
            if perfume is None or (perfume.brand, perfume.name) != (card.brand, card.name):
                failures.append(f"card {card.brand} {card.name} ({card.id}) is not that catalog perfume")
        for name, expected in checks.items():
            problem = getattr(self, f"_{name}")(expected, shown, history)
            if problem:
                failures.append(f"{name}: {problem}")
        return failures

    def _language(self, expected: str, shown: Shown, history: list[Shown]) -> str | None:
        if shown.language != expected:
            return f"the turn answered in {shown.language!r}"
        text = shown.text
        # Longest first: a short name ("Comme des Garcons 2") must not cut into a longer one ("Patchouli 24").
        # Perfume names: of this turn's cards and of those shown before (a pick names the others it weighed).
        cards = [*shown.cards, *(card for earlier in history for card in earlier.cards)]
        names = {n for card in cards for n in (f"{card.brand} {card.name}", card.name, card.brand)}
        for name in sorted(names, key=len, reverse=True):
            text = text.replace(name, " ")
        for formula in shown.formulas:  # material and INCI names may stay as written
            for name in [line.name for line in formula.ingredients] + [a.name for a in formula.allergens_to_declare]:
                text = text.replace(name, " ")
        if expected == "ko":
            if not HANGUL.search(shown.text):
                return "a Korean turn answered without Hangul"
            left = sorted(w for w in self.english_words if _names_word(text, w))
            return f"English words left in a Korean reply: {', '.join(left)}" if left else None
        if HANGUL.search(text):
            return "Hangul in an English reply"
        return None

    def _answered(self, expected: bool, shown: Shown, history: list[Shown]) -> str | None:
        if shown.final != "reply":
            return f"the turn ended with {shown.final or 'nothing'}"
        language = shown.language or "en"
        canned = [render("service", language, key) for key in NON_ANSWERS] + list(CLARIFY.values())
        text = shown.text.strip()
        if not text or any(text.startswith(c.strip()) for c in canned):
            return "a non-answer: " + text[:80]
        return None

    def _shows_perfumes(self, expected: bool, shown: Shown, history: list[Shown]) -> str | None:
        return None if bool(shown.cards) == bool(expected) else f"{len(shown.cards)} perfume cards shown"

    def _perfumes_meet(self, constraints: dict[str, Any], shown: Shown, history: list[Shown]) -> str | None:
        problems = []
        for card in shown.cards:
            perfume = self.engine.get(card.id)
            if perfume is None:
                continue
            accords = {a.casefold() for a in perfume.accords}
            name = f"{perfume.brand} {perfume.name}"
            wanted = {a.casefold() for a in constraints.get("accords_any") or []}
            if wanted and not accords & wanted:
                problems.append(f"{name} has none of the accords {sorted(wanted)}")
            banned = accords & {a.casefold() for a in constraints.get("accords_none") or []}
            if banned:
                problems.append(f"{name} has the accord {sorted(banned)}")
            bad_notes = [n for n in perfume.notes for w in constraints.get("notes_none") or [] if _is_variety(n, w)]
            if bad_notes:
                problems.append(f"{name} has the note {bad_notes}")
            for note in constraints.get("notes_all") or []:
                if not any(_names_word(n, note) for n in perfume.notes):
                    problems.append(f"{name} lacks the note {note}")
            gender = constraints.get("gender")
            if gender and perfume.gender not in (gender, "unisex"):
                problems.append(f"{name} is for {perfume.gender}")
            floor = constraints.get("longevity_min")
            if floor and LONGEVITY.index(floor) > (
                LONGEVITY.index(perfume.longevity) if perfume.longevity in LONGEVITY else -1
            ):
                problems.append(f"{name} lasts {perfume.longevity}")
            ceiling = constraints.get("sillage_max")
            if ceiling and (perfume.sillage not in SILLAGE or SILLAGE.index(perfume.sillage) > SILLAGE.index(ceiling)):
                problems.append(f"{name} has a {perfume.sillage} sillage")
            price_max = constraints.get("price_max")
            if price_max is not None:
                if perfume.price is None:
                    if not NO_PRICE.search(shown.text):
                        problems.append(f"{name} has no price and the reply does not say so")
                elif (perfume.currency or "KRW") != "KRW" or perfume.price > float(price_max):
                    problems.append(f"{name} costs {perfume.price:,.0f} {perfume.currency}")
        return "; ".join(problems) or None

    def _not_named(self, names: list[str], shown: Shown, history: list[Shown]) -> str | None:
        hits = []
        for full in names:
            perfume = self.perfume(full)
            card_hit = any(_name_key(f"{c.brand} {c.name}") == _name_key(full) for c in shown.cards)
            text_hit = perfume is not None and re.search(
                rf"(?<!\w){re.escape(_name_key(perfume.name))}(?!\w)", _name_key(shown.text)
            )
            if card_hit or text_hit:
                hits.append(full)
        return f"named {hits}" if hits else None

    def _focus_list(self, history: list[Shown]) -> list[PerfumeCard]:
        return next((h.cards for h in reversed(history) if len(h.cards) >= 2), [])

    def _about_perfume(self, perfume: Any, shown: Shown) -> str | None:
        if not self.names_in(shown.text, perfume):
            return f"the reply does not name {perfume.brand} {perfume.name}"
        if shown.cards and shown.cards[0].id != perfume.id:
            return f"the first card is {shown.cards[0].brand} {shown.cards[0].name}"
        return None

    def _about(self, full_name: str, shown: Shown, history: list[Shown]) -> str | None:
        perfume = self.perfume(full_name)
        if perfume is None:
            return f"{full_name} is not in this catalog"
        return self._about_perfume(perfume, shown)

    def _about_shown_rank(self, rank: int, shown: Shown, history: list[Shown]) -> str | None:
        listed = self._focus_list(history)
        if len(listed) < rank:
            return f"no list of {rank} or more was shown before"
        perfume = self.engine.get(listed[rank - 1].id)
        return self._about_perfume(perfume, shown) if perfume is not None else "the listed perfume left the catalog"

    def _chooses_from_shown(self, expected: bool, shown: Shown, history: list[Shown]) -> str | None:
        listed = self._focus_list(history)
        if not listed:
            return "no list was shown before"
        ids = {c.id for c in listed}
        outside = [f"{c.brand} {c.name}" for c in shown.cards if c.id not in ids]
        if outside:
            return f"shows perfumes outside the list: {outside}"
        chosen = [c for c in listed if any(s.id == c.id for s in shown.cards)]
        named = [c for c in listed if (p := self.engine.get(c.id)) is not None and self.names_in(shown.text, p)]
        return None if chosen or named else "names none of the perfumes shown before"

    def _mentions_any(self, strings: list[str], shown: Shown, history: list[Shown]) -> str | None:
        text = _ci(shown.text)
        if any(_ci(s) in text for s in strings):
            return None
        if not self.has_shop_data and any(SHOP_FACT.search(s) for s in strings) and NO_SHOP_DATA.search(shown.text):
            return None
        return f"none of {strings} in the reply"

    @functools.cached_property
    def has_shop_data(self) -> bool:
        """Whether the catalog has prices or stock at all (the starter catalog does, the 38k export does not)."""
        return any(p.price is not None or p.stock is not None for p in self.engine.index.perfumes)

    def _carries(self, line_name: str, word: str) -> bool:
        """An ingredient is, is named for, or carries a note or family (per the materials table)."""
        if _names_word(line_name, word):
            return True
        material = self.perfumery.materials.resolve(line_name)
        if material is None:
            return False
        return _ci(material.family) == _ci(word) or any(_is_variety(n, word) for n in material.notes_for)

    def _formula(self, expected: dict[str, Any], shown: Shown, history: list[Shown]) -> str | None:
        if not shown.formulas:
            return "no formula shown" if expected.get("present", True) else None
        formula = shown.formulas[-1]
        names = [line.name for line in formula.ingredients]
        problems = []
        if "compliant" in expected and formula.compliant is not bool(expected["compliant"]):
            problems.append(f"compliant={formula.compliant}: {formula.violations[:3]}")
        wanted = expected.get("contains_any")
        if wanted and not any(self._carries(n, w) for n in names for w in wanted):
            problems.append(f"none of {wanted} in {names}")
        if expected.get("changed_from_previous"):
            before = next((h.formulas[-1] for h in reversed(history) if h.formulas), None)
            if before is None:
                problems.append("no earlier formula to change")
            elif [(i.name, round(i.pct, 2)) for i in before.ingredients] == [
                (i.name, round(i.pct, 2)) for i in formula.ingredients
            ] and (before.concentration or "") == (formula.concentration or ""):
                problems.append("the formula is the same as before")
        carried = sorted({n for n in names for w in expected.get("excludes_notes") or [] if self._carries(n, w)})
        if carried:
            problems.append(f"still carries {carried}")
        concentration = expected.get("concentration")
        if concentration and _ci(formula.concentration or "") != _ci(concentration):
            problems.append(f"concentration {formula.concentration}")
        return "; ".join(problems) or None

    def _material_names(self, name: str) -> list[str]:
        """Every name of a material: the materials table's (English and Korean), the regulation tables'."""
        material = self.perfumery.materials.resolve(name)
        names = [name] + ([material.name, *material.synonyms] if material else [])
        regs = self.perfumery.regulations
        listed: list[tuple[str, list[str]]] = [(s.name, s.cas) for s in regs.standards]
        listed += [(b.name, b.cas) for b in regs.eu_prohibited]
        for table_name, cas in listed:
            if compact(table_name) == compact(name) or (material and set(cas) & set(material.cas)):
                names.append(table_name)
        try:  # the names customers use for regulated substances, where the tables ship them
            from tools.perfumery.usage import regulated_names
        except ImportError:
            return names
        canonical = {compact(n) for n in names}
        return names + [alias for alias, table_name in regulated_names().items() if compact(table_name) in canonical]

    def _regulatory(self, expected: dict[str, Any], shown: Shown, history: list[Shown]) -> str | None:
        names = self._material_names(expected["material"])
        if not any(_ci(n) in _ci(shown.text) for n in names if len(n) >= 3):
            return f"the reply does not name {expected['material']}"
        verdicts = [(m.start(), True) for m in ALLOWED_WORDS.finditer(shown.text)]
        verdicts += [(m.start(), False) for m in FORBIDDEN_WORDS.finditer(shown.text)]
        if not verdicts:
            return "no verdict in the reply"
        verdict = min(verdicts)[1]
        return None if verdict is bool(expected["allowed"]) else f"the reply's verdict is allowed={verdict}"

    def _substitutes_named(self, expected: bool, shown: Shown, history: list[Shown]) -> str | None:
        validator = self.perfumery.validator
        offered = {s.substitute for s in self.perfumery.regulations.substitutes if validator.usable(s.substitute)}
        for name in offered:
            material = self.perfumery.materials.resolve(name)
            spellings = [name, *(material.synonyms if material else [])]
            if any(len(s) >= 3 and _ci(s) in _ci(shown.text) for s in spellings):
                return None
        return "no usable substitute named"


# -- running the conversations -----------------------------------------------------------------------
@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what native libraries write to file descriptor 1 to stderr meanwhile (chromadb's Rust
    bindings print a migration check when a store opens), so stdout holds only the report."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


async def run_chat_eval(
    settings: Settings,
    conversations: list[EvalConversation],
    models: str = "embedded",
    progress: bool = True,
) -> ChatEvalReport:
    """Every conversation through the turn service of one runtime over `settings`' catalog, on embedded
    stores in a scratch folder (never the settings' database), a fresh customer and thread each.
    `models`: "embedded" (the default roles) or "fake" (scripted stand-ins in the model roles' places,
    agents/stand_in_roles.py, which answer only from what their prompts carry)."""
    from tqdm import tqdm

    from graphs.inbound import Inbound
    from graphs.runtime import open_runtime

    results: list[TurnResult] = []
    with tempfile.TemporaryDirectory(prefix="eval-chat-") as scratch:
        scoped = settings.model_copy(
            update={"database_url": None, "redis_url": None, "ollama_base_url": None, "memory_dir": Path(scratch)}
        )
        async with open_runtime(scoped, models=None) as runtime:
            service = runtime.require_service()
            assert runtime.engine is not None and runtime.context is not None
            checker = Checker(runtime.engine, runtime.perfumery)
            stand_ins = None
            if models == "fake":
                from agents.stand_in_roles import stand_in_service

                service, stand_ins = stand_in_service(runtime)
            elif models != "embedded":
                raise FragranceError(f"--models must be embedded or fake, not {models!r}")
            total = sum(len(c.turns) for c in conversations)
            bar = tqdm(total=total, desc=f"eval chat ({models})", unit="turn", disable=not progress)
            for conversation in conversations:
                run = uuid.uuid4().hex[:8]
                customer = await runtime.memory.repository.customer_for("cli", f"eval-{conversation.id}-{run}")
                thread = f"eval-{conversation.id}-{run}"
                history: list[Shown] = []
                said: list[str] = []  # the customer's messages as the roles may see them: redacted
                for number, turn in enumerate(conversation.turns, 1):
                    inbound = Inbound(text=turn.user, customer_id=customer.id, channel="cli", conversation_id=thread)
                    if stand_ins is not None:
                        stand_ins.expect(turn.user, history_texts=said)
                        said = [*said, (await runtime.context.guards.check_input(turn.user))[0]]
                    events = await service.say(inbound)
                    shown = Shown.of(events)
                    failures = checker.check(turn.checks, shown, history, conversation.lang)
                    if stand_ins is not None:
                        failures += stand_ins.failures()
                    results.append(
                        TurnResult(
                            conversation=conversation.id,
                            turn=number,
                            language=conversation.lang,
                            patterns=conversation.patterns,
                            user=turn.user,
                            passed=not failures,
                            failures=failures,
                            reply=shown.text,
                        )
                    )
                    history.append(shown)
                    bar.update(1)
            bar.close()
            size = runtime.engine.index.size
    return ChatEvalReport(models=models, catalog_perfumes=size, turns=results)


def select(conversations: list[EvalConversation], ids: list[str] | None, limit: int | None) -> list[EvalConversation]:
    """The conversations named (by id or id prefix), then the first `limit` of each language."""
    chosen = [c for c in conversations if not ids or any(c.id == i or c.id.startswith(i) for i in ids)]
    if limit is not None:
        per_language: dict[str, int] = defaultdict(int)
        kept = []
        for c in chosen:
            if per_language[c.lang] < limit:
                per_language[c.lang] += 1
                kept.append(c)
        chosen = kept
    return chosen
