"""`validate_formula`: a formula checked against IFRA and the EU allergen rules.

Every amount is compared in the FINISHED product (concentrate % x dilution), which is
what IFRA limits and the EU threshold are about. A substance is summed over every
source: added directly, and carried in by naturals (bergamot oil brings limonene and
linalool) where the constituents table gives their share. A material the database
cannot identify is a violation of its own kind, never silently unrestricted.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import FragranceError
from core.jsonl import read_jsonl
from tools.perfumery.formula import AllergenLine, Formula, FormulaError, Ingredient, Report, Violation
from tools.perfumery.materials import Material, MaterialDB
from tools.perfumery.regulation import (
    LEAVE_ON_THRESHOLD_PCT,
    RINSE_OFF_THRESHOLD_PCT,
    Allergen,
    Regulations,
    split_cas,
)
from tools.search.text import compact

# A concentrate's lines must add up to 100 % within this; otherwise the amounts in the
# product are unknown and the report says it cannot judge them.
SUM_TOLERANCE_PCT = 0.5
# Share of the concentrate per layer that a balanced formula stays within.
BALANCE_TARGETS = {"top": (10.0, 40.0), "heart": (25.0, 60.0), "base": (20.0, 60.0)}
CORRECTION_MARGIN = 0.999  # a corrected material lands just under its limit (rounded down)
DILUENT = "Dipropylene Glycol"


@dataclass(slots=True)
class _Resolved:
    ingredient: Ingredient
    material: Material | None
    cas: list[str]
    identified_as: str | None  # what it was matched to


class Validator:
    def __init__(self, materials: MaterialDB, regulations: Regulations) -> None:
        self.materials = materials
        self.regs = regulations
        self._constituents_of: dict[str, list[tuple[str, str, float]]] = {}

    # -- identification ------------------------------------------------------------------
    def _resolve(self, ingredient: Ingredient) -> _Resolved:
        # The name decides between materials that share a CAS number (cinnamon bark and leaf oil);
        # a name and CAS that disagree were refused before this.
        by_name = self.materials.resolve(ingredient.name)
        by_cas = self.materials.resolve(None, ingredient.cas) if ingredient.cas else None
        shared = by_name is not None and set(split_cas(ingredient.cas or "")) & set(by_name.cas)
        material = by_name if by_name is not None and (by_cas is None or shared) else by_cas or by_name
        if material is not None:
            return _Resolved(ingredient, material, material.cas, material.name)
        cas_given = [c for c in (ingredient.cas or "").replace("|", ",").split(",") if c.strip()]
        for cas in (c.strip() for c in cas_given):
            if cas in self.regs.by_cas:
                return _Resolved(ingredient, None, [cas], self.regs.by_cas[cas][0].name)
            listed = self.regs.allergen_by_cas.get(cas) or self.regs.eu_banned_by_cas.get(cas)
            if listed is not None:
                return _Resolved(ingredient, None, [cas], listed.name)
        standard = self.regs.by_name.get(compact(ingredient.name))
        if standard is not None:
            return _Resolved(ingredient, None, standard.cas, standard.name)
        banned = self.regs.eu_banned_by_name.get(compact(ingredient.name))
        if banned is not None:
            return _Resolved(ingredient, None, banned.cas, banned.name)
        return _Resolved(ingredient, None, [], None)

    def _constituents(self, resolved: _Resolved) -> list[tuple[str, str, float]]:
        return self.constituents_of(resolved.material) if resolved.material is not None else []

    def constituents_of(self, material: Material) -> list[tuple[str, str, float]]:
        """(name, CAS, % share) of what a natural contains, where the tables say."""
        if not material.natural:
            return []
        if material.name not in self._constituents_of:
            keys = [compact(material.name), *(compact(s) for s in material.synonyms), *material.cas]
            found = next((self.regs.constituents[k] for k in keys if k in self.regs.constituents), [])
            self._constituents_of[material.name] = found
        return self._constituents_of[material.name]

    def _substance_totals(
        self, items: list[_Resolved], dilution: float, primary: dict[str, str]
    ) -> tuple[dict[str, float], dict[str, list[tuple[int, float, bool]]]]:
        """Finished-product % per CAS, and which ingredient (index) gave how much, directly or not.

        A substance known under several CAS numbers is kept under one (`primary`), so
        limonene added as such and limonene from bergamot oil add up.
        """
        totals: dict[str, float] = defaultdict(float)
        sources: dict[str, list[tuple[int, float, bool]]] = defaultdict(list)
        for index, item in enumerate(items):
            finished = item.ingredient.pct * dilution / 100.0
            if item.cas:
                totals[item.cas[0]] += finished
                sources[item.cas[0]].append((index, finished, True))
            for _name, cas, share in self._constituents(item):
                amount = finished * share / 100.0
                totals[primary.get(cas, cas)] += amount
                sources[primary.get(cas, cas)].append((index, amount, False))
        return totals, sources

    # -- the check -------------------------------------------------------------------------
    def validate(
        self,
        formula: Formula,
        *,
        correct: bool = True,
        balance_targets: dict[str, tuple[float, float]] | None = None,
    ) -> Report:
        """Check `formula`; `balance_targets` are the style's top/heart/base ranges (% of the concentrate).

        FormulaError when a line's name and CAS number name different materials. Lines of
        one material are merged (amounts summed) with one note.
        """
        cas_notes = [n for n in (self._check_name_and_cas(i) for i in formula.ingredients) if n]
        formula, merged_notes = self._merge_duplicates(formula)
        items = [self._resolve(i) for i in formula.ingredients]
        dilution = formula.dilution_pct
        concentrate_sum = round(sum(i.pct for i in formula.ingredients), 4)
        judgeable = abs(concentrate_sum - 100.0) <= SUM_TOLERANCE_PCT
        cannot_judge = (
            None
            if judgeable
            else f"the concentrate's lines add up to {concentrate_sum:g} %, not 100 % (+/- {SUM_TOLERANCE_PCT:g}): "
            "the amount of each material in the product is unknown, so IFRA limits and allergens cannot be judged; "
            "give every line as % of the concentrate, solvent included, so that they add up to 100"
        )
        # A material known under several CAS numbers is counted under its first one; a
        # standard or allergen entry naming any of the others still finds it.
        primary = {alias: item.cas[0] for item in items for alias in item.cas[1:]}
        totals, sources = self._substance_totals(items, dilution, primary)
        violations: list[Violation] = []
        notes: list[str] = []
        report_notes: list[str] = list(dict.fromkeys(cas_notes)) + merged_notes
        names = [i.ingredient.name for i in items]

        for item in items:
            if item.identified_as is None:
                violations.append(
                    Violation(
                        kind="unknown_material",
                        name=item.ingredient.name,
                        cas=item.ingredient.cas,
                        message=f"{item.ingredient.name!r} is not in the materials database or the IFRA/EU tables; "
                        "its safety cannot be checked",
                    )
                )

        def covered(cas_numbers: list[str]) -> list[str]:
            return sorted({primary.get(c, c) for c in cas_numbers if totals.get(primary.get(c, c), 0.0) > 0})

        for standard in self.regs.standards:
            involved = covered(standard.cas)
            if not involved:
                continue
            total = sum(totals[c] for c in involved)
            contributors = sorted({names[i] for c in involved for i, _, _ in sources[c]})
            first_cas = involved[0]
            limit = standard.limit(formula.ifra_category)
            direct = sum(a for c in involved for _, a, as_such in sources[c] if as_such)
            banned_direct = [
                names[i] for c in involved if c in standard.prohibited_cas for i, _, as_such in sources[c] if as_such
            ]
            if banned_direct:  # the banned part of a mixed standard (Tagetes erecta)
                limit = 0.0
                contributors = sorted(set(banned_direct))
            elif limit is None and standard.natural_cap is not None and direct == 0:
                # Banned as such, tolerated from naturals up to a cap (benzyl cyanide, safrole).
                limit = standard.natural_cap
            if limit == 0.0 or (limit is None and "prohibition" in standard.kinds):
                violations.append(
                    Violation(
                        kind="prohibited",
                        name=standard.name,
                        cas=first_cas,
                        limit_pct=0.0,
                        actual_pct=round(total, 6),
                        standard=standard.key,
                        sources=contributors,
                        message=f"{standard.name} is prohibited by IFRA ({standard.key})",
                    )
                )
            elif limit is not None and total > limit + 1e-12 and judgeable:
                violations.append(
                    Violation(
                        kind="ifra_limit",
                        name=standard.name,
                        cas=first_cas,
                        limit_pct=limit,
                        actual_pct=round(total, 6),
                        standard=standard.key,
                        over_by=round(total / limit, 3),
                        sources=contributors,
                        message=f"{standard.name}: {total:.4g} % in the product, limit {limit:g} % "
                        f"(category {formula.ifra_category})",
                    )
                )
            elif limit is None and not standard.unrestricted(formula.ifra_category):
                notes.append(
                    f"{standard.name} ({standard.key}): the category {formula.ifra_category} limit reads "
                    f"{standard.limit_text[formula.ifra_category]!r}; check the standard's notes by hand"
                )

        if judgeable:
            violations += self._combined_limits(formula, totals)
            # Furocoumarin-containing oils: each under its own limit, and together at most 100 % of their limits.
            shares = [
                (standard, sum(totals[c] for c in covered(standard.cas)) / limit)
                for standard in self.regs.standards
                if standard.sum_of_ratios and (limit := standard.limit(formula.ifra_category)) and covered(standard.cas)
            ]
            if len(shares) > 1 and sum(r for _, r in shares) > 1 + 1e-9 and all(r <= 1 for _, r in shares):
                total_share = sum(r for _, r in shares)
                involved = sorted({c for standard, _ in shares for c in covered(standard.cas)})
                parts = ", ".join(f"{standard.name} {100 * r:.0f} %" for standard, r in shares)
                violations.append(
                    Violation(
                        kind="ifra_limit",
                        name="Furocoumarin-containing oils together",
                        cas=None,
                        limit_pct=100.0,
                        actual_pct=round(100 * total_share, 4),
                        standard="+".join(standard.key for standard, _ in shares),
                        over_by=round(total_share, 3),
                        sources=sorted({names[i] for c in involved for i, _, _ in sources[c]}),
                        message=f"furocoumarin-containing oils together reach {100 * total_share:.0f} % of their "
                        f"limits ({parts}); each is under its own, but IFRA allows 100 % in total "
                        f"(category {formula.ifra_category})",
                    )
                )
        for banned in self.regs.eu_prohibited:
            involved = covered(banned.cas)
            counted = [
                (i, amount)
                for c in involved
                for i, amount, as_such in sources[c]
                if as_such or not self._specified_free_of(items[i], banned)
            ]
            if counted:
                violations.append(
                    Violation(
                        kind="prohibited",
                        name=banned.name,
                        cas=involved[0],
                        limit_pct=0.0,
                        actual_pct=round(sum(a for _, a in counted), 6),
                        standard=banned.reference,
                        sources=sorted({names[i] for i, _ in counted}),
                        message=f"{banned.name} is banned in cosmetics in the EU ({banned.reference})",
                    )
                )
        report_notes += self._specification_notes(items)

        threshold = LEAVE_ON_THRESHOLD_PCT if formula.leave_on else RINSE_OFF_THRESHOLD_PCT
        allergens = []
        for allergen in self.regs.allergens if judgeable else []:
            involved = covered(allergen.cas)
            total = sum(totals[c] for c in involved)
            if total > threshold:
                allergens.append(
                    AllergenLine(
                        name=allergen.name,
                        cas=allergen.cas[0],
                        finished_pct=round(total, 6),
                        korean=allergen.korean,
                        sources=sorted({names[i] for c in involved for i, _, _ in sources[c]}),
                    )
                )
        allergens.sort(key=lambda a: -a.finished_pct)

        warnings = self._warnings(formula, items, balance_targets or BALANCE_TARGETS, judgeable) + notes
        report = Report(
            compliant=judgeable and not violations,
            amendment=self.regs.amendment,
            ifra_category=formula.ifra_category,
            dilution_pct=dilution,
            violations=violations,
            allergens_to_declare=allergens,
            warnings=warnings,
            concentrate_sum_pct=concentrate_sum,
            balance=self._balance(items),
            resolved=[
                {"input": i.ingredient.name, "material": i.identified_as, "cas": i.cas[0] if i.cas else None}
                for i in items
            ],
            judgeable=judgeable,
            cannot_judge=cannot_judge,
            assumed=list(formula.assumed),
            notes=report_notes,
            substitutes=self._substitutes_for(violations, items),
        )
        if violations and correct:
            if judgeable:
                report.corrected, report.correction_note = self._correction(formula, report)
            else:
                report.correction_note = (
                    "no corrected formula: the amounts cannot be judged until the concentrate adds up to 100 %"
                )
        return report

    def _balance(self, items: list[_Resolved]) -> dict[str, float]:
        layers = {"top": 0.0, "heart": 0.0, "base": 0.0}
        for item in items:
            if item.material is not None and item.material.family != "solvent":
                layers[item.material.volatility] += item.ingredient.pct
        total = sum(layers.values()) or 1.0
        return {k: round(100.0 * v / total, 2) for k, v in layers.items()}

    def _warnings(
        self, formula: Formula, items: list[_Resolved], targets: dict[str, tuple[float, float]], judgeable: bool
    ) -> list[str]:
        warnings = []
        total = sum(i.pct for i in formula.ingredients)
        if not judgeable:
            warnings.append(f"the concentrate sums to {total:.2f} %, not 100 % (+/- {SUM_TOLERANCE_PCT:g})")
        for item in items:
            m = item.material
            if m is not None and not m.use_min_pct <= item.ingredient.pct <= m.use_max_pct:
                warnings.append(
                    f"{item.ingredient.name} at {item.ingredient.pct:g} % is outside its usual "
                    f"{m.use_min_pct:g}-{m.use_max_pct:g} % of a concentrate"
                )
        balance = self._balance(items)
        for layer, (low, high) in targets.items():
            if not low <= balance[layer] <= high:
                warnings.append(
                    f"{layer} notes are {balance[layer]:.0f} % of the formula; a balanced one keeps {low:g}-{high:g} %"
                )
        return warnings

    # -- name and CAS, duplicates -------------------------------------------------------------
    def _names_cas(self, name: str) -> tuple[str | None, set[str]]:
        """What a name denotes (its canonical name) and every CAS number that fits it: the
        material's own, its standards' and its EU entries'; (None, set()) for a name nobody knows."""
        material = self.materials.resolve(name)
        standard = self.regs.by_name.get(compact(name))
        banned = self.regs.eu_banned_by_name.get(compact(name))
        canonical = material.name if material else standard.name if standard else banned.name if banned else None
        own = set(material.cas if material else []) | set(standard.cas if standard else [])
        own |= set(banned.cas if banned else [])
        fits = set(own)
        for cas in own:
            for group in self.regs.by_cas.get(cas, []):
                fits |= set(group.cas)
            listed = self.regs.eu_banned_by_cas.get(cas)
            if listed is not None:
                fits |= set(listed.cas)
        return canonical, fits

    def _what_cas_is(self, cas: str) -> str | None:
        material = self.materials.by_cas.get(cas)
        if material is not None:
            return material.name
        if cas in self.regs.by_cas:
            return self.regs.by_cas[cas][0].name
        listed: Allergen | None = self.regs.eu_banned_by_cas.get(cas) or self.regs.allergen_by_cas.get(cas)
        return listed.name if listed is not None else None

    def _check_name_and_cas(self, ingredient: Ingredient) -> str | None:
        """FormulaError when the name and the CAS number of a line are two different materials; a
        note when the CAS number is unknown to every table and the name decided."""
        if not ingredient.cas or not ingredient.name or ingredient.name.strip() == ingredient.cas.strip():
            return None
        given = split_cas(ingredient.cas)
        if not given:
            raise FormulaError(f"{ingredient.name}: {ingredient.cas!r} is not a CAS number (digits like 24851-98-7)")
        canonical, fits = self._names_cas(ingredient.name)
        if canonical is None:
            return None  # a trade or house name: the CAS number says what it is
        unknown = []
        for cas in given:
            if cas in fits:
                continue
            other = self._what_cas_is(cas)
            if other is None:
                unknown.append(cas)
            elif compact(other) != compact(canonical):
                own = ", ".join(sorted(fits)[:3])
                raise FormulaError(
                    f"{ingredient.name} ({canonical}, CAS {own}) is given with CAS {cas}, but CAS {cas} is {other}: "
                    "the name and the CAS number name different materials; correct one of them"
                )
        if unknown and not set(given) & fits:
            return (
                f"{ingredient.name}: CAS {', '.join(unknown)} is in none of the tables; the line was judged as "
                f"{canonical} (CAS {', '.join(sorted(fits)[:3])}) by its name"
            )
        return None

    def _identity(self, ingredient: Ingredient) -> str:
        resolved = self._resolve(ingredient)
        if resolved.material is not None:
            return "material:" + resolved.material.name
        if resolved.identified_as is not None:
            return "listed:" + resolved.identified_as
        return "name:" + compact(ingredient.name)

    def _merge_duplicates(self, formula: Formula) -> tuple[Formula, list[str]]:
        """One line per material: amounts of repeated lines summed, one note per merged material."""
        groups: dict[str, list[Ingredient]] = {}
        for ingredient in formula.ingredients:
            groups.setdefault(self._identity(ingredient), []).append(ingredient)
        if len(groups) == len(formula.ingredients):
            return formula, []
        notes = []
        merged = []
        for lines in groups.values():
            first = lines[0]
            total = sum(i.pct for i in lines)
            cas = first.cas or next((i.cas for i in lines if i.cas), None)
            merged.append(Ingredient(first.name, round(total, 6), cas))
            if len(lines) > 1:
                spellings = sorted({i.name for i in lines} - {first.name})
                also = f" (also written {', '.join(spellings[:5])})" if spellings else ""
                notes.append(
                    f"{first.name} appears on {len(lines)} lines{also}; they were merged into one line of {total:g} %"
                )
        return replace(formula, ingredients=merged), notes

    # -- combined limits, specified grades, substitutes ------------------------------------------
    def _combined_limits(self, formula: Formula, totals: dict[str, float]) -> list[Violation]:
        """Standards that share one limit ("Oakmoss + treemoss together must not exceed the limit")."""
        out = []
        by_word = {s.name.split()[0].lower(): s for s in self.regs.standards if s.name.split()}
        seen: set[tuple[str, str]] = set()
        for standard in self.regs.standards:
            partner = by_word.get(standard.combined_with) if standard.combined_with else None
            if partner is None or partner is standard:
                continue
            first, second = sorted((standard.key, partner.key))
            if (first, second) in seen:
                continue
            seen.add((first, second))
            amounts = [sum(totals.get(c, 0.0) for c in set(s.cas)) for s in (standard, partner)]
            limits = [s.limit(formula.ifra_category) for s in (standard, partner)]
            known = [x for x in limits if x is not None and x > 0]
            if not known or not all(amounts):
                continue
            limit, total = min(known), sum(amounts)
            if total > limit + 1e-12 and all(a <= (x or 0) for a, x in zip(amounts, limits, strict=True)):
                out.append(
                    Violation(
                        kind="ifra_limit",
                        name=f"{standard.name} + {partner.name}",
                        cas=None,
                        limit_pct=limit,
                        actual_pct=round(total, 6),
                        standard=f"{standard.key}+{partner.key}",
                        over_by=round(total / limit, 3),
                        sources=sorted(
                            {
                                m.name
                                for m in (self.materials.by_cas.get(c) for s in (standard, partner) for c in s.cas)
                                if m is not None
                            }
                        ),
                        message=f"{standard.name} and {partner.name} together: {total:.4g} % in the product, "
                        f"limit {limit:g} % for both (category {formula.ifra_category})",
                    )
                )
        return out

    def _specified_free_of(self, item: _Resolved, banned: Allergen) -> bool:
        """True when `item` is a natural whose IFRA standard specifies its grade as (nearly) free of
        `banned` (oakmoss and treemoss extracts: atranol and chloroatranol each below 100 ppm)."""
        word = re.escape(re.sub(r"\(.*?\)", "", banned.name).strip().lower())
        for cas in item.cas:
            for standard in self.regs.by_cas.get(cas, []):
                if "specification" in standard.kinds and re.search(rf"\b{word}\b", standard.specification.lower()):
                    return True
        return False

    def _specification_notes(self, items: list[_Resolved]) -> list[str]:
        """What the verdict assumes about materials IFRA specifies (oakmoss, treemoss), once per standard."""
        banned_words = {re.sub(r"\(.*?\)", "", b.name).strip().lower() for b in self.regs.eu_prohibited}
        out: dict[str, str] = {}
        for item in items:
            if item.ingredient.pct <= 0:
                continue
            for cas in item.cas:
                for standard in self.regs.by_cas.get(cas, []):
                    text = standard.specification.lower()
                    if "specification" not in standard.kinds or standard.key in out:
                        continue
                    if not any(re.search(rf"\b{re.escape(w)}\b", text) for w in banned_words):
                        continue
                    out[standard.key] = (
                        f"{item.ingredient.name} is judged as the grade the IFRA standard specifies "
                        f"({standard.name}, {standard.key}): {standard.specification.rstrip('.')}. Atranol and "
                        "chloroatranol themselves are banned in the EU; use only an extract certified to this "
                        "specification, whose limit is the one applied here"
                    )
        return list(out.values())

    def _substitutes_for(self, violations: list[Violation], items: list[_Resolved]) -> dict[str, list[dict[str, str]]]:
        """Compliant alternatives (the curated table) for each prohibited or restricted material at fault."""
        if not self.regs.substitutes:
            return {}
        by_name = {compact(i.ingredient.name): i for i in items}
        out: dict[str, list[dict[str, str]]] = {}
        for violation in violations:
            if violation.kind not in ("prohibited", "ifra_limit"):
                continue
            for source in violation.sources or [violation.name]:
                item = by_name.get(compact(source))
                keys = {compact(source), compact(violation.name)}
                cas = set(item.cas if item else []) | ({violation.cas} if violation.cas else set())
                if item is not None and item.identified_as:
                    keys.add(compact(item.identified_as))
                options = [
                    {"substitute": s.substitute, "role": s.role, "note": s.note}
                    for s in self.regs.substitutes
                    if (set(s.cas) & cas or compact(s.material) in keys) and self.usable(s.substitute)
                ]
                if options and source not in out:
                    out[source] = options
        return out

    def usable(self, name: str) -> bool:
        """A material of the database that is neither prohibited by IFRA nor banned in the EU."""
        material = self.materials.resolve(name)
        if material is None:
            return False
        for cas in material.cas:
            if cas in self.regs.eu_banned_by_cas:
                return False
            for standard in self.regs.by_cas.get(cas, []):
                limit = standard.limit("4")
                if limit == 0.0 or (limit is None and "prohibition" in standard.kinds):
                    return False
        return True

    # -- correction --------------------------------------------------------------------------
    def correct(self, formula: Formula, report: Report) -> Formula | None:
        """The corrected formula (see `_correction`), or None."""
        return self._correction(formula, report)[0]

    def _is_solvent(self, name: str) -> bool:
        material = self.materials.resolve(name)
        return material is not None and material.family == "solvent"

    def _correction(self, formula: Formula, report: Report) -> tuple[Formula | None, str | None]:
        """Remove prohibited and unknown materials, keep every other material at the highest amount
        that complies (restricted ones just under their limits), renormalise to 100 %.

        Returns (formula, note): None and the reason when nothing usable remains; the note also
        says when a diluent had to fill the concentrate."""
        drop = {v.name for v in report.violations if v.kind == "unknown_material"}
        for v in report.violations:
            if v.kind == "prohibited":
                drop |= set(v.sources)
        pcts = {i.name: i.pct for i in formula.ingredients if i.name not in drop and i.pct > 0}
        removed = ", ".join(sorted(drop)) or "nothing"
        if not any(not self._is_solvent(n) for n in pcts):
            return None, (
                f"no corrected formula: once the prohibited or unidentified materials ({removed}) are taken out, "
                "nothing but solvent remains"
            )
        originals = {i.name: i for i in formula.ingredients}
        capped: dict[str, float] = {}
        for _ in range(60):
            free = {n: p for n, p in pcts.items() if n not in capped}
            room = 100.0 - sum(capped.values())
            free_sum = sum(free.values())
            if free_sum > 0 and room > 0:
                pcts = {**capped, **{n: round(p * room / free_sum, 4) for n, p in free.items()}}
            elif room > 0:
                pcts = {**capped, DILUENT: round(room, 4)}
            candidate = Formula(
                [Ingredient(n, p, originals[n].cas if n in originals else None) for n, p in pcts.items() if p > 0],
                formula.dilution_pct,
                formula.ifra_category,
                formula.concentration,
                formula.leave_on,
            )
            check = self.validate(candidate, correct=False)
            over = [v for v in check.violations if v.kind == "ifra_limit"]
            if check.compliant:
                return candidate, self._correction_note(candidate, drop)
            if not over:
                return None, "no corrected formula: " + "; ".join(v.message for v in check.violations)
            for v in over:
                factor = CORRECTION_MARGIN * (v.limit_pct or 0.0) / (v.actual_pct or 1.0)
                for name in v.sources:
                    if name in pcts:
                        capped[name] = math.floor(pcts[name] * factor * 1e4) / 1e4
        return None, "no corrected formula: the limits could not all be met by lowering the restricted materials"

    def _correction_note(self, corrected: Formula, dropped: set[str]) -> str | None:
        parts = []
        if dropped:
            parts.append(f"removed: {', '.join(sorted(dropped))}")
        solvent = sum(i.pct for i in corrected.ingredients if self._is_solvent(i.name))
        if any(i.name == DILUENT for i in corrected.ingredients) and solvent > 0:
            parts.append(
                f"the materials left are all at their limits, so {solvent:.2f} % of the corrected concentrate is "
                "solvent; it is a dilution rather than the same formula"
            )
        return "; ".join(parts) or None


