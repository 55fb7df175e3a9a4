"""`fragrance-ai eval nlu`: accuracy, per-intent precision/recall and a confusion matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.intent import INTENTS
from agents.nlu import NLU
from core.errors import FragranceError
from core.jsonl import read_jsonl

DEFAULT_EVAL = Path(__file__).resolve().parent / "data" / "nlu_eval.jsonl"


def load_eval(path: Path) -> list[dict[str, str]]:
    items = []
    for number, item in read_jsonl(path):
        if not isinstance(item, dict) or item.get("intent") not in INTENTS or not item.get("text"):
            raise FragranceError(f"{path}: line {number}: needs text and an intent from {', '.join(INTENTS)}.")
        items.append(item)
    return items


def evaluate_nlu(nlu: NLU, items: list[dict[str, str]]) -> dict[str, Any]:
    predicted = [r["intent"] for r in nlu.parse_many([i["text"] for i in items])]
    gold = [i["intent"] for i in items]
    languages = [
        i.get("language") or ("ko" if any("\uac00" <= c <= "\ud7a3" for c in i["text"]) else "en") for i in items
    ]
    matrix = {g: dict.fromkeys(INTENTS, 0) for g in INTENTS}
    for g, p in zip(gold, predicted, strict=True):
        matrix[g][p] += 1
    per_intent = {}
    for intent in INTENTS:
        tp = matrix[intent][intent]
        predicted_n = sum(matrix[g][intent] for g in INTENTS)
        gold_n = sum(matrix[intent].values())
        per_intent[intent] = {
            "precision": tp / predicted_n if predicted_n else 0.0,
            "recall": tp / gold_n if gold_n else 0.0,
            "support": gold_n,
        }
    by_language = {}
    for lang in sorted(set(languages)):
        pairs = [(g, p) for g, p, lang_ in zip(gold, predicted, languages, strict=True) if lang_ == lang]
        by_language[lang] = {"accuracy": sum(g == p for g, p in pairs) / len(pairs), "n": len(pairs)}
    errors = [
        {"text": i["text"], "gold": g, "predicted": p} for i, g, p in zip(items, gold, predicted, strict=True) if g != p
    ]
    return {
        "accuracy": sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(items),
        "by_language": by_language,
        "per_intent": per_intent,
        "confusion": matrix,
        "errors": errors,
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [f"accuracy: {report['accuracy']:.3f}"]
    for lang, entry in report["by_language"].items():
        lines.append(f"accuracy [{lang}]: {entry['accuracy']:.3f}  ({entry['n']} utterances)")
    lines.append("")
    lines.append(f"{'intent':<16}{'precision':>10}{'recall':>8}{'n':>5}")
    for intent, entry in report["per_intent"].items():
        lines.append(f"{intent:<16}{entry['precision']:>10.3f}{entry['recall']:>8.3f}{entry['support']:>5}")
    lines.append("")
    short = [i[:6] for i in INTENTS]
    lines.append("confusion (rows: gold, columns: predicted)")
    lines.append(" " * 16 + "".join(f"{s:>8}" for s in short))
    for gold, row in report["confusion"].items():
        lines.append(f"{gold:<16}" + "".join(f"{row[p]:>8}" for p in INTENTS))
    if report["errors"]:
        lines.append("")
        lines.append("misclassified:")
        lines += [f"  {e['gold']} -> {e['predicted']}: {e['text']}" for e in report["errors"]]
    return "\n".join(lines)
