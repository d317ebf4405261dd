"""The model client: streaming, prompt caching, bounded retries, usage.

The SDK retries 408/409/429/5xx/529 before a stream starts.  Nothing retries
after a stream has started, so a mid-stream `overloaded_error` (an
`APIStatusError` with status 200) or a dropped connection (the HTTP library's
own protocol error) is handled here: retried once if no text reached the
user yet, otherwise turned into an `LLMError` the engine can explain.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import anthropic

from .state import Turn, Usage

log = logging.getLogger(__name__)

TextCallback = Callable[[str], Awaitable[None]]


class StopReason(StrEnum):
    """Why the model stopped writing (the API's `stop_reason`)."""

    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_USE = "tool_use"
    PAUSE_TURN = "pause_turn"
    REFUSAL = "refusal"
    CONTEXT_FULL = "model_context_window_exceeded"


_USER_MESSAGES = {
    "overloaded": "The model is overloaded right now.",
    "rate_limited": "We're being rate limited by the model API.",
    "timeout": "The model took too long to answer.",
    "connection": "I lost the connection to the model.",
    "auth": "The model API rejected our key (check ANTHROPIC_API_KEY).",
    "bad_request": "The model API refused the request.",
    "not_found": "The model API doesn't know the configured model (check ANTHROPIC_MODEL).",
    "empty": "The model sent back an empty answer, twice. Say *retry* to ask it again.",
    "refusal": ("The model declined to answer that. Say *retry* to ask again, "
                "or rephrase the request if it could read as something harmful."),
    "context_full": ("This conversation has grown longer than the model can read at once. "
                     "Say *retry* to try again, or *export* the transcript and start a fresh interview."),
}


class LLMError(Exception):
    """A model call failed for good; `kind` picks the user-facing wording."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail

    @property
    def user_message(self) -> str:
        return _USER_MESSAGES.get(self.kind, "The model API had a problem.")


class ModelClient(Protocol):
    """What the core needs from a model provider (Anthropic here, OpenAI-compatible in llm_openai)."""

    async def complete(self, system: str, turns: list[Turn], *, on_text: TextCallback | None = None,
                       tool: dict[str, Any] | None = None, max_tokens: int | None = None,
                       cache_pin: int | None = None) -> LLMResult: ...

    async def close(self) -> None: ...


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
    continuations: int = 0      # follow-up calls that continued a reply cut at max_tokens

    @property
    def cut_off(self) -> bool:
        """Still cut at max_tokens after every allowed continuation."""
        return self.stop_reason == StopReason.MAX_TOKENS


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


def image_blocks(turn: Turn) -> list[dict[str, Any]]:
    """A turn's images as Messages API image blocks (base64), put before its text."""
    return [{"type": "image", "source": {"type": "base64", "media_type": im.media_type,
                                         "data": base64.b64encode(im.data).decode("ascii")}} for im in turn.images]


def build_messages(turns: list[Turn], pin: int | None = None) -> list[dict[str, Any]]:
    """Chat turns as API messages, with cache breakpoints on the conversation prefix.

    The last user turn gets a breakpoint (written this turn) and so does the
    user turn before it (written last turn, read now), so every turn after the
    first reads the earlier conversation from cache.  With the system block
    that is three of the four breakpoints the API allows.  `pin` (a turn
    count) puts the fourth at the end of `turns[:pin]`, a prefix that stays the
    same when later turns change (the design, before a folded summary; see
    `bot.context`), so it is still read from cache after a fold.
    """
    msgs: list[dict[str, Any]] = [
        {"role": t.role, "content": [*image_blocks(t), {"type": "text", "text": t.content}]} for t in turns
    ]
    user_idx = [i for i, m in enumerate(msgs) if m["role"] == "user"]
    marked = user_idx[-2:] + ([pin - 1] if pin is not None and 0 < pin <= len(msgs) else [])
    for i in marked:
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
            if "too long" in str(exc).lower() or "context window" in str(exc).lower():
                return LLMError("context_full", str(exc))
            return LLMError("bad_request", str(exc))
        return LLMError("api", f"{exc.status_code} {etype}")
    if isinstance(exc, anthropic.APIError):
        return LLMError("api", str(exc))
    # The HTTP library's own errors (dropped connection, protocol error).
    return LLMError("connection", f"{exc.__class__.__name__}: {exc}")


class _Relay:
    """Passes text deltas on to the caller and keeps them, across continuation calls.

    A continuation prefills what was written without its trailing whitespace
    (the API refuses it); that whitespace already reached the caller, so the
    same whitespace at the start of the continuation is skipped once.
    """

    def __init__(self, on_text: TextCallback | None):
        self.on_text = on_text
        self.parts: list[str] = []
        self.skip = ""
        self.delivered = False       # text reached the caller in the current call

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def next_call(self, skip: str) -> None:
        self.skip, self.delivered = skip, False

    async def __call__(self, delta: str) -> None:
        while self.skip and delta and delta[0] == self.skip[0]:
            delta, self.skip = delta[1:], self.skip[1:]
        if not delta:
            return
        self.skip = ""
        self.delivered = True
        self.parts.append(delta)
        if self.on_text is not None:
            try:
                await self.on_text(delta)
            except Exception as exc:  # noqa: BLE001 - the caller's failure (a post), not the model's
                raise _CallbackFailed(exc) from exc


class LLM:
    """Thin, testable wrapper over `anthropic.AsyncAnthropic`."""

    def __init__(self, settings, client: anthropic.AsyncAnthropic | None = None):
        self.model = settings.anthropic_model
        self.max_tokens = settings.anthropic_max_tokens
        self.total_timeout = settings.anthropic_total_timeout
        self.max_continuations = settings.anthropic_max_continuations
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
        cache_pin: int | None = None,
    ) -> LLMResult:
        """Stream one whole reply; `on_text` gets each text delta as it arrives.

        A reply cut at max_tokens is continued (up to `max_continuations`
        follow-up calls that prefill what was written), so the caller sees one
        continuous text.  A refusal, a full context window or an empty reply
        (after one quiet retry) raise `LLMError`.  `cache_pin`: see `build_messages`.
        """
        deadline = time.monotonic() + self.total_timeout
        relay = _Relay(on_text)
        base, prefix = turns, ""
        if turns and turns[-1].role == "assistant":
            base, prefix = turns[:-1], turns[-1].content
        usage, calls, result = Usage(), 0, None
        for _ in range(self.max_continuations + 1):
            written = prefix + relay.text
            prefill = written.rstrip() if calls else written
            call_turns = base + [Turn(role="assistant", content=prefill)] if prefill else base
            relay.next_call(written[len(prefill):])
            result = await self._call(system, call_turns, relay, tool, (max_tokens, cache_pin), deadline)
            usage.add(result.usage)
            calls += 1
            if result.stop_reason != StopReason.MAX_TOKENS or tool is not None:
                break
            log.info("reply cut at max_tokens after %d characters; continuing", len(relay.text))
        assert result is not None
        return self._checked(LLMResult(text=relay.text, usage=usage, tool_input=result.tool_input,
                                       stop_reason=result.stop_reason, continuations=calls - 1))

    @staticmethod
    def _checked(result: LLMResult) -> LLMResult:
        if result.stop_reason == StopReason.REFUSAL:
            raise LLMError("refusal", f"after {len(result.text)} characters")
        if result.stop_reason == StopReason.CONTEXT_FULL:
            raise LLMError("context_full", f"after {len(result.text)} characters")
        if not result.text.strip() and result.tool_input is None:
            raise LLMError("empty")
        return result

    async def _call(self, system, turns, relay: _Relay, tool, limits: tuple[int | None, int | None],
                    deadline: float) -> LLMResult:
        """One model call, retried once when it failed or came back empty before any text."""
        attempt, spent = 0, Usage()
        while True:
            attempt += 1
            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LLMError("timeout", "total time budget used up")
                async with asyncio.timeout(remaining):
                    result = await self._stream_once(system, turns, relay, tool, *limits)
                quiet = result.stop_reason not in (StopReason.REFUSAL, StopReason.CONTEXT_FULL)
                if attempt == 1 and quiet and not relay.delivered and result.tool_input is None \
                        and turns[-1].role == "user":
                    log.warning("model sent an empty reply; asking once more")
                    spent.add(result.usage)
                    continue
                result.usage.add(spent)
                return result
            except asyncio.CancelledError:
                raise
            except _CallbackFailed as exc:
                raise exc.original from None
            except Exception as exc:  # noqa: BLE001 - every failure becomes an LLMError
                err = classify(exc)
                # Statuses other than 200 were already retried by the SDK.
                pre_stream = isinstance(exc, anthropic.APIStatusError) and exc.status_code != 200
                retryable = err.kind in {"overloaded", "connection", "api"}
                if attempt == 1 and not relay.delivered and not pre_stream and retryable:
                    log.warning("model stream failed before any text (%s); retrying once", err.kind)
                    continue
                raise err from exc

    async def _stream_once(self, system, turns, relay, tool, max_tokens, cache_pin) -> LLMResult:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens or self.max_tokens,
            "system": self.system_blocks(system),
            "messages": build_messages(turns, cache_pin),
        }
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
        return LLMResult(text="".join(parts), usage=usage_of(final.usage), tool_input=tool_input,
                         stop_reason=final.stop_reason)

    async def close(self) -> None:
        await self.client.close()