# -- evaluation: `fragrance-ai eval validate` ----------------------------------------------------
VERDICTS = ("compliant", "not_compliant", "cannot_judge", "refused")
DEFAULT_VALIDATE_EVAL = Path(__file__).resolve().parent / "data" / "eval_validate.jsonl"


@dataclass(slots=True)
class ValidateCase:
    id: str
    formula: Any
    verdict: str
    violations_include: list[str]
    why: str = ""


def load_validate_eval(path: Path) -> list[ValidateCase]:
    """{"id", "formula", "expect": {"verdict", "violations_include", "why"}} per line; FragranceError
    names the line of anything else."""
    cases = []
    for number, item in read_jsonl(path):
        where = f"{path}: line {number}"
        if not isinstance(item, dict) or "formula" not in item or not isinstance(item.get("expect"), dict):
            raise FragranceError(f"{where}: a case is an object with formula and expect.")
        expect = item["expect"]
        verdict = str(expect.get("verdict", "")).strip().lower().replace("-", "_").replace(" ", "_")
        if verdict not in VERDICTS:
            raise FragranceError(
                f"{where}: expect.verdict {expect.get('verdict')!r} is not one of {', '.join(VERDICTS)}."
            )
        include = expect.get("violations_include") or []
        if not isinstance(include, list) or not all(isinstance(n, str) for n in include):
            raise FragranceError(f"{where}: expect.violations_include must be a list of names.")
        cases.append(
            ValidateCase(str(item.get("id", number)), item["formula"], verdict, include, str(expect.get("why", "")))
        )
    return cases


