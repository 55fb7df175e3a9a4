"""What changed between two compositions of a brief: the reply to "more rose" says which
materials rose, fell, came in or went out, and what became of the concentration and intensity."""

from __future__ import annotations

from typing import Any

# A line that moves by less than this (% of the concentrate) is "the same": rounding, renormalising.
MIN_STEP_PCT = 0.05


def formula_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The difference from composition `before` to `after` (Composition.to_dict() each), as data:
    added and removed materials, raised and lowered ones with both amounts (% of the concentrate),
    and the concentration, intensity and style when they differ. Names carry their Korean name
    for replies in Korean."""
    old = {i["name"]: i for i in before.get("ingredients") or []}
    new = {i["name"]: i for i in after.get("ingredients") or []}

    def line(item: dict[str, Any], **amounts: float) -> dict[str, Any]:
        return {"name": item["name"], "korean_name": item.get("korean_name"), **amounts}

    raised, lowered = [], []
    for name in old.keys() & new.keys():
        was, now = float(old[name]["pct"]), float(new[name]["pct"])
        if now - was >= MIN_STEP_PCT:
            raised.append(line(new[name], before=was, after=now))
        elif was - now >= MIN_STEP_PCT:
            lowered.append(line(new[name], before=was, after=now))
    changes: dict[str, Any] = {
        "added": [line(new[n], after=float(new[n]["pct"])) for n in new if n not in old],
        "removed": [line(old[n], before=float(old[n]["pct"])) for n in old if n not in new],
        "raised": sorted(raised, key=lambda c: c["before"] - c["after"]),
        "lowered": sorted(lowered, key=lambda c: c["after"] - c["before"]),
    }
    brief_before, brief_after = before.get("brief") or {}, after.get("brief") or {}
    for key in ("concentration", "intensity", "fragrance_family"):
        if str(brief_before.get(key) or "").lower() != str(brief_after.get(key) or "").lower():
            changes[key] = {"before": brief_before.get(key), "after": brief_after.get(key)}
    changes["unchanged"] = not any(changes[k] for k in ("added", "removed", "raised", "lowered")) and not any(
        k in changes for k in ("concentration", "intensity", "fragrance_family")
    )
    return changes
