"""What the conversation is about right now: the dialogue state a follow-up refers to.

A shop assistant remembers what they just showed: the perfume just described ("it", "이거"), the
list just shown in its order ("the second", "2번"), the perfumes just compared or chosen between
("the cheaper one", "둘 중"), the formula just composed with its brief ("more rose"), the material
just explained ("what can I use instead?"). `Focus` holds exactly that, as ids and small dicts (no
text the customer typed), is checkpointed with the thread, and is refreshed by every turn from
its tool results (`refreshed`). Reading a message against it is agents/references.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FocusKind = Literal["perfume", "list", "comparison", "formula", "material"]
MAX_LIST = 10  # a list longer than a shop would show is cut: "the 12th" is not a reference anyone makes


@dataclass(slots=True)
class Focus:
    kind: FocusKind | None = None
    """What the last turn put in front of the customer."""
    perfume_id: str | None = None
    """The perfume just described, answered about or chosen: what "it" and "그거" mean."""
    list_ids: list[str] = field(default_factory=list)
    """The last list shown, in its order: what "the second" and "2번" count in."""
    group_ids: list[str] = field(default_factory=list)
    """The last two or more perfumes under discussion (a list, a comparison, a pair chosen between):
    what "which of them", "둘 중" and "the cheaper one" choose from."""
    formula: dict[str, Any] | None = None
    """The formula just composed: {"brief": compose_formula's arguments, "name", "concentration",
    "lines": [[material, pct], ...]}, what "more rose" and "EDT로 바꿔 주세요" change."""
    material: str | None = None
    """The material just explained or asked about, by its database name."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Focus:
        data = data or {}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @property
    def empty(self) -> bool:
        return self.kind is None

    def refreshed(self, results: list[dict[str, Any]]) -> Focus:
        """The focus after a turn with these tool results ({"tool", "args", "output"} each): what the
        turn showed replaces what it replaces, the rest stays (a product card keeps the list it came
        from countable; a formula keeps the perfumes shown before it)."""
        focus = Focus.from_dict(self.to_dict())
        for result in results:
            output, tool = result.get("output"), result.get("tool")
            if not isinstance(output, dict) or "error" in output:
                continue
            if tool in ("search_perfumes", "find_similar_perfumes"):
                ids = [c["id"] for c in output.get("results") or [] if "id" in c][:MAX_LIST]
                if ids:
                    focus.kind, focus.list_ids, focus.group_ids, focus.perfume_id = "list", ids, ids, None
            elif tool == "get_perfume" and "id" in output:
                focus.kind, focus.perfume_id = "perfume", output["id"]
            elif tool == "compare_perfumes":
                ids = [p["id"] for p in output.get("perfumes") or []]
                focus.kind, focus.group_ids = "comparison", ids
                focus.perfume_id = None
            elif tool == "ask_about_perfumes":
                ids = [p["id"] for p in output.get("perfumes") or []]
                chosen = output.get("chosen_id")
                if len(ids) >= 2:
                    focus.group_ids = ids if set(ids) != set(focus.group_ids) else focus.group_ids
                if chosen or len(ids) == 1:
                    focus.kind, focus.perfume_id = "perfume", chosen or ids[0]
                elif len(ids) >= 2:
                    # Several answered about and none chosen (a tie, "둘 다 여름에 괜찮아요?"): "그거" is
                    # still about them, not about a perfume described before.
                    focus.kind, focus.perfume_id = "comparison", None
            elif tool == "compose_formula":
                focus.kind = "formula"
                focus.formula = {
                    "brief": {k: v for k, v in (result.get("args") or {}).items() if v not in (None, [], "")},
                    "name": output.get("name"),
                    "concentration": (output.get("formula") or {}).get("concentration"),
                    "lines": [[i["name"], i["pct"]] for i in output.get("ingredients") or [] if "name" in i],
                }
            elif tool == "lookup_material" and output.get("name"):
                focus.kind, focus.material = "material", str(output["name"])
        return focus

    def summary(self) -> dict[str, Any]:
        """The focus as a model role reads it: small, ids and names only (bounded)."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.perfume_id:
            out["perfume_id"] = self.perfume_id
        if self.list_ids:
            out["list_ids"] = self.list_ids
        if self.group_ids and self.group_ids != self.list_ids:
            out["group_ids"] = self.group_ids
        if self.formula:
            out["formula"] = {k: self.formula.get(k) for k in ("brief", "name", "concentration")}
        if self.material:
            out["material"] = self.material
        return out
