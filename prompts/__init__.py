"""Prompt and reply templates per role and language, kept as files and loaded in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROMPTS_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=16)
def templates(role: str, language: str) -> dict[str, str]:
    """The templates of `role` in `language` (ko or en; anything else falls back to en)."""
    path = PROMPTS_DIR / role / f"{language if language in ('ko', 'en') else 'en'}.yaml"
    with path.open(encoding="utf-8") as handle:
        return {str(k): str(v) for k, v in (yaml.safe_load(handle) or {}).items()}


def render(role: str, language: str, template: str, /, **values: Any) -> str:
    return templates(role, language)[template].format(**values)
