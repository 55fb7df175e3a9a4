"""`validate_formula`: a formula checked against IFRA and the EU allergen rules.

Every amount is compared in the FINISHED product (concentrate % x dilution), which is
what IFRA limits and the EU threshold are about. A substance is summed over every
source: added directly, and carried in by naturals (bergamot oil brings limonene and
linalool) where the constituents table gives their share. A material the database
cannot identify is a violation of its own kind, never silently unrestricted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from tools.perfumery.formula import AllergenLine, Formula, Ingredient, Report, Violation
from tools.perfumery.materials import Material, MaterialDB
from tools.perfumery.regulation import LEAVE_ON_THRESHOLD_PCT, RINSE_OFF_THRESHOLD_PCT, Regulations
from tools.search.text import compact

SUM_TOLERANCE_PCT = 0.5
# Share of the concentrate per layer that a balanced formula stays within.
BALANCE_TARGETS = {"top": (10.0, 40.0), "heart": (25.0, 60.0), "base": (20.0, 60.0)}
CORRECTION_MARGIN = 0.97  # corrected amounts land 3 % under the limit, safe after rounding
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
        material = self.materials.resolve(ingredient.name, ingredient.cas)
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
        """Check `formula`; `balance_targets` are the style's top/heart/base ranges (% of the concentrate)."""
        items = [self._resolve(i) for i in formula.ingredients]
        dilution = formula.dilution_pct
        # A material known under several CAS numbers is counted under its first one; a
        # standard or allergen entry naming any of the others still finds it.
        primary = {alias: item.cas[0] for item in items for alias in item.cas[1:]}
        totals, sources = self._substance_totals(items, dilution, primary)
        violations: list[Violation] = []
        notes: list[str] = []
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
            elif limit is not None and total > limit + 1e-12:
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

        for banned in self.regs.eu_prohibited:
            involved = covered(banned.cas)
            if involved:
                violations.append(
                    Violation(
                        kind="prohibited",
                        name=banned.name,
                        cas=involved[0],
                        limit_pct=0.0,
                        actual_pct=round(sum(totals[c] for c in involved), 6),
                        standard=banned.reference,
                        sources=sorted({names[i] for c in involved for i, _, _ in sources[c]}),
                        message=f"{banned.name} is banned in cosmetics in the EU ({banned.reference})",
                    )
                )

        threshold = LEAVE_ON_THRESHOLD_PCT if formula.leave_on else RINSE_OFF_THRESHOLD_PCT
        allergens = []
        for allergen in self.regs.allergens:
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

        warnings = self._warnings(formula, items, balance_targets or BALANCE_TARGETS) + notes
        concentrate_sum = round(sum(i.pct for i in formula.ingredients), 4)
        report = Report(
            compliant=not violations,
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
        )
        if violations and correct:
            report.corrected = self.correct(formula, report)
        return report

    def _balance(self, items: list[_Resolved]) -> dict[str, float]:
        layers = {"top": 0.0, "heart": 0.0, "base": 0.0}
        for item in items:
            if item.material is not None and item.material.family != "solvent":
                layers[item.material.volatility] += item.ingredient.pct
        total = sum(layers.values()) or 1.0
        return {k: round(100.0 * v / total, 2) for k, v in layers.items()}

    def _warnings(self, formula: Formula, items: list[_Resolved], targets: dict[str, tuple[float, float]]) -> list[str]:
        warnings = []
        total = sum(i.pct for i in formula.ingredients)
        if abs(total - 100.0) > SUM_TOLERANCE_PCT:
            warnings.append(f"the concentrate sums to {total:.2f} %, not 100 % (+/- {SUM_TOLERANCE_PCT})")
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

    # -- correction --------------------------------------------------------------------------
    def correct(self, formula: Formula, report: Report) -> Formula | None:
        """Remove prohibited and unknown materials, bring restricted ones under their limits,
        renormalise the rest to 100 %; None when no compliant formula comes out."""
        drop = {v.name for v in report.violations if v.kind == "unknown_material"}
        for v in report.violations:
            if v.kind == "prohibited":
                drop |= set(v.sources)
        pcts = {i.name: i.pct for i in formula.ingredients if i.name not in drop and i.pct > 0}
        originals = {i.name: i for i in formula.ingredients}
        capped: dict[str, float] = {}
        for _ in range(60):
            free = {n: p for n, p in pcts.items() if n not in capped}
            room = 100.0 - sum(capped.values())
            free_sum = sum(free.values())
            if free_sum > 0 and room > 0:
                pcts = {**capped, **{n: p * room / free_sum for n, p in free.items()}}
            elif room > 0:
                pcts = {**capped, DILUENT: room}
            candidate = Formula(
                [Ingredient(n, round(p, 4), originals[n].cas if n in originals else None) for n, p in pcts.items()],
                formula.dilution_pct,
                formula.ifra_category,
                formula.concentration,
                formula.leave_on,
            )
            check = self.validate(candidate, correct=False)
            over = [v for v in check.violations if v.kind == "ifra_limit"]
            if check.compliant:
                return candidate
            if not over:
                return None
            for v in over:
                factor = CORRECTION_MARGIN * (v.limit_pct or 0.0) / (v.actual_pct or 1.0)
                for name in v.sources:
                    if name in pcts:
                        capped[name] = pcts[name] * factor
        return None
