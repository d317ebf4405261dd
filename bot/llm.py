"""The model client: streaming, prompt caching, bounded retries, usage.

The SDK retries 408/409/429/5xx/529 before a stream starts.  Nothing retries
after a stream has started, so a mid-stream `overloaded_error` (an
`APIStatusError` with status 200) or a dropped connection (the HTTP library's
own protocol error) is handled here: retried once if no text reached the
user yet, otherwise turned into an `LLMError` the engine can explain.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import anthropic

from .state import Turn, Usage

log = logging.getLogger(__name__)

TextCallback = Callable[[str], Awaitable[None]]


class LLMError(Exception):
    """A model call failed for good; `kind` picks the user-facing wording."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail

    @property
    def user_message(self) -> str:
        return {
            "overloaded": "The model is overloaded right now.",
            "rate_limited": "We're being rate limited by the model API.",
            "timeout": "The model took too long to answer.",
            "connection": "I lost the connection to the model.",
            "auth": "The model API rejected our key (check ANTHROPIC_API_KEY).",
            "bad_request": "The model API refused the request.",
            "empty": "The model sent back an empty answer.",
            "not_found": "The model API doesn't know the configured model (check ANTHROPIC_MODEL).",
        }.get(self.kind, "The model API had a problem.")


class _CallbackFailed(Exception):
    """The `on_text` callback raised (e.g. a post failed): re-raised as is, never retried."""

    def __init__(self, original: Exception):
        super().__init__(str(original))
        self.original = original


@dataclass
class LLMResult:
    text: str
    usage: Usage
    tool_input: dict[str, Any] | None = None
    stop_reason: str | None = None
    blocks: list[Any] = field(default_factory=list)


def usage_of(u: Any) -> Usage:
    if u is None:
        return Usage(calls=1)
    return Usage(
        input_tokens=getattr(u, "input_tokens", 0) or 0,
        output_tokens=getattr(u, "output_tokens", 0) or 0,
        cache_read_tokens=getattr(u, "cache_read_input_tokens", 0) or 0,
        cache_write_tokens=getattr(u, "cache_creation_input_tokens", 0) or 0,
        calls=1,
    )


def build_messages(turns: list[Turn]) -> list[dict[str, Any]]:
    """Chat turns as API messages, with cache breakpoints on the conversation prefix.

    The last user turn gets a breakpoint (written this turn) and so does the
    user turn before it (written last turn, read now), so every turn after the
    first reads the earlier conversation from cache.  With the system block
    that is three of the four breakpoints the API allows.
    """
    msgs: list[dict[str, Any]] = [
        {"role": t.role, "content": [{"type": "text", "text": t.content}]} for t in turns
    ]
    user_idx = [i for i, m in enumerate(msgs) if m["role"] == "user"]
    for i in user_idx[-2:]:
        msgs[i]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return msgs


def classify(exc: BaseException) -> LLMError:
    if isinstance(exc, LLMError):
        return exc
    if isinstance(exc, anthropic.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return LLMError("timeout", str(exc))
    if isinstance(exc, anthropic.APIConnectionError):
        return LLMError("connection", str(exc))
    if isinstance(exc, anthropic.APIStatusError):
        etype = ""
        body = exc.body if isinstance(exc.body, dict) else {}
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(err, dict):
            etype = str(err.get("type", ""))
        if exc.status_code == 529 or etype == "overloaded_error":
            return LLMError("overloaded", str(exc))
        if exc.status_code == 429 or etype == "rate_limit_error":
            return LLMError("rate_limited", str(exc))
        if exc.status_code in (401, 403):
            return LLMError("auth", str(exc))
        if exc.status_code == 404:
            return LLMError("not_found", str(exc))
        if exc.status_code == 400:
            return LLMError("bad_request", str(exc))
        return LLMError("api", f"{exc.status_code} {etype}")
    if isinstance(exc, anthropic.APIError):
        return LLMError("api", str(exc))
    # The HTTP library's own errors (dropped connection, protocol error).
    return LLMError("connection", f"{exc.__class__.__name__}: {exc}")


class LLM:
    """Thin, testable wrapper over `anthropic.AsyncAnthropic`."""

    def __init__(self, settings, client: anthropic.AsyncAnthropic | None = None):
        self.model = settings.anthropic_model
        self.max_tokens = settings.anthropic_max_tokens
        self.total_timeout = settings.anthropic_total_timeout
        if client is None:
            key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
            client = anthropic.AsyncAnthropic(
                api_key=key,
                base_url=settings.anthropic_base_url or None,
                max_retries=settings.anthropic_max_retries,
                timeout=settings.anthropic_request_timeout,
            )
        self.client = client

    def system_blocks(self, system: str) -> list[dict[str, Any]]:
        return [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]

    async def complete(
        self,
        system: str,
        turns: list[Turn],
        *,
        on_text: TextCallback | None = None,
        tool: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> LLMResult:
        """Stream one reply; `on_text` gets each text delta as it arrives."""
        deadline = time.monotonic() + self.total_timeout
        attempt = 0
        while True:
            attempt += 1
            delivered = False

            async def relay(delta: str) -> None:
                nonlocal delivered
                delivered = True
                if on_text is not None:
                    try:
                        await on_text(delta)
                    except Exception as exc:  # noqa: BLE001 - the caller's failure, not the model's
                        raise _CallbackFailed(exc) from exc

            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LLMError("timeout", "total time budget used up")
                async with asyncio.timeout(remaining):
                    return await self._stream_once(system, turns, relay, tool, max_tokens)
            except asyncio.CancelledError:
                raise
            except _CallbackFailed as exc:
                raise exc.original from None
            except Exception as exc:  # noqa: BLE001 - every failure becomes an LLMError
                err = classify(exc)
                # Statuses other than 200 were already retried by the SDK.
                pre_stream = isinstance(exc, anthropic.APIStatusError) and exc.status_code != 200
                retryable = err.kind in {"overloaded", "connection", "api"}
                if attempt == 1 and not delivered and not pre_stream and retryable:
                    log.warning("model stream failed before any text (%s); retrying once", err.kind)
                    continue
                raise err from exc

    async def _stream_once(self, system, turns, relay, tool, max_tokens) -> LLMResult:
        kwargs: dict[str, Any] = dict(
            model=self.model,
            max_tokens=max_tokens or self.max_tokens,
            system=self.system_blocks(system),
            messages=build_messages(turns),
        )
        if tool is not None:
            kwargs["tools"] = [tool]
            kwargs["tool_choice"] = {"type": "tool", "name": tool["name"]}
        parts: list[str] = []
        async with self.client.messages.stream(**kwargs) as stream:
            async for event in stream:
                if event.type == "text":
                    parts.append(event.text)
                    await relay(event.text)
            final = await stream.get_final_message()
        tool_input = None
        for block in final.content:
            if block.type == "tool_use":
                tool_input = block.input if isinstance(block.input, dict) else None
        text = "".join(parts)
        return LLMResult(text=text, usage=usage_of(final.usage), tool_input=tool_input,
                         stop_reason=final.stop_reason, blocks=list(final.content))

    async def close(self) -> None:
        await self.client.close()
