"""The LangChain tools the conversation calls, over the search engine and the perfumery engine.

Each tool's docstring is written for the orchestrating model. Results are small JSON-able
dicts (a model reads them, a template renders them); a recoverable failure (an unknown
id, a malformed formula) comes back as {"error": "..."} the caller can act on, never as
an exception in the transcript.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from tools.perfumery.composition import Brief, Composer
from tools.perfumery.database import Perfumery
from tools.perfumery.formula import Formula, FormulaError, Ingredient
from tools.perfumery.revision import formula_changes
from tools.perfumery.usage import material_use, regulated_names
from tools.search.budget import CatalogPrices, apply_budget
from tools.search.catalog import Perfume
from tools.search.engine import SearchEngine, SearchResult
from tools.search.fit import (
    HOURS,
    LONGEVITY,
    SILLAGE,
    accord_rarity,
    accord_weights,
    character_fit,
    gender_fit,
    group_fit,
    lasts,
    likeness,
    of_its_line,
    rank_of,
    season_fit,
)
from tools.search.text import compact

# What ask_about_perfumes answers about a shown perfume.
_ASPECTS = (
    "longevity",
    "sillage",
    "season",
    "occasion",
    "mood",
    "gender",
    "character",
    "price",
    "size",
    "stock",
    "notes",
)

# A chat formula lists the materials and leaves the solvent out ("Hedione 30%, Iso E Super 20%"):
# the rest of the concentrate is taken as this diluent, and the report says so.
CHAT_DILUENT = "Dipropylene Glycol"
CHAT_SUM_TOLERANCE_PCT = 0.5


def _solvent_for_the_rest(formula: Formula) -> Formula:
    """A chat formula whose lines add up to less than 100 % gets the rest as solvent, stated in
    `assumed`; nothing (0 %) or more than 100 % is left as it is, for the validator to refuse to judge."""
    total = sum(i.pct for i in formula.ingredients)
    if total <= 0 or total >= 100.0 - CHAT_SUM_TOLERANCE_PCT:
        return formula
    rest = round(100.0 - total, 4)
    formula.ingredients.append(Ingredient(CHAT_DILUENT, rest))
    formula.assumed.append(
        f"the lines add up to {total:g} %; the other {rest:g} % of the concentrate was taken as solvent "
        f"({CHAT_DILUENT}): if it holds other materials, list them"
    )
    return formula


def _card(p: Perfume | SearchResult, *, full: bool = False) -> dict[str, Any]:
    card: dict[str, Any] = {
        "id": p.id,
        "brand": p.brand,
        "name": p.name,
        "year": p.year,
        "gender": p.gender,
        "accords": p.accords[:6],
        "notes": p.notes if full else p.notes[:10],
        "longevity": p.longevity,
        "sillage": p.sillage,
    }
    if p.price is not None:
        card |= {
            "price": p.price,
            "currency": p.currency,
            "size_ml": p.size_ml,
            "stock": p.stock,
            "sample_data": p.sample_data,
        }
    if isinstance(p, SearchResult):
        card["reason"] = p.reason
    elif full:
        if p.top_notes or p.heart_notes or p.base_notes:  # a pyramid only when the catalog has one
            card |= {"top_notes": p.top_notes, "heart_notes": p.heart_notes, "base_notes": p.base_notes}
        card["perfumers"] = p.perfumers
    return card


@dataclass
class Toolkit:
    engine: SearchEngine
    perfumery: Perfumery
    composer: Composer
    _tools: list[BaseTool] = field(default_factory=list, repr=False)
    _prices: CatalogPrices | None = field(default=None, repr=False)  # read from the index once
    _rarity: dict[str, float] | None = field(default=None, repr=False)  # each accord's rarity, counted once

    # -- the tools' bodies -----------------------------------------------------------------
    async def search_perfumes(
        self, query: str, top_k: int = 5, filters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Search the shop's perfume catalog in Korean or English ("상큼한 봄 향수", "woody without oud").
        `filters` may hold notes, exclude_notes, accords, exclude_accords, brand, gender (women|men|unisex),
        year_min, year_max, price_max (with price_currency when the customer named another currency: it
        is converted), in_stock; they always hold. Returns perfumes with why each matched, and `budget` when
        the budget was converted or could not be applied (a catalog without prices)."""
        top_k = max(1, min(int(top_k), 20))
        filters, budget = self._in_catalog_prices(filters or {})
        response = await self.engine.search(query, top_k, "hybrid", filters or None)
        parsed = response.parsed
        return {
            "results": [_card(r) for r in response.results],
            "understood": {k: v for k, v in parsed.to_dict().items() if v and k not in ("text", "preferred_accords")},
        } | ({"budget": budget} if budget else {})

    def get_perfume(self, perfume_id: str) -> dict[str, Any]:
        """Everything the catalog knows about one perfume, by its catalog id."""
        perfume = self.engine.get(str(perfume_id))
        if perfume is None:
            return {"error": f"no perfume with id {perfume_id!r} in the catalog; search for it by name first"}
        return _card(perfume, full=True)

    def compare_perfumes(self, perfume_ids: list[str]) -> dict[str, Any]:
        """Compare two to four catalog perfumes: shared and distinct notes and accords, longevity, price."""
        ids = list(dict.fromkeys(str(i) for i in perfume_ids))
        if not 2 <= len(ids) <= 4:
            return {"error": "give two to four different perfume ids"}
        perfumes = [self.engine.get(i) for i in ids]
        missing = [i for i, p in zip(ids, perfumes, strict=True) if p is None]
        if missing:
            return {"error": f"not in the catalog: {', '.join(missing)}"}
        found = [p for p in perfumes if p is not None]
        shared_notes = set.intersection(*(set(p.notes) for p in found))
        shared_accords = set.intersection(*(set(p.accords) for p in found))
        return {
            "perfumes": [_card(p) | {"only_notes": [n for n in p.notes if n not in shared_notes][:8]} for p in found],
            "shared_notes": sorted(shared_notes),
            "shared_accords": sorted(shared_accords),
        }

    def ask_about_perfumes(
        self,
        perfume_ids: list[str],
        aspects: list[str] | None = None,
        choose: str | None = None,
        season: str | None = None,
        occasion: str | None = None,
        mood: str | None = None,
        gender: str | None = None,
        accords: list[str] | None = None,
        notes: list[str] | None = None,
        direction: str = "high",
        size_ml: float | None = None,
        hours: float | None = None,
        layer: str | None = None,
    ) -> dict[str, Any]:
        """Answer the customer's question about perfumes already shown (catalog ids, e.g. "is the second one
        OK for the office?", "which of the two lasts longer?", "가격은요?"). `aspects`: any of longevity,
        sillage, season, occasion, mood, gender, character (the `accords`/`notes` asked about), price, size,
        stock, notes. `season` (spring|summer|autumn|winter), `occasion` (office, date, wedding, gym ...),
        `mood`, `gender` (women|men|unisex): the condition asked about. `choose`: "best" picks the one that
        fits best, "cheapest" / "priciest" by price; `direction` "low" when the least is wanted (the most
        subtle). `size_ml`: a bottle size asked for. `hours`: how long it must last ("from 9 to 6": 9).
        `layer` (top|heart|base): the part of the pyramid asked about ("what's in the drydown?": base).
        Returns each perfume with the facts and a verdict per aspect, and the chosen id."""
        ids = list(dict.fromkeys(str(i) for i in perfume_ids))[:6]
        found = [p for p in (self.engine.get(i) for i in ids) if p is not None]
        if not found:
            return {"error": f"not in the catalog: {', '.join(ids)}; search for the perfume first"}
        asked = [a for a in (aspects or ["notes"]) if a in _ASPECTS] or ["notes"]
        condition = {"season": season, "occasion": occasion, "mood": mood, "gender": gender}
        answers = {p.id: self._answers(p, asked, condition, accords or [], notes or [], size_ml) for p in found}
        for answer in answers.values():
            if "longevity" in answer and hours:
                answer["longevity"] |= {"asked_hours": hours, "lasts": lasts(answer["longevity"]["label"], hours)}
            if "notes" in answer and layer in ("top", "heart", "base"):
                answer["notes"] = {**(answer["notes"] or {}), "layer": layer}
        chosen = None
        if choose and len(found) >= 2:
            chosen = self._choose(found, answers, asked, choose, direction)
        ordered = sorted(found, key=lambda p: p.id != chosen)  # the chosen one first, the rest as shown
        return {
            "aspects": asked,
            "condition": {k: v for k, v in condition.items() if v},
            "choose": choose,
            "direction": direction,
            "chosen_id": chosen,
            "perfumes": [_card(p, full=True) | {"answers": answers[p.id]} for p in ordered],
        }

    def _answers(
        self,
        p: Perfume,
        aspects: list[str],
        condition: dict[str, str | None],
        accords: list[str],
        notes: list[str],
        size_ml: float | None,
    ) -> dict[str, Any]:
        lexicon = self.engine.lexicon
        out: dict[str, Any] = {}
        for aspect in aspects:
            if aspect == "longevity":
                out[aspect] = {
                    "label": p.longevity,
                    "hours": HOURS.get(p.longevity or ""),
                    "rank": rank_of(LONGEVITY, p.longevity),
                }
            elif aspect == "sillage":
                out[aspect] = {"label": p.sillage, "rank": rank_of(SILLAGE, p.sillage)}
            elif aspect == "season":
                seasons = [condition["season"]] if condition.get("season") else ["spring", "summer", "autumn", "winter"]
                out[aspect] = {s: season_fit(p, s, lexicon).to_dict() for s in seasons if s}
            elif aspect in ("occasion", "mood") and condition.get(aspect):
                name = str(condition[aspect])
                out[aspect] = {name: group_fit(p, aspect, name, lexicon).to_dict()}
            elif aspect == "gender":
                out[aspect] = {
                    "made_for": p.gender,
                    "asked": condition.get("gender"),
                    **gender_fit(p, condition.get("gender")).to_dict(),
                }
            elif aspect == "character":
                out[aspect] = {"accords": accords, "notes": notes, **character_fit(p, accords, notes).to_dict()}
            elif aspect == "price":
                out[aspect] = {
                    "price": p.price,
                    "currency": p.currency,
                    "size_ml": p.size_ml,
                    "sample_data": p.sample_data,
                }
            elif aspect == "size":
                out[aspect] = {"size_ml": p.size_ml, "asked_ml": size_ml}
            elif aspect == "stock":
                out[aspect] = {"stock": p.stock, "sample_data": p.sample_data}
            elif aspect == "notes":
                out[aspect] = {"accords": p.accords[:6]}
        return out

    @staticmethod
    def _choose(
        found: list[Perfume], answers: dict[str, dict[str, Any]], aspects: list[str], choose: str, direction: str
    ) -> str | None:
        """The perfume that answers "which one": by price for a price selector, else by the first aspect
        that tells them apart (what was asked first decides; the rest break ties)."""
        if choose in ("cheapest", "priciest"):
            priced = [p for p in found if p.price is not None]
            if not priced:
                return None
            pick = min if choose == "cheapest" else max
            return pick(priced, key=lambda p: p.price or 0.0).id

        def score(p: Perfume, aspect: str) -> float:
            if aspect == "price":
                return -(p.price or 0.0)
            answer = answers[p.id].get(aspect) or {}
            if aspect in ("longevity", "sillage"):
                value = float(answer.get("rank", -1))
            elif aspect in ("season", "occasion", "mood"):
                value = sum(float(v.get("score", 0.0)) for v in answer.values())
            else:
                value = float(answer.get("score", 0.0))
            # "the least sweet", "the softer one": the lowest wins; "은은하면서 오래가는 거" still wants the longer.
            return -value if direction == "low" and aspect != "longevity" else value

        decisive = [a for a in aspects if a != "notes" and len({score(p, a) for p in found}) > 1]
        if not decisive:
            return None
        return max(found, key=lambda p: tuple(score(p, a) for a in decisive)).id

    def _in_catalog_prices(self, filters: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """`filters` with a budget converted to the catalog's currency, and what was converted (or that the
        catalog has no prices); the catalog's prices are read from the index once."""
        if self._prices is None:
            self._prices = CatalogPrices.of(self.engine)
        return apply_budget(filters, self._prices)

    async def find_similar_perfumes(
        self,
        perfume_id: str,
        query: str = "",
        top_k: int = 5,
        filters: dict[str, Any] | None = None,
        cheaper: bool = False,
    ) -> dict[str, Any]:
        """Perfumes like a catalog perfume (by id), never that perfume itself: its main accords and notes
        searched with the customer's words on top (`query`, "but less sweet") and `filters` (as
        search_perfumes); `cheaper` keeps to prices below its own."""
        reference = self.engine.get(str(perfume_id))
        if reference is None:
            return {"error": f"no perfume with id {perfume_id!r} in the catalog; search for it by name first"}
        filters = dict(filters or {})
        if cheaper and reference.price is not None:
            filters["price_max"] = min(float(filters.get("price_max") or reference.price), reference.price - 1)
        # The customer's words without the reference's own name ("Tom Ford Oud Wood 같은 느낌"): its brand
        # is no wish for that brand, its name no note.
        lexicon = self.engine.lexicon
        aliases = lexicon.perfume_aliases.get(lexicon.perfume_key(reference.brand, reference.name), [])
        for name in sorted([f"{reference.brand} {reference.name}", reference.name, *aliases], key=len, reverse=True):
            query = re.sub(re.escape(name), " ", query, flags=re.IGNORECASE)
        if self._rarity is None:  # a pass over the catalog (38k perfumes): off the event loop, once
            self._rarity = await asyncio.to_thread(accord_rarity, self.engine.index.perfumes)
        rarity = self._rarity
        # Its character is its most telling accords (leading and rare: patchouli and rose of Coco Mademoiselle,
        # not the citrus half the catalog opens with), which a search prefers while enough perfumes have
        # them; its notes would each be a condition every result must meet. Likeness orders a wide pool.
        weight = accord_weights(reference, rarity, limit=5)
        telling = sorted(weight, key=lambda a: -weight[a])[:3]
        like = f"{', '.join(telling)}. {query.strip()}".strip()
        said = self.engine.parse(query)
        asked = set(said.accords)  # "비슷한 우디 향으로": what the customer named holds first
        top_k = max(1, min(int(top_k), 20))
        if not said.has_constraints():
            # Nothing of its own asked for ("분위기 비슷한데 14만원 안쪽으로"): the catalog ranked by likeness.
            converted, budget = self._in_catalog_prices(filters)
            response = await asyncio.to_thread(
                self.engine.alike, reference.id, top_k, converted or None, rarity, said.language
            )
            out = {
                "results": [_card(r) for r in response.results],
                "understood": {"accords": response.parsed.accords},
                "similar_to": {"id": reference.id, "brand": reference.brand, "name": reference.name},
                "query": like,
            }
            if cheaper and reference.price is None:  # "cheaper" cannot be judged: say so, and still recommend
                budget = {**(budget or {}), "no_prices": True}
            return out | ({"budget": budget} if budget else {})
        found = await self.search_perfumes(like, top_k * 8, filters)
        # Never the reference again, nor its own line under another name ("Bleu de Chanel Eau de Parfum").
        cards = [c for c in found["results"] if not of_its_line(reference, c["brand"], c["name"])]
        main = set(reference.accords[:2])

        def alike(card: dict[str, Any]) -> tuple[bool, bool, float]:
            """With the accords the customer named first, then sharing one of its two leading accords, then
            the most alike (shared accords weighed by rarity)."""
            other = self.engine.get(card["id"])
            accords = set(card["accords"])
            return (not asked <= accords, not main & accords, -likeness(reference, other, rarity) if other else 0.0)

        ranked = sorted(cards, key=alike)
        out = {
            **found,
            "results": ranked[:top_k],
            "similar_to": {"id": reference.id, "brand": reference.brand, "name": reference.name},
            "query": like,
        }
        if cheaper and reference.price is None:  # "cheaper" cannot be judged: say so, and still recommend
            out["budget"] = {**(found.get("budget") or {}), "no_prices": True}
        return out

    def compose_formula(
        self,
        fragrance_family: str = "floral",
        mood: str | None = None,
        intensity: str = "moderate",
        season: str | None = None,
        liked_notes: list[str] | None = None,
        disliked_notes: list[str] | None = None,
        concentration: str = "EDP",
        inspiration_id: str | None = None,
        language: str | None = None,
        seed: int = 0,
        more_notes: list[str] | None = None,
        less_notes: list[str] | None = None,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Compose a custom perfume formula from a brief (family, mood, intensity, season, liked and
        disliked notes, concentration, optionally a catalog perfume as inspiration). The formula is
        validated against IFRA and EU allergen rules before it is returned.

        To change a formula composed before ("more rose", "no musk", "lighter", "as an EDT"), pass
        its brief again with the change (more_notes / less_notes for more or less of a note or
        family, a dislike for without, intensity, concentration) and the earlier result's `request`
        as `previous`: the result then lists what changed. Its `request` is the brief to change next."""
        request = {
            "fragrance_family": fragrance_family, "mood": mood, "intensity": intensity, "season": season,
            "liked_notes": list(liked_notes or []), "disliked_notes": list(disliked_notes or []),
            "concentration": concentration, "inspiration_id": inspiration_id, "language": language, "seed": seed,
            "more_notes": list(more_notes or []), "less_notes": list(less_notes or []),
        }  # fmt: skip
        composed = self._compose(request)
        if "error" in composed or not previous:
            return composed
        before = self._compose({k: v for k, v in previous.items() if k in request})
        if "error" not in before:
            composed["changes"] = formula_changes(before, composed)
        return composed

    def _compose(self, request: dict[str, Any]) -> dict[str, Any]:
        """One composition of a brief (compose_formula's arguments), with the brief as `request`."""
        inspiration_id = request.get("inspiration_id")
        inspiration = self.engine.get(inspiration_id) if inspiration_id else None
        if inspiration_id and inspiration is None:
            return {"error": f"no perfume with id {inspiration_id!r} to take inspiration from"}
        language = request.get("language")
        brief = Brief(
            fragrance_family=request.get("fragrance_family") or "floral",
            mood=request.get("mood"),
            intensity=request.get("intensity") or "moderate",
            season=request.get("season"),
            liked_notes=list(request.get("liked_notes") or []),
            disliked_notes=list(request.get("disliked_notes") or []),
            concentration=request.get("concentration") or "EDP",
            inspiration_notes=inspiration.notes if inspiration else [],
            inspiration_name=f"{inspiration.brand} {inspiration.name}" if inspiration else None,
            language=language if language in ("ko", "en") else None,
            seed=int(request.get("seed") or 0),
            more_notes=list(request.get("more_notes") or []),
            less_notes=list(request.get("less_notes") or []),
        )
        try:
            return self.composer.compose(brief).to_dict() | {"request": request}
        except FormulaError as exc:
            return {"error": str(exc)}

    def validate_formula(
        self,
        ingredients: list[dict[str, Any]],
        concentration: str | None = None,
        dilution_pct: float | None = None,
        ifra_category: str = "4",
    ) -> dict[str, Any]:
        """Check a formula ({"name", "pct", optional "cas"} per ingredient, % of the concentrate) against
        the IFRA Standards and EU allergen rules; returns the verdict (compliant, not_compliant or
        cannot_judge, with why), violations, allergens to declare, warnings, what was assumed (EDP when
        no concentration is given), compliant substitutes and, when possible, a corrected formula."""
        data: dict[str, Any] = {"ingredients": ingredients, "ifra_category": ifra_category}
        if dilution_pct is not None:
            data["dilution_pct"] = dilution_pct
        if concentration:
            data["concentration"] = concentration
        validator = self.perfumery.validator
        try:
            formula = Formula.from_dict(data)
            formula = _solvent_for_the_rest(formula)
            return validator.validate(formula).to_dict()
        except FormulaError as exc:
            return {"error": str(exc)}

    def lookup_material(
        self,
        name: str,
        pct: float | None = None,
        concentration: str | None = None,
        basis: str = "product",
        limit: bool = False,
        instead: bool = False,
        dilution_pct: float | None = None,
    ) -> dict[str, Any]:
        """What a perfumery material or note is (Iso E Super, 쿠마린, vetiver): family, odour, where it sits
        in a formula, usual dose, and its IFRA / EU status.

        For a question about using it ("is 5% coumarin OK in an EDP?", "메틸 유제놀 넣어도 되나요?", "how
        much oakmoss may I use?") pass `pct` (the amount asked about; % of the finished product, or of the
        concentrate with basis="concentrate") and `concentration` (EDP, EDT ...), or limit=True when no
        amount was given: `use` then holds the IFRA limit in the finished product and in the concentrate,
        and whether the amount is allowed. `dilution_pct`: the concentrate's % of the product when the
        customer gives it ("my EDP is 20% concentrate", "부향률 15%"). instead=True when the customer asks
        what to use in its place (the compliant substitutes and the role each plays are always in
        `substitutes`)."""
        use = None
        if pct is not None or limit:
            found = material_use(
                self.perfumery,
                name,
                pct,
                concentration,
                "concentrate" if basis == "concentrate" else "product",
                dilution_pct=dilution_pct,
            )
            use = found.to_dict() if found.known else None
        material = self.perfumery.materials.resolve(name)
        if material is None and use is None:
            carriers = self.perfumery.materials.for_note(self.engine.lexicon.canonical_note(name))
            material = carriers[0] if carriers else None
        if material is None:
            listed = use or material_use(self.perfumery, name).to_dict()
            if not listed["known"]:
                return {"error": f"{name!r} is not in the materials database"}
            return self._regulated_only(listed) | ({"use": use} if use else {}) | {"asked_instead": instead}
        regs = self.perfumery.regulations
        standards = {s.key: s for cas in material.cas for s in regs.by_cas.get(cas, [])}
        return (
            ({"use": use} if use else {})
            | {"asked_instead": instead}
            | {
                "name": material.name,
                "korean_name": material.korean,
                "cas": material.cas,
                "family": material.family,
                "descriptors": material.descriptors,
                "layer": material.volatility,
                "natural": material.natural,
                "usual_pct_of_concentrate": [material.use_min_pct, material.use_max_pct],
                "notes_for": material.notes_for,
                "ifra": [
                    {
                        "standard": s.key,
                        "name": s.name,
                        "type": "/".join(sorted(s.kinds)),
                        "cat4_limit_pct": s.limit("4"),
                    }
                    for s in standards.values()
                ],
                "eu_allergen": any(cas in regs.allergen_by_cas for cas in material.cas),
                "eu_banned": any(cas in regs.eu_banned_by_cas for cas in material.cas),
                "usable": self.perfumery.validator.usable(material.name),
                "substitutes": self._substitutes(material),
                "amendment": regs.amendment,
            }
        )

    def _korean(self, name: str) -> str | None:
        """A material's Korean name, for replies in Korean."""
        material = self.perfumery.materials.resolve(name)
        return material.korean if material is not None and material.korean != material.name else None

    def _regulated_only(self, use: dict[str, Any]) -> dict[str, Any]:
        """A regulated substance that is no material of the database (methyl eugenol, safrole): what
        the IFRA and EU tables say of it, and the usable alternatives the substitutes table offers."""
        regs, validator = self.perfumery.regulations, self.perfumery.validator
        standard = regs.by_name.get(compact(use["material"]))
        banned = regs.eu_banned_by_name.get(compact(use["material"]))
        cas = list(standard.cas if standard else banned.cas if banned else [])
        names = {compact(use["material"]), *(compact(n) for n in (standard.synonyms if standard else []))}
        korean = next((alias for alias, canonical in regulated_names().items()
                       if canonical == use["material"] and re.search(r"[\uac00-\ud7a3]", alias)), None)  # fmt: skip
        return {
            "name": use["material"],
            "korean_name": korean,
            "cas": cas,
            "regulated_only": True,
            "ifra": (
                [
                    {
                        "standard": standard.key,
                        "name": standard.name,
                        "type": "/".join(sorted(standard.kinds)),
                        "cat4_limit_pct": standard.limit("4"),
                    }
                ]
                if standard
                else []
            ),
            "eu_allergen": any(c in regs.allergen_by_cas for c in cas),
            "eu_banned": any(c in regs.eu_banned_by_cas for c in cas),
            "usable": not use["prohibited"],
            "substitutes": [
                {"substitute": s.substitute, "korean_name": self._korean(s.substitute), "role": s.role, "note": s.note}
                for s in regs.substitutes
                if (set(s.cas) & set(cas) or compact(s.material) in names) and validator.usable(s.substitute)
            ],
            "amendment": regs.amendment,
        }

    def _substitutes(self, material: Any) -> list[dict[str, str | None]]:
        """Compliant alternatives from the curated table, for a prohibited or restricted material."""
        regs, validator = self.perfumery.regulations, self.perfumery.validator
        names = {compact(n) for n in [material.name, *material.synonyms]}
        return [
            {"substitute": s.substitute, "korean_name": self._korean(s.substitute), "role": s.role, "note": s.note}
            for s in regs.substitutes
            if (set(s.cas) & set(material.cas) or compact(s.material) in names)
            and validator.usable(s.substitute)
            and compact(s.substitute) not in names
        ]

    def remember_preference(
        self,
        liked_notes: list[str] | None = None,
        disliked_notes: list[str] | None = None,
        disliked_accords: list[str] | None = None,
    ) -> dict[str, Any]:
        """Remember notes the customer says they like or dislike, and families they dislike ("anything
        sweet", "citrus"), for the rest of the conversation and their later ones (a remembered dislike is
        kept out of later searches and formulas). Notes and families in Korean or English."""
        lexicon = self.engine.lexicon

        def canonical(notes: list[str] | None) -> list[str]:
            return sorted({lexicon.canonical_note(str(n)) for n in notes or [] if str(n).strip()})

        liked, disliked = canonical(liked_notes), canonical(disliked_notes)
        families = sorted({lexicon.canonical_accord(str(a)) for a in disliked_accords or [] if str(a).strip()})
        if not liked and not disliked and not families:
            return {"error": "name at least one liked or disliked note to remember"}
        remembered = {"liked_notes": [n for n in liked if n not in disliked], "disliked_notes": disliked}
        return {"remembered": remembered | ({"disliked_accords": families} if families else {})}

    # -- as LangChain tools ------------------------------------------------------------------
    def tools(self) -> list[BaseTool]:
        """The same functions as LangChain tools, for a tool-calling model; built once (each
        build derives JSON schemas from the signatures: ~35 ms)."""
        if self._tools:
            return self._tools
        out: list[BaseTool] = [
            StructuredTool.from_function(coroutine=self.search_perfumes, name="search_perfumes"),
            StructuredTool.from_function(coroutine=self.find_similar_perfumes, name="find_similar_perfumes"),
        ]
        for function in (
            self.get_perfume,
            self.compare_perfumes,
            self.ask_about_perfumes,
            self.compose_formula,
            self.validate_formula,
            self.lookup_material,
            self.remember_preference,
        ):
            out.append(StructuredTool.from_function(func=function, name=function.__name__))
        self._tools = out
        return out
