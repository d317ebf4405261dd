"""A local fake of the OpenAI Chat Completions API, served by aiohttp.

The real ``openai.AsyncOpenAI(base_url=fake.base_url, api_key="test")`` talks
to it over HTTP.  It speaks the streaming format of the real API:

- ``POST /v1/chat/completions`` with ``stream: true`` answers
  ``text/event-stream``: one ``data: {chat.completion.chunk}`` line per chunk
  (a blank line after each), the first delta carrying ``role``, text as
  ``delta.content``, a forced tool call as ``delta.tool_calls`` pieces (the
  first with ``id``, ``type`` and ``function.name``, later ones with
  ``function.arguments`` fragments), a last choice chunk with
  ``finish_reason``; when ``stream_options.include_usage`` is true, one more
  chunk with ``choices: []`` and ``usage``; then ``data: [DONE]``.
- Without ``stream`` it answers one ``chat.completion`` object.
- Errors are JSON ``{"error": {"message", "type", "param", "code"}}`` with the
  real statuses: 400 invalid request, 401 bad key, 404 unknown model, 429 with
  ``retry-after``, 500, 503.  A mid-stream failure is a ``data: {"error": ...}``
  line (what vLLM and Ollama send) or a dropped connection.
- ``tools=False`` makes a server without tool support (like many local
  models): any request with ``tools`` gets 400 "... does not support tools".
- ``max_tokens_param`` names the one token-limit parameter the server accepts
  (the other one is rejected with 400, like newer OpenAI models reject
  ``max_tokens``).
- ``keepalive_comments=True`` puts ``: PROCESSING`` comment lines between
  events (OpenRouter does).
- ``GET /v1/models`` lists ``models``.

Which reply answers a request: ``replies.popleft()`` if queued, else
``responder(request_json)`` (sync or async), else ``Reply(text="ok")``.
Requests rejected with 400/401/404 consume no reply.  Usage: prompt tokens
are about len(messages json)/4, completion tokens about len(output)/4;
``Reply.cached_tokens`` is reported in ``prompt_tokens_details``.
"""
from __future__ import annotations

import asyncio
import collections
import inspect
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

__all__ = ["FAULTS", "FakeOpenAI", "Reply", "from_anthropic_responder"]

FAULTS = (None, "429", "500", "503", "midstream_error", "midstream_disconnect", "empty", "length")


@dataclass
class Reply:
    text: str = ""                      # streamed as delta.content
    tool_input: dict | None = None      # if set and the request has tools: a tool call with these arguments
    tool_name: str | None = None        # default: the forced tool's name, else the first tool's
    chunk_chars: int = 12
    first_token_delay: float = 0.0
    fault: str | None = None            # one of FAULTS
    fault_after_chars: int = 40         # midstream faults: characters sent before the fault
    retry_after: str = "0.01"           # retry-after header on 429/500/503
    cached_tokens: int = 0


