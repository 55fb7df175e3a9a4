"""Input and output guards, as guardrails-ai validators that run locally (no Hub, no metrics).

Input (run by the turn service before the graph, so nothing raw is checkpointed): personal data
redacted before anything is stored, logged or sent to a model (e-mails, phone numbers, card
numbers), prompt-injection patterns refused; the length limit is the service's, which refuses
an over-long message instead of cutting it. Output: every perfume the turn shows (its cards) and
every perfume its text names is in the turn's tool results, no system prompt leaks, and a reply
that shows a formula carries the safety note.
"""

from __future__ import annotations

import re
from typing import Any

from guardrails import AsyncGuard, OnFailAction
from guardrails.settings import settings as guardrails_settings
from guardrails.validators import FailResult, PassResult, ValidationResult, Validator, register_validator

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# Digit boundaries, not word boundaries: a Korean particle may follow ("010-1234-5678이에요").
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){13,19}(?!\d)")
_PHONE = re.compile(r"(?<!\d)(?:\+?\d{1,3}[ -]?)?(?:\(?\d{2,4}\)?[ -]?)\d{3,4}[ -]?\d{4}(?!\d)")
_INJECTION = re.compile(
    r"ignore (?:all |the )?(?:previous|above|prior) (?:instructions|prompts?)|system prompt|you are now|"
    r"disregard (?:your|all) (?:rules|instructions)|이전 지시(?:를|는)? 무시|시스템 프롬프트",
    re.IGNORECASE,
)
_LEAK_MARKERS = ("orchestrator of a perfume shop", "Tool results (JSON)", "도구 결과(JSON)", "Answer with JSON only")
SAFETY_NOTE = {
    "en": "Please patch-test before use; checked against the {amendment}.",
    "ko": "사용 전 패치 테스트를 해 주세요. {amendment} 기준으로 검증했습니다.",
}


def redact(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub("[card]", text)
    return _PHONE.sub("[phone]", text)


@register_validator(name="fragrance/personal-data", data_type="string")
class PersonalData(Validator):
    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        cleaned = redact(value)
        if cleaned != value:
            return FailResult(error_message="personal data", fix_value=cleaned)
        return PassResult()


@register_validator(name="fragrance/prompt-injection", data_type="string")
class PromptInjection(Validator):
    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        if _INJECTION.search(value):
            return FailResult(error_message="prompt injection")
        return PassResult()


@register_validator(name="fragrance/grounded-products", data_type="string")
class GroundedProducts(Validator):
    """metadata: named (the perfumes the reply's text names, as "brand name": a catalog may list one
    perfume twice under two ids), shown (the cards the turn shows: {"id", "name"}), and what the tool
    results hold (grounded_names, grounded_ids). The cards are checked as data, so no rendering of
    them (a web card, a Slack block) can switch the check off."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        grounded_names = set(metadata.get("grounded_names", ()))
        grounded_ids = set(metadata.get("grounded_ids", ()))
        stray = sorted(set(metadata.get("named", ())) - grounded_names)
        stray += [
            card["name"]
            for card in metadata.get("shown", ())
            if card["id"] not in grounded_ids or card["name"] not in grounded_names
        ]
        if stray:
            return FailResult(error_message=f"names perfumes outside the tool results: {stray}")
        return PassResult()


@register_validator(name="fragrance/no-prompt-leak", data_type="string")
class NoPromptLeak(Validator):
    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        if any(marker in value for marker in _LEAK_MARKERS):
            return FailResult(error_message="system prompt leaked")
        return PassResult()


@register_validator(name="fragrance/formula-safety-note", data_type="string")
class FormulaSafetyNote(Validator):
    """metadata: amendment (when the reply shows a formula) and language."""

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        amendment = metadata.get("amendment")
        if not amendment or (("patch" in value.lower() or "패치" in value) and amendment in value):
            return PassResult()
        note = SAFETY_NOTE[metadata.get("language", "en")].format(amendment=amendment)
        return FailResult(error_message="formula without safety note", fix_value=f"{value}\n{note}")


class Guards:
    """The two guards of a turn, built once per process."""

    def __init__(self) -> None:
        self.input = AsyncGuard().use(
            PersonalData(on_fail=OnFailAction.FIX),
            PromptInjection(on_fail=OnFailAction.NOOP),
        )
        self.output = AsyncGuard().use(
            NoPromptLeak(on_fail=OnFailAction.NOOP),
            GroundedProducts(on_fail=OnFailAction.NOOP),
            FormulaSafetyNote(on_fail=OnFailAction.FIX),
        )
        for guard in (self.input, self.output):
            guard.configure(allow_metrics_collection=False)
        # No trace sink is configured, so OpenTelemetry spans would only cost time (~1 ms a turn).
        guardrails_settings.disable_tracing = True

    async def check_input(self, text: str) -> tuple[str, bool]:
        """(the text to use, whether to refuse it)."""
        outcome = await self.input.validate(text)
        cleaned = str(outcome.validated_output if outcome.validated_output is not None else redact(text))
        refused = any(
            s.validator_name == PromptInjection.__name__ and s.validator_status == "fail"
            for s in outcome.validation_summaries or []
        )
        return cleaned, refused

    async def check_output(self, text: str, metadata: dict[str, Any]) -> tuple[str, list[str]]:
        """(the text to use, the failures that the caller must act on: grounding or leaks)."""
        outcome = await self.output.validate(text, metadata=metadata)
        cleaned = str(outcome.validated_output if outcome.validated_output is not None else text)
        failures = [
            s.validator_name
            for s in outcome.validation_summaries or []
            if s.validator_status == "fail" and s.validator_name in (GroundedProducts.__name__, NoPromptLeak.__name__)
        ]
        return cleaned, failures
