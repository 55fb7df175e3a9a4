"""Reading JSON Lines input (batch files, evaluation sets) with errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import FragranceError


def read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """(line number, parsed value) for every non-blank line; FragranceError names file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise FragranceError(f"{path}: cannot read ({exc.strerror}).") from exc
    except UnicodeDecodeError as exc:
        raise FragranceError(f"{path}: not UTF-8 text ({exc.reason}).") from exc
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise FragranceError(f"{path}: line {number}: not JSON ({exc.msg}).") from exc
    return out