def _estimate(text: str) -> int:
    return max(1, len(text) // 4)


def _error(status: int, message: str, etype: str, *, param: str | None = None, code: str | None = None,
           headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": etype, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers)


class FakeOpenAI:
    def __init__(self, *, responder=None, tools: bool = True, include_usage_supported: bool = True,
                 max_tokens_param: str | None = None, api_key: str | None = None,
                 models: tuple[str, ...] | None = None, keepalive_comments: bool = False):
        self.replies: collections.deque[Reply] = collections.deque()
        self.responder = responder
        self.tools = tools
        self.include_usage_supported = include_usage_supported
        self.max_tokens_param = max_tokens_param
        self.api_key = api_key
        self.models = models
        self.keepalive_comments = keepalive_comments  # ": ..." lines between events, as OpenRouter sends
        self.requests: list[dict] = []       # every request body, rejected ones included
        self.headers: list[dict[str, str]] = []
        self.served = 0                      # requests answered with a reply (faults included)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- lifecycle ---------------------------------------------------------------
    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- routes ------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        names = self.models or ("fake-model",)
        return web.json_response({"object": "list", "data": [
            {"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]})

    def _auth(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key")
        return None

    def _validate(self, body: dict) -> web.Response | None:
        model = body.get("model")
        if not isinstance(model, str) or not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, "'model' and a non-empty 'messages' are required.", "invalid_request_error")
        if self.models is not None and model not in self.models:
            return _error(404, f"The model `{model}` does not exist or you do not have access to it.",
                          "invalid_request_error", code="model_not_found")
        if body.get("tools") and not self.tools:
            return _error(400, f"registry.ollama.ai/library/{model} does not support tools", "invalid_request_error",
                          param="tools")
        if self.max_tokens_param is not None:
            other = "max_tokens" if self.max_tokens_param == "max_completion_tokens" else "max_completion_tokens"
            if other in body:
                return _error(400, f"Unsupported parameter: '{other}' is not supported with this model. "
                                   f"Use '{self.max_tokens_param}' instead.", "invalid_request_error",
                              param=other, code="unsupported_parameter")
        if "stream_options" in body and not self.include_usage_supported:
            return _error(400, "Unrecognized request argument supplied: stream_options", "invalid_request_error",
                          param="stream_options")
        for msg in body["messages"]:
            if msg.get("role") not in {"system", "developer", "user", "assistant", "tool"}:
                return _error(400, f"Invalid role: {msg.get('role')!r}", "invalid_request_error", param="messages")
        return None

    async def _next_reply(self, body: dict) -> Reply:
        if self.replies:
            return self.replies.popleft()
        if self.responder is not None:
            reply = self.responder(body)
            if inspect.isawaitable(reply):
                reply = await reply
            return reply
        return Reply(text="ok")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.headers.append(dict(request.headers))
        try:
            body = await request.json()
        except json.JSONDecodeError:
            self.requests.append({})
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        self.requests.append(body)
        if (denied := self._auth(request)) is not None:
            return denied
        if (invalid := self._validate(body)) is not None:
            return invalid
        reply = await self._next_reply(body)
        self.served += 1
        headers = {"retry-after": reply.retry_after}
        if reply.fault == "429":
            return _error(429, "Rate limit reached for requests.", "requests", code="rate_limit_exceeded",
                          headers=headers)
        if reply.fault == "500":
            return _error(500, "The server had an error while processing your request.", "server_error",
                          headers=headers)
        if reply.fault == "503":
            return _error(503, "The engine is currently overloaded, please try again later.", "server_error",
                          code="overloaded", headers=headers)
        plan = self._plan(body, reply)
        if not body.get("stream"):
            return web.json_response(self._completion(body, plan))
        return await self._stream(request, body, reply, plan)

    # --- answers -----------------------------------------------------------------
    def _plan(self, body: dict, reply: Reply) -> dict[str, Any]:
        """What the answer holds: text, tool call (name, arguments json), finish reason."""
        tool_call = None
        if reply.tool_input is not None and body.get("tools"):
            choice = body.get("tool_choice")
            forced = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
            name = reply.tool_name or forced or body["tools"][0]["function"]["name"]
            tool_call = {"id": f"call_{next(self._ids):06d}", "name": name, "arguments": json.dumps(reply.tool_input)}
        text = "" if reply.fault == "empty" else reply.text
        if reply.tool_input is not None and not body.get("tools"):
            text = text + "```json\n" + json.dumps(reply.tool_input, indent=1) + "\n```"
        finish = "tool_calls" if tool_call else ("length" if reply.fault == "length" else "stop")
        prompt = _estimate(json.dumps(body.get("messages", [])) + json.dumps(body.get("tools", [])))
        completion = _estimate(text + (tool_call["arguments"] if tool_call else "")) if (text or tool_call) else 0
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                 "prompt_tokens_details": {"cached_tokens": min(reply.cached_tokens, prompt)}}
        return {"text": text, "tool_call": tool_call, "finish": finish, "usage": usage,
                "id": f"chatcmpl-{next(self._ids):08d}", "created": int(time.time())}

    def _completion(self, body: dict, plan: dict) -> dict:
        message: dict[str, Any] = {"role": "assistant", "content": plan["text"] or None}
        if plan["tool_call"]:
            tc = plan["tool_call"]
            message["tool_calls"] = [{"id": tc["id"], "type": "function",
                                      "function": {"name": tc["name"], "arguments": tc["arguments"]}}]
        return {"id": plan["id"], "object": "chat.completion", "created": plan["created"], "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": plan["finish"], "logprobs": None}],
                "usage": plan["usage"]}

    def _chunk(self, body: dict, plan: dict, choices: list[dict], usage: dict | None = None) -> bytes:
        data = {"id": plan["id"], "object": "chat.completion.chunk", "created": plan["created"],
                "model": body["model"], "system_fingerprint": "fp_fake", "choices": choices}
        if usage is not None or (body.get("stream_options") or {}).get("include_usage"):
            data["usage"] = usage
        return f"data: {json.dumps(data)}\n\n".encode()

    async def _stream(self, request: web.Request, body: dict, reply: Reply, plan: dict) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/event-stream; charset=utf-8",
                                                       "Cache-Control": "no-cache"})
        await resp.prepare(request)
        if self.keepalive_comments:
            await resp.write(b": PROCESSING\n\n")

        def delta(d: dict, finish: str | None = None) -> list[dict]:
            return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": finish}]

        await resp.write(self._chunk(body, plan, delta({"role": "assistant", "content": "", "refusal": None})))
        if reply.first_token_delay:
            await asyncio.sleep(reply.first_token_delay)
        sent = 0
        midstream = reply.fault in {"midstream_error", "midstream_disconnect"}
        pieces = [plan["text"][i:i + reply.chunk_chars] for i in range(0, len(plan["text"]), reply.chunk_chars)]
        if midstream and reply.fault_after_chars == 0:
            return await self._fail(request, resp, body, plan, reply.fault)
        for piece in pieces:
            await resp.write(self._chunk(body, plan, delta({"content": piece})))
            if self.keepalive_comments:
                await resp.write(b": PROCESSING\n\n")
            sent += len(piece)
            await asyncio.sleep(0)
            if midstream and sent >= reply.fault_after_chars:
                return await self._fail(request, resp, body, plan, reply.fault)
        if plan["tool_call"]:
            tc = plan["tool_call"]
            await resp.write(self._chunk(body, plan, delta({"tool_calls": [{
                "index": 0, "id": tc["id"], "type": "function", "function": {"name": tc["name"], "arguments": ""}}]})))
            args = tc["arguments"]
            for i in range(0, len(args), reply.chunk_chars):
                await resp.write(self._chunk(body, plan, delta({"tool_calls": [{
                    "index": 0, "function": {"arguments": args[i:i + reply.chunk_chars]}}]})))
        if midstream:
            return await self._fail(request, resp, body, plan, reply.fault)
        await resp.write(self._chunk(body, plan, delta({}, plan["finish"])))
        if (body.get("stream_options") or {}).get("include_usage"):
            await resp.write(self._chunk(body, plan, [], usage=plan["usage"]))
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def _fail(self, request: web.Request, resp: web.StreamResponse, body: dict, plan: dict,
                    fault: str | None) -> web.StreamResponse:
        if fault == "midstream_error":
            err = {"error": {"message": "The server is overloaded.", "type": "server_error", "code": "overloaded"}}
            await resp.write(f"data: {json.dumps(err)}\n\n".encode())
            await resp.write_eof()
            return resp
        # Dropped connection: close the socket without finishing the chunked body.
        if request.transport is not None:
            request.transport.close()
        return resp


def from_anthropic_responder(responder):
    """Wrap a responder written for the fake Anthropic server (its `Reply` type) for this fake."""

    def respond(body: dict) -> Reply:
        a = responder(body)
        fault = a.fault if a.fault in FAULTS else ("503" if a.fault == "529" else None)
        return Reply(text=a.text, tool_input=a.tool_input, tool_name=a.tool_name, chunk_chars=a.chunk_chars,
                     first_token_delay=a.first_token_delay, fault=fault, fault_after_chars=a.fault_after_chars)

    return respond
