"""A local fake of the Anthropic Messages API, served by aiohttp.

The real ``anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test")``
talks to it over HTTP (the SDK uses ``httpx2``, so transport mocks do not work).

Usage::

    async with FakeAnthropic() as fake:
        fake.replies.append(Reply(text="Hello there"))
        async with fake.client() as client:           # or anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test")
            async with client.messages.stream(model="m", max_tokens=100,
                                              messages=[{"role": "user", "content": "hi"}]) as s:
                text = "".join([t async for t in s.text_stream])

Which reply answers a request: ``replies.popleft()`` if the queue is non-empty,
else ``responder(request_json)`` (sync or async), else ``Reply(text="ok")``.
One reply is consumed per HTTP request that passes validation (so a queued
``Reply(fault="429")`` followed by ``Reply(text="hi")`` lets the SDK's own retry
succeed). Requests rejected with 400/401 do not consume a reply.

A reply text longer than the request's ``max_tokens`` (at ~4 characters a
token) is cut there and stops with ``max_tokens``.  When the request ends with
an assistant turn (a prefill) that the reply text starts with, only the rest is
sent, so a scripted full reply is continued across calls like a real model.

Usage numbers: tokens ~= len(json text) / 4 per content block.  A small prompt
cache is emulated per ``FakeAnthropic`` instance: the prefix tools -> system ->
(tool_choice) -> messages, up to each ``cache_control`` breakpoint, is remembered;
a later request whose prefix up to a breakpoint (or up to 20 blocks before one)
equals a remembered prefix reports those tokens as ``cache_read_input_tokens``;
the remainder up to the last breakpoint is ``cache_creation_input_tokens``;
everything after the last breakpoint is ``input_tokens``.  Breakpoints whose
prefix is shorter than ``min_cache_tokens`` (default 0; the real API uses
1024-4096 depending on model) are silently ignored, like the real API does.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import inspect
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["FAULTS", "FakeAnthropic", "Reply", "Responder"]

FAULTS = (None, "429", "529", "500", "midstream_overloaded", "midstream_disconnect", "empty")


@dataclass
class Reply:
    text: str = ""  # streamed as text_delta events
    tool_input: dict | None = None  # if set: a tool_use block, streamed as input_json_delta chunks
    tool_name: str | None = None  # default: tool_choice name, else first tool's name, else "tool"
    chunk_chars: int = 12  # characters per delta
    first_token_delay: float = 0.0  # seconds before the first content delta
    tokens_per_second: float | None = None  # pacing between deltas (a chunk ~ chunk_chars/4 tokens)
    fault: str | None = None  # one of FAULTS
    fault_after_chars: int = 40  # midstream faults: how many characters are sent before the fault
    retry_after_ms: int = 10  # for 429/529/500: `retry-after-ms` header (min 1), plus `retry-after: 0`
    stop_reason: str = "end_turn"  # "end_turn" becomes "tool_use" when tool_input is set; also "refusal",
    # "max_tokens" (a text longer than the request's max_tokens * 4 characters is cut and stops with it anyway),
    # "model_context_window_exceeded"
    usage: dict | None = None  # override usage numbers (merged over the computed ones)

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {FAULTS}")
        if self.chunk_chars < 1:
            raise ValueError("chunk_chars must be >= 1")


Responder = Callable[[dict], "Reply | Awaitable[Reply]"]

_LOOKBACK_BLOCKS = 20
_MAX_BREAKPOINTS = 4


class _BadRequest(Exception):
    def __init__(self, status: int, err_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.err_type = err_type
        self.message = message


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _strip_cc(block: Any) -> Any:
    if isinstance(block, dict) and "cache_control" in block:
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


def _has_cc(block: Any) -> bool:
    return isinstance(block, dict) and block.get("cache_control") is not None


def _blocks(content: Any) -> list:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return content
    return []


class FakeAnthropic:
    def __init__(self, responder: Responder | None = None, *, min_cache_tokens: int = 0) -> None:
        self.responder = responder
        self.min_cache_tokens = min_cache_tokens
        self.replies: collections.deque[Reply] = collections.deque()
        self.requests: list[dict] = []  # every JSON body POSTed to /v1/messages (retries included)
        self.request_headers: list[dict] = []  # headers of those requests, lower-cased names
        self.count_tokens_requests: list[dict] = []  # bodies POSTed to /v1/messages/count_tokens
        self.base_url: str = ""
        self._cache: set[str] = set()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/v1/messages", self._handle_messages)
        app.router.add_post("/v1/messages/count_tokens", self._handle_count_tokens)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sock_host, sock_port = self._runner.addresses[-1][:2]
        self.base_url = f"http://{sock_host}:{sock_port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeAnthropic:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def client(self, **kwargs: Any):
        """A real ``anthropic.AsyncAnthropic`` pointed at this fake (api_key="test" unless given)."""
        import anthropic

        kwargs.setdefault("api_key", "test")
        return anthropic.AsyncAnthropic(base_url=self.base_url, **kwargs)

    def clear_cache(self) -> None:
        self._cache.clear()

    # ------------------------------------------------------------------ helpers
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}{uuid.uuid4().hex[:12]}"

    def _json_error(self, status: int, err_type: str, message: str, headers: dict | None = None) -> web.Response:
        body = {"type": "error", "error": {"type": err_type, "message": message}, "request_id": self._new_id("req")}
        h = {"request-id": body["request_id"]}
        h.update(headers or {})
        return web.json_response(body, status=status, headers=h)

    async def _read_json(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw or b"null")
        except ValueError as e:
            raise _BadRequest(400, "invalid_request_error", f"There was an error parsing the body: {e}") from None

    @staticmethod
    def _check_auth(request: web.Request) -> None:
        if not request.headers.get("authorization") and not request.headers.get("x-api-key"):
            raise _BadRequest(401, "authentication_error", "x-api-key header is required (or Authorization: Bearer)")
        if not request.headers.get("anthropic-version"):
            raise _BadRequest(400, "invalid_request_error", "anthropic-version: header is required")

    @staticmethod
    def _validate(body: Any, *, need_max_tokens: bool) -> None:
        def bad(msg: str) -> _BadRequest:
            return _BadRequest(400, "invalid_request_error", msg)

        if not isinstance(body, dict):
            raise bad("Request body must be a JSON object")
        if not body.get("model"):
            raise bad("model: Field required")
        if need_max_tokens:
            if "max_tokens" not in body:
                raise bad("max_tokens: Field required")
            mt = body["max_tokens"]
            if not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
                raise bad(f"max_tokens: Input should be a positive integer (got {mt!r})")
        if "messages" not in body:
            raise bad("messages: Field required")
        messages = body["messages"]
        if not isinstance(messages, list):
            raise bad("messages: Input should be a valid list")
        if not messages:
            raise bad("messages: at least one message is required")
        prev_role = None
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                raise bad(f"messages.{i}: Input should be an object")
            role = m.get("role")
            if role not in ("user", "assistant"):
                raise bad(f"messages.{i}.role: Input should be 'user' or 'assistant' (got {role!r})")
            if i == 0 and role != "user":
                raise bad("messages: first message must use the \"user\" role")
            if role == prev_role:
                raise bad(
                    f"messages: roles must alternate between \"user\" and \"assistant\", "
                    f"but found multiple \"{role}\" roles in a row (messages.{i - 1} and messages.{i})"
                )
            prev_role = role
            if "content" not in m:
                raise bad(f"messages.{i}.content: Field required")
            content = m["content"]
            is_final_assistant = i == len(messages) - 1 and role == "assistant"
            if isinstance(content, str):
                if content == "" and not is_final_assistant:
                    raise bad(f"messages.{i}: {role} messages must have non-empty content")
            elif isinstance(content, list):
                if not content and not is_final_assistant:
                    raise bad(f"messages.{i}: {role} messages must have non-empty content")
                for j, blk in enumerate(content):
                    if not isinstance(blk, dict) or "type" not in blk:
                        raise bad(f"messages.{i}.content.{j}: content blocks must be objects with a 'type'")
                    if blk["type"] == "text" and not blk.get("text"):
                        raise bad(f"messages.{i}.content.{j}.text: text content blocks must be non-empty")
            else:
                raise bad(f"messages.{i}.content: Input should be a string or a list of content blocks")
            if is_final_assistant:
                last_text = content if isinstance(content, str) else (
                    content[-1].get("text", "") if content and content[-1].get("type") == "text" else ""
                )
                if last_text and last_text != last_text.rstrip():
                    raise bad("messages: final assistant content cannot end with trailing whitespace")
        # tool_use must be answered by tool_result in the next message
        for i, m in enumerate(messages[:-1]):
            if m["role"] != "assistant" or not isinstance(m["content"], list):
                continue
            ids = [b.get("id") for b in m["content"] if b.get("type") == "tool_use"]
            if not ids:
                continue
            nxt = _blocks(messages[i + 1]["content"])
            answered = {b.get("tool_use_id") for b in nxt if isinstance(b, dict) and b.get("type") == "tool_result"}
            missing = [x for x in ids if x not in answered]
            if missing:
                raise bad(
                    f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(map(str, missing))}. Each `tool_use` block must have a corresponding "
                    f"`tool_result` block in the next message."
                )
        tools = body.get("tools") or []
        tool_choice = body.get("tool_choice")
        if isinstance(tool_choice, dict) and tool_choice.get("type") == "tool":
            names = [t.get("name") for t in tools if isinstance(t, dict)]
            if tool_choice.get("name") not in names:
                raise bad(f"tool_choice: tool {tool_choice.get('name')!r} not found in tools {names}")
        n_bp = FakeAnthropic._count_breakpoints(body)
        if n_bp > _MAX_BREAKPOINTS:
            raise bad(f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {n_bp}.")

    @staticmethod
    def _segments(body: dict) -> list[tuple[str, int, bool]]:
        """(canonical json, tokens, has_cache_control) per cacheable block, in cache-key order."""
        segs: list[tuple[str, int, bool]] = []
        for t in body.get("tools") or []:
            s = _dumps({"tool": _strip_cc(t)})
            segs.append((s, _tokens(s), _has_cc(t)))
        system = body.get("system")
        if isinstance(system, str) and system:
            s = _dumps({"system": system})
            segs.append((s, _tokens(s), False))
        elif isinstance(system, list):
            for blk in system:
                s = _dumps({"system": _strip_cc(blk)})
                segs.append((s, _tokens(s), _has_cc(blk)))
        # tool_choice / thinking changes invalidate the message part of the cache
        segs.append((_dumps({"tool_choice": body.get("tool_choice"), "thinking": body.get("thinking")}), 0, False))
        for m in body.get("messages") or []:
            role = m.get("role")
            for blk in _blocks(m.get("content")):
                s = _dumps({"role": role, "block": _strip_cc(blk)})
                segs.append((s, _tokens(s), _has_cc(blk)))
        return segs

    @staticmethod
    def _count_breakpoints(body: dict) -> int:
        n = sum(1 for t in body.get("tools") or [] if _has_cc(t))
        if isinstance(body.get("system"), list):
            n += sum(1 for b in body["system"] if _has_cc(b))
        for m in body.get("messages") or []:
            if isinstance(m, dict):
                n += sum(1 for b in _blocks(m.get("content")) if _has_cc(b))
        return n

    def _input_usage(self, body: dict, *, update_cache: bool) -> dict:
        segs = self._segments(body)
        model = str(body.get("model"))
        hashes: list[str] = []
        h = hashlib.sha256(model.encode()).hexdigest()
        cum: list[int] = []
        total = 0
        for s, tok, _ in segs:
            h = hashlib.sha256((h + s).encode()).hexdigest()
            hashes.append(h)
            total += tok
            cum.append(total)  # tokens in segs[0..i] inclusive
        bps = [i for i, (_, _, cc) in enumerate(segs) if cc and cum[i] >= max(1, self.min_cache_tokens)]
        if not bps:
            return {"input_tokens": total, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        read_end = -1  # index of last segment served from cache
        for bp in bps:
            for j in range(bp, max(-1, bp - _LOOKBACK_BLOCKS), -1):
                if hashes[j] in self._cache:
                    read_end = max(read_end, j)
                    break
        last = bps[-1]
        read = cum[read_end] if read_end >= 0 else 0
        create = cum[last] - read
        if update_cache:
            self._cache.update(hashes[bp] for bp in bps)
        return {"input_tokens": total - read - create, "cache_creation_input_tokens": create,
                "cache_read_input_tokens": read}

    async def _pick_reply(self, body: dict) -> Reply:
        if self.replies:
            return self.replies.popleft()
        if self.responder is not None:
            r = self.responder(body)
            if inspect.isawaitable(r):
                r = await r
            if not isinstance(r, Reply):
                raise TypeError(f"responder must return Reply, got {type(r).__name__}")
            return r
        return Reply(text="ok")

    @staticmethod
    def _after_prefill(body: dict, text: str) -> str:
        """A reply whose start the request already holds as a trailing assistant turn (a prefill)
        continues from there, like a model finishing its own sentence."""
        last = (body.get("messages") or [{}])[-1]
        if last.get("role") != "assistant":
            return text
        prefill = "".join(b.get("text", "") for b in _blocks(last.get("content")) if isinstance(b, dict))
        return text[len(prefill):] if prefill and text.startswith(prefill) else text

    @staticmethod
    def _tool_name(reply: Reply, body: dict) -> str:
        if reply.tool_name:
            return reply.tool_name
        tc = body.get("tool_choice")
        if isinstance(tc, dict) and tc.get("type") == "tool" and tc.get("name"):
            return tc["name"]
        tools = body.get("tools") or []
        if tools and isinstance(tools[0], dict) and tools[0].get("name"):
            return tools[0]["name"]
        return "tool"

    # ------------------------------------------------------------------ handlers
    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return self._json_error(404, "not_found_error", f"Not found: {request.method} {request.path}")

    async def _handle_count_tokens(self, request: web.Request) -> web.Response:
        try:
            self._check_auth(request)
            body = await self._read_json(request)
            self.count_tokens_requests.append(body)
            self._validate(body, need_max_tokens=False)
        except _BadRequest as e:
            return self._json_error(e.status, e.err_type, e.message)
        u = self._input_usage(body, update_cache=False)
        n = u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]
        return web.json_response({"input_tokens": n})

    async def _handle_messages(self, request: web.Request) -> web.StreamResponse:
        try:
            raw = await request.read()
            try:
                body = json.loads(raw or b"null")
            except ValueError as e:
                body = {"_unparseable_body": raw.decode("utf-8", "replace")}
                self.requests.append(body)
                self.request_headers.append({k.lower(): v for k, v in request.headers.items()})
                raise _BadRequest(400, "invalid_request_error", f"There was an error parsing the body: {e}") from None
            self.requests.append(body)
            self.request_headers.append({k.lower(): v for k, v in request.headers.items()})
            self._check_auth(request)
            self._validate(body, need_max_tokens=True)
        except _BadRequest as e:
            return self._json_error(e.status, e.err_type, e.message)

        reply = await self._pick_reply(body)
        stream = bool(body.get("stream"))
        fault = reply.fault
        retry_headers = {"retry-after-ms": str(max(1, int(reply.retry_after_ms))), "retry-after": "0"}
        if fault == "429":
            return self._json_error(429, "rate_limit_error",
                                    "Number of request tokens has exceeded your per-minute rate limit (fake)",
                                    retry_headers)
        if fault == "529" or (fault == "midstream_overloaded" and not stream):
            return self._json_error(529, "overloaded_error", "Overloaded", retry_headers)
        if fault == "500":
            return self._json_error(500, "api_error", "Internal server error (fake)", retry_headers)
        if fault == "midstream_disconnect" and not stream:
            await asyncio.sleep(reply.first_token_delay)
            self._abort(request)
            return web.Response(status=500)  # never delivered: the connection is already gone

        usage = self._input_usage(body, update_cache=True)
        usage["output_tokens"] = 0
        text = "" if fault == "empty" else self._after_prefill(body, reply.text)
        stop_reason = reply.stop_reason
        if len(text) > body["max_tokens"] * 4:  # the model runs out of room: cut, like the real API
            text, stop_reason = text[: body["max_tokens"] * 4], "max_tokens"
        tool_json = None if (fault == "empty" or reply.tool_input is None) else _dumps(reply.tool_input)
        out_tokens = max(1, _tokens(text) + (_tokens(tool_json) if tool_json else 0)) if (text or tool_json) else 0
        usage["output_tokens"] = out_tokens
        if reply.usage:
            usage.update(reply.usage)
        if tool_json is not None and stop_reason == "end_turn":
            stop_reason = "tool_use"
        tool_name = self._tool_name(reply, body)
        tool_id = self._new_id("toolu")

        # content blocks: (start block, delta type, payload)
        blocks: list[tuple[dict, str, str]] = []
        if fault != "empty":
            if text or tool_json is None:
                blocks.append(({"type": "text", "text": ""}, "text_delta", text))
            if tool_json is not None:
                blocks.append(({"type": "tool_use", "id": tool_id, "name": tool_name, "input": {}},
                               "input_json_delta", tool_json))

        msg_id = self._new_id("msg")
        req_id = self._new_id("req")
        model = body["model"]

        def full_usage(u: dict) -> dict:
            return {
                "input_tokens": u["input_tokens"],
                "cache_creation_input_tokens": u["cache_creation_input_tokens"],
                "cache_read_input_tokens": u["cache_read_input_tokens"],
                "cache_creation": {"ephemeral_5m_input_tokens": u["cache_creation_input_tokens"],
                                   "ephemeral_1h_input_tokens": 0},
                "output_tokens": u["output_tokens"],
                "service_tier": "standard",
            }

        if not stream:
            delay = reply.first_token_delay
            if reply.tokens_per_second:
                delay += out_tokens / reply.tokens_per_second
            if delay > 0:
                await asyncio.sleep(delay)
            content = []
            for start, kind, payload in blocks:
                if kind == "text_delta":
                    content.append({"type": "text", "text": payload})
                else:
                    content.append({**start, "input": reply.tool_input})
            msg = {"id": msg_id, "type": "message", "role": "assistant", "model": model, "content": content,
                   "stop_reason": stop_reason, "stop_sequence": None, "usage": full_usage(usage)}
            return web.json_response(msg, headers={"request-id": req_id})

        resp = web.StreamResponse(status=200, headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "request-id": req_id,
        })
        try:
            await resp.prepare(request)

            async def send(event: str, data: dict) -> None:
                await resp.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())

            start_usage = dict(usage, output_tokens=1 if blocks else 0)
            await send("message_start", {"type": "message_start", "message": {
                "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": full_usage(start_usage)}})
            await send("ping", {"type": "ping"})
            if reply.first_token_delay > 0:
                await asyncio.sleep(reply.first_token_delay)

            midstream = fault in ("midstream_overloaded", "midstream_disconnect")
            budget = max(0, reply.fault_after_chars) if midstream else None
            interval = (reply.chunk_chars / 4) / reply.tokens_per_second if reply.tokens_per_second else 0.0
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            n_sent = 0
            for index, (start, kind, payload) in enumerate(blocks):
                if budget is not None and budget <= 0:
                    break
                await send("content_block_start",
                           {"type": "content_block_start", "index": index, "content_block": start})
                for k in range(0, len(payload), reply.chunk_chars):
                    piece = payload[k:k + reply.chunk_chars]
                    if budget is not None:
                        if budget <= 0:
                            break
                        piece = piece[:budget]
                        budget -= len(piece)
                    if interval and n_sent:
                        wait = t0 + interval * n_sent - loop.time()
                        if wait > 0:
                            await asyncio.sleep(wait)
                    field = "text" if kind == "text_delta" else "partial_json"
                    await send("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": kind, field: piece}})
                    n_sent += 1
                if budget is not None and budget <= 0:
                    break
                await send("content_block_stop", {"type": "content_block_stop", "index": index})

            if fault == "midstream_overloaded":
                await send("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                                     "request_id": req_id})
                await resp.write_eof()
                return resp
            if fault == "midstream_disconnect":
                self._abort(request)
                raise ConnectionResetError("fake: connection dropped mid-stream on purpose")

            await send("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                         "usage": {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                                                         "cache_read_input_tokens", "output_tokens")}})
            await send("message_stop", {"type": "message_stop"})
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError):
            # client went away (or we dropped it on purpose): nothing more to send
            self._abort(request)
        return resp

    @staticmethod
    def _abort(request: web.Request) -> None:
        transport = request.transport
        if transport is not None and not transport.is_closing():
            transport.abort()
