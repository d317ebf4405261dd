"""A model client that counts what it does: time, tokens and failures into `Metrics`.

`MeteredLLM(make_llm(settings), metrics)` has the same surface as the client
it wraps, so the engine can take either without knowing.
"""
from __future__ import annotations

import time
from typing import Any

from .llm import LLMError, LLMResult, TextCallback
from .metrics import Metrics, record_model_call, record_model_failure
from .state import Turn


class MeteredLLM:
    def __init__(self, inner: Any, metrics: Metrics, provider: str | None = None):
        self.inner = inner
        self.metrics = metrics
        self.provider: str = provider or str(getattr(inner, "provider", "anthropic"))

    @property
    def model(self) -> str:
        return self.inner.model

    async def complete(self, system: str, turns: list[Turn], *, on_text: TextCallback | None = None,
                       tool: dict[str, Any] | None = None, max_tokens: int | None = None,
                       cache_pin: int | None = None) -> LLMResult:
        start = time.monotonic()
        kw: dict[str, Any] = {"cache_pin": cache_pin} if cache_pin is not None else {}
        try:
            result = await self.inner.complete(system, turns, on_text=on_text, tool=tool, max_tokens=max_tokens,
                                               **kw)
        except LLMError as exc:
            record_model_failure(self.metrics, provider=self.provider, seconds=time.monotonic() - start,
                                 kind=exc.kind)
            raise
        record_model_call(self.metrics, provider=self.provider, seconds=time.monotonic() - start,
                          usage=result.usage)
        return result

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:  # anything else (max_tokens, client, ...) from the wrapped client
        return getattr(self.inner, name)
