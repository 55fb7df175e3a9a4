"""How well a catalog perfume fits a season, an occasion, a mood or a person, from its own data.

A customer asks "is it OK for the office?", "여름에 써도 돼요?", "which of the two is better for a
date?". The catalog answers with what it holds: the main accords (strongest first), the longevity
and sillage labels of its voters, the gender it is sold for. The season, mood and occasion groups
of the search lexicon (lexicon/rules.yaml) say which accords suit which situation; a perfume fits
as much as its strongest accords are among them, and less when they belong to the opposite
season. Office, interview and school also ask for a sillage that does not fill the room. Every
verdict carries its reason as data (the accords that decided it, the label), for a reply to say.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tools.search.catalog import Perfume
from tools.search.lexicon import Lexicon
from tools.search.text import compact

Verdict = Literal["good", "fair", "poor"]
LONGEVITY = ["very weak", "weak", "moderate", "long lasting", "eternal"]
SILLAGE = ["intimate", "moderate", "strong", "enormous"]
HOURS = {"very weak": "1", "weak": "2-3", "moderate": "4-6", "long lasting": "7-10", "eternal": "12+"}


def lasts(label: str | None, hours: float) -> str | None:
    """Whether a perfume of longevity `label` lasts `hours` on skin: "yes" (its usual span reaches it),
    "barely" (only its longest span does: a touch-up helps), "no"; None without a label."""
    span = HOURS.get(label or "")
    if span is None:
        return None
    low, _, high = span.rstrip("+").partition("-")
    shortest, longest = float(low), float(high or low) if not span.endswith("+") else float("inf")
    return "yes" if shortest >= hours else "barely" if longest >= hours else "no"


OPPOSITE_SEASON = {"summer": "winter", "winter": "summer", "spring": "autumn", "autumn": "spring"}
# Situations where a loud perfume is a nuisance, and ones where it is welcome.
QUIET_OCCASIONS = frozenset({"office", "interview", "school", "sleep", "gym", "travel"})
PRESENT_OCCASIONS = frozenset({"date", "party", "night", "formal", "wedding"})


def _weights(perfume: Perfume) -> list[tuple[str, float]]:
    """The main accords with weights falling with their rank (the catalog lists the strongest first)."""
    return [(accord, 1.0 / (1 + i)) for i, accord in enumerate(perfume.accords[:6])]


@dataclass(slots=True)
class Fit:
    verdict: Verdict
    score: float
    matching: list[str] = field(default_factory=list)
    """The perfume's accords that suit the situation, strongest first."""
    against: list[str] = field(default_factory=list)
    """Its accords that work against it (the opposite season's, a loud sillage)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "score": round(self.score, 3),
            "matching": self.matching,
            "against": self.against,
        }


def _accord_fit(perfume: Perfume, suited: tuple[str, ...], opposed: tuple[str, ...] = ()) -> Fit:
    weights = _weights(perfume)
    total = sum(w for _, w in weights) or 1.0
    good = [(a, w) for a, w in weights if a in suited]
    bad = [(a, w) for a, w in weights if a in opposed and a not in suited]
    score = (sum(w for _, w in good) - sum(w for _, w in bad)) / total
    top_two = {a for a, _ in weights[:2]}
    verdict: Verdict = (
        "good" if score >= 0.3 or (top_two & set(suited) and score > 0) else "fair" if score > 0 else "poor"
    )
    return Fit(verdict, score, [a for a, _ in good], [a for a, _ in bad])


def season_fit(perfume: Perfume, season: str, lexicon: Lexicon) -> Fit:
    rules = lexicon.rules.get("season", {})
    suited = rules[season].accords if season in rules else ()
    opposite = OPPOSITE_SEASON.get(season)
    opposed = rules[opposite].accords if opposite in rules else ()
    return _accord_fit(perfume, suited, opposed)


def group_fit(perfume: Perfume, kind: str, name: str, lexicon: Lexicon) -> Fit:
    """Fit for a mood or an occasion of the lexicon; the sillage counts for occasions where loudness
    is a nuisance (office) or welcome (date)."""
    rule = lexicon.rules.get(kind, {}).get(name)
    fit = _accord_fit(perfume, rule.accords if rule else ())
    if kind == "occasion" and perfume.sillage in SILLAGE:
        loud = SILLAGE.index(perfume.sillage) >= SILLAGE.index("strong")
        if name in QUIET_OCCASIONS and loud:
            fit.against.append(f"sillage:{perfume.sillage}")
            fit.score -= 0.35
            fit.verdict = "fair" if fit.verdict == "good" else "poor"
        elif name in PRESENT_OCCASIONS and perfume.sillage == "intimate":
            fit.against.append("sillage:intimate")
            fit.score -= 0.15
    return fit


def gender_fit(perfume: Perfume, gender: str | None) -> Fit:
    """Sold for that gender or for everyone: good; sold for the other: fair (a perfume has no gender,
    but its style leans one way); unknown: fair."""
    made_for = perfume.gender
    if made_for == "unisex" or (gender and made_for == gender):
        return Fit("good", 1.0)
    if gender == "unisex" and made_for:
        return Fit("fair", 0.3)
    return Fit("fair", 0.3 if made_for is None else 0.1)


def character_fit(perfume: Perfume, accords: list[str], notes: list[str]) -> Fit:
    """How much of the accords and notes asked about ("the freshest", "is it sweet?") it has."""
    weights = dict(_weights(perfume))
    score = sum(weights.get(a, 0.0) for a in accords) + 0.3 * sum(1 for n in notes if n in perfume.notes)
    matching = [a for a in accords if a in weights] + [n for n in notes if n in perfume.notes]
    verdict: Verdict = "good" if score >= 0.5 else "fair" if score > 0 else "poor"
    return Fit(verdict, score, matching)


def rank_of(labels: list[str], value: str | None) -> int:
    return labels.index(value) if value in labels else -1


def accord_rarity(perfumes: Iterable[Perfume]) -> dict[str, float]:
    """Each accord's rarity in a catalog (log inverse share of the perfumes that list it among their
    main six): computed once per catalog, for `likeness`."""
    counts: Counter[str] = Counter()
    total = 0
    for perfume in perfumes:
        total += 1
        counts.update(set(perfume.accords[:6]))
    return {accord: math.log(total / n) for accord, n in counts.items() if n}


def accord_weights(perfume: Perfume, rarity: Mapping[str, float] | None = None, limit: int = 6) -> dict[str, float]:
    """How much each of a perfume's main accords tells of its character: its rarity in the catalog
    (`accord_rarity`; 1 without it), falling gently with its rank (the catalog lists the strongest first)."""
    rarity = rarity or {}
    return {a: rarity.get(a, 1.0) / (1 + 0.5 * i) for i, a in enumerate(perfume.accords[:limit])}


def of_its_line(reference: Perfume, brand: str, name: str) -> bool:
    """Whether a perfume is the reference or its own line under another name ("Bleu de Chanel Eau de
    Parfum" of Bleu de Chanel): never offered as one like it."""
    return brand == reference.brand and compact(name).startswith(compact(reference.name))


def likeness(reference: Perfume, other: Perfume, rarity: Mapping[str, float] | None = None) -> float:
    """How alike two perfumes are, from their own data (0 = nothing shared, 1 = the same main accords).

    "분위기 비슷한 거" after Chanel Coco Mademoiselle (citrus, patchouli, rose, woody) wants patchouli-rose
    perfumes, not every citrus one that shares only its opening: each accord weighs by its rank (gently)
    and by its rarity in the catalog (citrus and fresh spicy are everywhere; patchouli and rose give a
    perfume its character), and the shared weight is counted against all of the reference's. Shared
    notes add a little."""
    mine, theirs = accord_weights(reference, rarity), accord_weights(other, rarity)
    total = sum(mine.values())
    if not total:
        return 0.0
    shared = sum(min(w, theirs[a]) for a, w in mine.items() if a in theirs)
    return shared / total + 0.03 * min(len(set(reference.notes) & set(other.notes)), 4)
