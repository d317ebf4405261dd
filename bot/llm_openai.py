"""The model client for OpenAI-compatible endpoints (OpenAI, Ollama, vLLM, LM Studio, OpenRouter).

Same surface as `bot.llm.LLM`: `complete(system, turns, on_text=, tool=,
max_tokens=) -> LLMResult`, `close()`, failures as `LLMError` with the same
kinds.  Streams Chat Completions with `stream_options.include_usage`.

Servers differ, so the client learns from the first refusal and remembers:
- a 400 about tools: the server cannot call tools; the tool's input is then
  asked for as a fenced ```json block in the text and parsed from there;
- a 400 naming `max_tokens` / `max_completion_tokens`: use the other one
  (newer OpenAI models take only `max_completion_tokens`, many local servers
  only `max_tokens`);
- a 400 about `stream_options`: stream without it (usage is then estimated).

The SDK retries 408/409/429/5xx (honouring `retry-after`) before a stream
starts; a failure after the stream began is retried here once if no text
reached the user yet, all within the total time bound.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx2
import openai

from .llm import LLMError, LLMResult, TextCallback
from .llm_tools import arguments_object, extract_json_object, forced_choice, json_instruction, openai_tool
from .state import Turn, Usage

log = logging.getLogger(__name__)

# Finish reasons in the Anthropic vocabulary the engine already knows.
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}
RETRY_ONCE_KINDS = {"overloaded", "connection", "api"}
IMAGE_CHARS = 6400   # what an image counts as in the usage estimate (about 1,600 tokens at 4 characters each)


class ToolSupport(StrEnum):
    UNKNOWN = "unknown"
    YES = "yes"
    NO = "no"


class OpenAILLMError(LLMError):
    """An `LLMError` whose wording names the OpenAI settings."""

    @property
    def user_message(self) -> str:
        if self.kind == "auth":
            return "The model API rejected our key (check OPENAI_API_KEY)."
        if self.kind == "not_found":
            return "The model API doesn't know the configured model (check OPENAI_MODEL)."
        return super().user_message


def _error_fields(exc: openai.APIError) -> tuple[str, str, str]:
    """(type, code, message) of an API error body, lower-cased, empty when absent."""
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error") if isinstance(body.get("error"), dict) else body
    get = (lambda k: str(err.get(k) or "").lower()) if isinstance(err, dict) else (lambda k: "")
    return get("type"), get("code"), (get("message") or str(exc.message or "").lower())


def classify(exc: BaseException) -> LLMError:
    """Any failure as an `OpenAILLMError` of one of `LLMError`'s kinds."""
    if isinstance(exc, LLMError):
        return exc if isinstance(exc, OpenAILLMError) else OpenAILLMError(exc.kind, exc.detail)
    if isinstance(exc, openai.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return OpenAILLMError("timeout", str(exc))
    if isinstance(exc, openai.APIConnectionError):
        return OpenAILLMError("connection", str(exc))
    if isinstance(exc, openai.APIStatusError):
        etype, code, _ = _error_fields(exc)
        status = exc.status_code
        if status in (503, 529) or "overloaded" in (etype, code):
            return OpenAILLMError("overloaded", str(exc))
        if status == 429:
            return OpenAILLMError("rate_limited", str(exc))
        if status in (401, 403):
            return OpenAILLMError("auth", str(exc))
        if status == 404:
            return OpenAILLMError("not_found", str(exc))
        if status in (400, 413, 422):
            return OpenAILLMError("bad_request", str(exc))
        return OpenAILLMError("api", f"{status} {etype or code}".strip())
    if isinstance(exc, openai.APIError):  # an error sent inside the stream
        etype, code, _ = _error_fields(exc)
        kind = "overloaded" if "overloaded" in (etype, code) else "api"
        return OpenAILLMError(kind, str(exc))
    if isinstance(exc, json.JSONDecodeError):
        return OpenAILLMError("api", f"malformed event in the stream: {exc}")
    return OpenAILLMError("connection", f"{exc.__class__.__name__}: {exc}")


async def sse_events(response: Any) -> AsyncIterator[dict[str, Any]]:
    """The JSON `data:` payloads of a Chat Completions event stream, up to `[DONE]`.

    Transport failures become the SDK's own connection and timeout errors.
    """
    data: list[str] = []
    try:
        async for line in response.iter_lines():
            if line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
                continue
            if line or not data:
                continue  # comments (":"), event names, ids; or a blank line with nothing buffered
            payload, data = "\n".join(data), []
            if payload.strip() == "[DONE]":
                return
            value = json.loads(payload)
            if isinstance(value, dict):
                yield value
    except httpx2.TimeoutException as exc:
        raise openai.APITimeoutError(request=response.http_request) from exc
    except httpx2.RequestError as exc:
        raise openai.APIConnectionError(request=response.http_request) from exc


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def usage_of(raw: Any, prompt_chars: int, output_chars: int) -> Usage:
    """Chat Completions usage as `Usage` (cached prompt tokens are cache reads).

    A server that reports no usage gets an estimate of 4 characters per token,
    so budgets still count something.
    """
    if raw is None:
        return Usage(input_tokens=prompt_chars // 4, output_tokens=output_chars // 4, calls=1)
    details = _field(raw, "prompt_tokens_details")
    cached = (_field(details, "cached_tokens") or 0) if details is not None else 0
    prompt = _field(raw, "prompt_tokens") or 0
    return Usage(input_tokens=max(prompt - cached, 0), output_tokens=_field(raw, "completion_tokens") or 0,
                 cache_read_tokens=cached, calls=1)


def _content(turn: Turn, extra: str | None = None) -> str | list[dict[str, Any]]:
    """A turn's content: plain text, or text and image parts (data URLs) when it carries images."""
    text = f"{turn.content}\n\n{extra}" if extra else turn.content
    if not turn.images:
        return text
    images = [{"type": "image_url", "image_url": {
        "url": f"data:{im.media_type};base64,{base64.b64encode(im.data).decode('ascii')}"}} for im in turn.images]
    return [{"type": "text", "text": text}, *images]


def build_messages(system: str, turns: list[Turn], extra_instruction: str | None = None) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = [{"role": "system", "content": system}]
    last = len(turns) - 1
    extra_here = bool(extra_instruction) and bool(turns) and turns[-1].role == "user"
    msgs += [{"role": t.role, "content": _content(t, extra_instruction if extra_here and i == last else None)}
             for i, t in enumerate(turns)]
    if extra_instruction and not extra_here:
        msgs.append({"role": "user", "content": extra_instruction})
    return msgs


def _chars(content: Any) -> int:
    """Characters of a message's content, for the usage estimate (an image as about 1,600 tokens)."""
    if isinstance(content, str):
        return len(content)
    return sum(len(p["text"]) if p.get("type") == "text" else IMAGE_CHARS for p in content)


@dataclass
class _Stream:
    """What one streamed answer accumulated."""

    parts: list[str] = field(default_factory=list)
    tool_name: str = ""
    tool_args: list[str] = field(default_factory=list)
    finish: str | None = None
    usage: Any = None


class OpenAILLM:
    """Thin, testable wrapper over `openai.AsyncOpenAI` with the `bot.llm.LLM` surface."""

    provider = "openai"

    def __init__(self, settings, client: openai.AsyncOpenAI | None = None):
        if not settings.openai_model:
            raise ValueError("OPENAI_MODEL is not set (needed with LLM_PROVIDER=openai)")
        self.model: str = settings.openai_model
        self.max_tokens = settings.anthropic_max_tokens
        self.total_timeout = settings.anthropic_total_timeout
        self.tool_support = ToolSupport.UNKNOWN
        # The official API wants max_completion_tokens; local servers know max_tokens.
        self.max_tokens_param = "max_completion_tokens" if not settings.openai_base_url else "max_tokens"
        self._param_switched = False
        self.include_usage = True
        if client is None:
            key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
            client = openai.AsyncOpenAI(
                api_key=key or "no-key",  # local servers take any key; the SDK insists on one
                base_url=settings.openai_base_url or None,
                max_retries=settings.anthropic_max_retries,
                timeout=settings.anthropic_request_timeout,
            )
        self.client = client

    async def complete(
        self,
        system: str,
        turns: list[Turn],
        *,
        on_text: TextCallback | None = None,
        tool: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        cache_pin: int | None = None,   # Anthropic's cache breakpoint; OpenAI-compatible servers cache on their own
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
                    await on_text(delta)

            try:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise OpenAILLMError("timeout", "total time budget used up")
                async with asyncio.timeout(remaining):
                    return await self._stream_once(system, turns, relay, tool, max_tokens)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure becomes an LLMError
                if not delivered and self._adapt(exc, tool):
                    attempt -= 1  # learned what the server accepts: not a retry
                    continue
                err = classify(exc)
                pre_stream = isinstance(exc, openai.APIStatusError)  # already retried by the SDK
                if attempt == 1 and not delivered and not pre_stream and err.kind in RETRY_ONCE_KINDS:
                    log.warning("model stream failed before any text (%s); retrying once", err.kind)
                    continue
                raise err from exc

    def _adapt(self, exc: Exception, tool: dict[str, Any] | None) -> bool:
        """Learn from a 400 what this server does not accept; True when the request should be re-sent."""
        if not isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
            return False
        _, _, message = _error_fields(exc)
        param = str((exc.body or {}).get("param") or "") if isinstance(exc.body, dict) else ""
        text = f"{message} {param}"
        about_tools = param in {"tools", "tool_choice"} or "tool" in message
        if tool is not None and self.tool_support is not ToolSupport.NO and about_tools:
            log.warning("the model endpoint refused tool calls (%s); asking for JSON in the text from now on",
                        message[:200])
            self.tool_support = ToolSupport.NO
            return True
        other = "max_tokens" if self.max_tokens_param == "max_completion_tokens" else "max_completion_tokens"
        named = f"'{self.max_tokens_param}'" in text or param == self.max_tokens_param or (
            self.max_tokens_param in text and other in text)
        if named and not self._param_switched:  # once: a server refusing both gets its 400 reported
            log.info("the model endpoint wants %s instead of %s", other, self.max_tokens_param)
            self.max_tokens_param = other
            self._param_switched = True
            return True
        if self.include_usage and "stream_options" in text:
            log.info("the model endpoint refused stream_options; usage will be estimated")
            self.include_usage = False
            return True
        return False

    def _request(self, system: str, turns: list[Turn], tool: dict[str, Any] | None,
                 max_tokens: int | None) -> dict[str, Any]:
        use_tools = tool is not None and self.tool_support is not ToolSupport.NO
        instruction = json_instruction(tool) if tool is not None and not use_tools else None
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": build_messages(system, turns, instruction),
            "stream": True,
            self.max_tokens_param: max_tokens or self.max_tokens,
        }
        if self.include_usage:
            kwargs["stream_options"] = {"include_usage": True}
        if use_tools and tool is not None:
            kwargs["tools"] = [openai_tool(tool)]
            kwargs["tool_choice"] = forced_choice(tool)
        return kwargs

    async def _stream_once(self, system, turns, relay, tool, max_tokens) -> LLMResult:
        kwargs = self._request(system, turns, tool, max_tokens)
        acc = _Stream()
        # The SDK sends the request, retries and raises status errors; the event stream is read
        # here as plain JSON, which costs a fraction of building a typed object per chunk.
        async with self.client.chat.completions.with_streaming_response.create(**kwargs) as response:
            async for data in sse_events(response):
                if data.get("error"):
                    err = data["error"]
                    message = err.get("message") if isinstance(err, dict) else str(err)
                    raise openai.APIError(str(message or "error in the stream"), response.http_request, body=err)
                if data.get("usage") is not None:
                    acc.usage = data["usage"]
                for choice in data.get("choices") or []:
                    await self._take(choice, acc, relay)
        return self._result(kwargs, acc, tool)

    @staticmethod
    async def _take(choice: dict[str, Any], acc: _Stream, relay) -> None:
        delta = choice.get("delta") or {}
        if delta.get("content"):
            acc.parts.append(delta["content"])
            await relay(delta["content"])
        for call in delta.get("tool_calls") or []:
            if call.get("index") not in (0, None):
                continue  # one forced tool: only the first call matters
            fn = call.get("function") or {}
            if fn.get("name"):
                acc.tool_name = fn["name"]
            if fn.get("arguments"):
                acc.tool_args.append(fn["arguments"])
        if choice.get("finish_reason"):
            acc.finish = choice["finish_reason"]

    def _result(self, kwargs: dict[str, Any], acc: _Stream, tool: dict[str, Any] | None) -> LLMResult:
        text = "".join(acc.parts)
        tool_input = None
        if tool is not None:
            if acc.tool_name:
                self.tool_support = ToolSupport.YES
                tool_input = arguments_object("".join(acc.tool_args))
            else:  # no tools, or a server that ignored them and wrote the JSON out
                tool_input = extract_json_object(text)
        prompt_chars = sum(_chars(m["content"]) for m in kwargs["messages"])
        usage = usage_of(acc.usage, prompt_chars, len(text) + sum(map(len, acc.tool_args)))
        return LLMResult(text=text, usage=usage, tool_input=tool_input,
                         stop_reason=STOP_REASONS.get(acc.finish or "", acc.finish))

    async def close(self) -> None:
        await self.client.close()
