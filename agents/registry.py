"""One chat model per role, built from settings once per process, each behind a circuit breaker.

When no model server is configured, or a role's breaker is open (after repeated
failures or timeouts; it half-opens after a cool-down), callers use that role's
embedded implementation, which has the same output shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from purgatory import AsyncCircuitBreakerFactory

from core.settings import Settings

Role = Literal["intent", "orchestrator", "service"]
T = TypeVar("T")


class ModelUnavailable(Exception):
    """The role's model cannot answer now; use the embedded role."""


class ModelRegistry:
    def __init__(self, settings: Settings, models: dict[str, Any] | None = None) -> None:
        """`models` replaces the Ollama models per role (tests pass scripted fake chat models)."""
        self.settings = settings
        self._models: dict[str, Any] = dict(models or {})
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=settings.breaker_failures, default_ttl=settings.breaker_reset_s
        )

    def configured(self, role: Role) -> bool:
        return role in self._models or bool(self.settings.ollama_base_url)

    def model(self, role: Role) -> Any:
        if role not in self._models:
            from langchain_ollama import ChatOllama

            tag = {
                "intent": self.settings.intent_model,
                "orchestrator": self.settings.orchestrator_model,
                "service": self.settings.service_model,
            }[role]
            self._models[role] = ChatOllama(
                model=tag,
                base_url=self.settings.ollama_base_url,
                num_ctx=self.settings.ollama_num_ctx,
                keep_alive=self.settings.ollama_keep_alive,
                temperature=0.0 if role != "service" else 0.3,
                client_kwargs={"timeout": self.settings.ollama_timeout_s},
            )
        return self._models[role]

    async def call(self, role: Role, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run `work(model)` through the role's breaker and timeout; ModelUnavailable on any failure."""
        if not self.configured(role):
            raise ModelUnavailable(f"no model configured for {role}")
        try:
            async with await self._breakers.get_breaker(role):
                return await asyncio.wait_for(work(self.model(role)), timeout=self.settings.ollama_timeout_s)
        except Exception as exc:
            raise ModelUnavailable(f"{role} model failed: {type(exc).__name__}: {exc}") from exc

    async def state(self, role: Role) -> str:
        breaker = await self._breakers.get_breaker(role)
        return str(breaker.context.state)