def _names_in(report: Report) -> set[str]:
    """Every name a violation goes by: the standard's or list's, the lines at fault, what they resolved to."""
    names: set[str] = set()
    resolved = {compact(r["input"]): r["material"] for r in report.resolved}
    for v in report.violations:
        names |= {compact(v.name), *(compact(s) for s in v.sources)}
        names |= {compact(resolved[compact(s)]) for s in v.sources if resolved.get(compact(s))}
        names |= {compact(part) for part in re.findall(r"[^()/,]+", v.name) if part.strip()}
        if v.cas:
            names.add(v.cas)
    return names


def _found(wanted: str, names: set[str], validator: Validator) -> bool:
    key = compact(wanted)
    if key in names or any(key and (key in n or n in key) for n in names if len(n) > 3):
        return True
    material = validator.materials.resolve(wanted)  # a synonym or Korean name of the material at fault
    return material is not None and any(compact(n) in names for n in [material.name, *material.synonyms, *material.cas])


def evaluate_validate(validator: Validator, cases: list[ValidateCase]) -> dict[str, Any]:
    """The share of verdicts right (a right verdict also names every expected violation), with each miss."""
    misses = []
    by_verdict: dict[str, list[int]] = {v: [0, 0] for v in VERDICTS}
    for case in cases:
        detail = ""
        missing: list[str] = []
        try:
            report = validator.validate(Formula.from_dict(case.formula))
            actual = report.verdict
            detail = report.cannot_judge or "; ".join(v.message for v in report.violations)
            names = _names_in(report)
            missing = [n for n in case.violations_include if not _found(n, names, validator)]
        except FormulaError as exc:
            actual, detail = "refused", str(exc)
        right = actual == case.verdict and not missing
        by_verdict[case.verdict][1] += 1
        by_verdict[case.verdict][0] += right
        if not right:
            misses.append(
                {
                    "id": case.id,
                    "expected": case.verdict,
                    "actual": actual,
                    "missing_violations": missing,
                    "why": case.why,
                    "detail": detail,
                }
            )
    total = len(cases)
    return {
        "cases": total,
        "right": total - len(misses),
        "share_right": round((total - len(misses)) / total, 4) if total else 0.0,
        "by_verdict": {v: {"right": r, "cases": n} for v, (r, n) in by_verdict.items() if n},
        "misses": misses,
    }


def format_validate_report(report: dict[str, Any]) -> str:
    lines = [f"Validation verdicts right: {report['right']}/{report['cases']} ({100 * report['share_right']:.1f} %)"]
    for verdict, counts in report["by_verdict"].items():
        lines.append(f"  {verdict}: {counts['right']}/{counts['cases']}")
    for miss in report["misses"]:
        extra = f"; violations not named: {', '.join(miss['missing_violations'])}" if miss["missing_violations"] else ""
        lines.append(f"- {miss['id']}: expected {miss['expected']}, got {miss['actual']}{extra}")
        if miss["why"]:
            lines.append(f"    why: {miss['why']}")
        if miss["detail"]:
            lines.append(f"    report: {miss['detail'][:300]}")
    return "\n".join(lines)
