"""Tests for tests/fakes/fake_anthropic.py, driven by the real anthropic SDK."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import anthropic
import httpx2
import pytest

from tests.fakes.fake_anthropic import FakeAnthropic, Reply

MODEL = "claude-fake-1"
HI = [{"role": "user", "content": "hi"}]
SDK_HEADERS = {"authorization": "Bearer test", "anthropic-version": "2023-06-01", "content-type": "application/json"}


@pytest.fixture
async def fake():
    async with FakeAnthropic() as f:
        yield f


@pytest.fixture
async def client(fake):
    async with anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test") as c:
        yield c


async def raw_post(fake: FakeAnthropic, body: dict, path: str = "/v1/messages", headers=SDK_HEADERS):
    async with aiohttp.ClientSession() as s:
        async with s.post(fake.base_url + path, data=json.dumps(body), headers=headers) as r:
            return r.status, dict(r.headers), await r.text()


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for chunk in text.split("\n\n"):
        if not chunk.strip():
            continue
        lines = chunk.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), chunk
        ev, data = lines[0][len("event: "):], json.loads(lines[1][len("data: "):])
        assert data["type"] == ev
        events.append((ev, data))
    return events


# ---------------------------------------------------------------- streaming


async def test_stream_text(fake, client):
    text = "The load balancer fans requests out to stateless app servers."
    fake.replies.append(Reply(text=text, chunk_chars=5))
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
        pieces = [t async for t in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(pieces) == text
    assert len(pieces) == -(-len(text) // 5)
    assert final.content[0].type == "text" and final.content[0].text == text
    assert final.model == MODEL and final.role == "assistant" and final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0 and final.usage.input_tokens > 0
    assert fake.requests[0]["stream"] is True and fake.requests[0]["messages"] == HI
    assert fake.request_headers[0]["authorization"] == "Bearer test"


async def test_stream_wire_format(fake):
    fake.replies.append(Reply(text="abcdefghij", chunk_chars=4))
    status, headers, body = await raw_post(fake, {"model": MODEL, "max_tokens": 10, "messages": HI, "stream": True})
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(body)
    kinds = [e for e, _ in events]
    assert kinds == ["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta",
                     "content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    msg = events[0][1]["message"]
    assert msg["id"].startswith("msg_") and msg["model"] == MODEL and msg["role"] == "assistant"
    assert msg["content"] == []
    assert set(msg["usage"]) >= {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                                 "output_tokens"}
    assert [d["delta"]["text"] for e, d in events if e == "content_block_delta"] == ["abcd", "efgh", "ij"]
    md = events[-2][1]
    assert md["delta"]["stop_reason"] == "end_turn" and md["usage"]["output_tokens"] == 3


async def test_stream_tool_use(fake, client):
    tool = {"name": "record_answer", "description": "d",
            "input_schema": {"type": "object", "properties": {"answer": {"type": "string"}}}}
    tool_input = {"answer": "Use a write-through cache", "confidence": 0.8, "tags": ["cache", "db"]}
    fake.replies.append(Reply(tool_input=tool_input, chunk_chars=7))
    deltas = []
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI, tools=[tool],
                                      tool_choice={"type": "tool", "name": "record_answer"}) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                deltas.append(event.delta)
        final = await stream.get_final_message()
    assert deltas and all(d.type == "input_json_delta" for d in deltas)
    assert json.loads("".join(d.partial_json for d in deltas)) == tool_input
    [block] = final.content
    assert block.type == "tool_use" and block.name == "record_answer" and block.input == tool_input
    assert block.id.startswith("toolu_")
    assert final.stop_reason == "tool_use"


async def test_stream_text_then_tool_explicit_name(fake, client):
    fake.replies.append(Reply(text="Let me note that.", tool_input={"x": 1}, tool_name="other"))
    tools = [{"name": "first", "input_schema": {"type": "object"}}, {"name": "other", "input_schema": {"type": "object"}}]
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI, tools=tools) as stream:
        final = await stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[0].text == "Let me note that."
    assert final.content[1].name == "other" and final.content[1].input == {"x": 1}


async def test_non_streaming_create(fake, client):
    fake.replies.append(Reply(text="Shard by user id.", usage={"output_tokens": 77}))
    msg = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert msg.content[0].text == "Shard by user id."
    assert msg.stop_reason == "end_turn" and msg.usage.output_tokens == 77
    assert "stream" not in fake.requests[0] or fake.requests[0]["stream"] is False

    fake.replies.append(Reply(tool_input={"a": [1, 2]}))
    msg = await client.messages.create(
        model=MODEL, max_tokens=100, messages=HI,
        tools=[{"name": "t", "input_schema": {"type": "object"}}], tool_choice={"type": "tool", "name": "t"})
    assert msg.content[0].type == "tool_use" and msg.content[0].name == "t" and msg.content[0].input == {"a": [1, 2]}
    assert msg.stop_reason == "tool_use"


async def test_default_reply_and_responders(client):
    async with FakeAnthropic() as f, f.client() as c:
        msg = await c.messages.create(model=MODEL, max_tokens=5, messages=HI)
        assert msg.content[0].text == "ok"

    seen = []

    def sync_responder(req):
        seen.append(req["messages"][-1]["content"])
        return Reply(text="echo: " + req["messages"][-1]["content"])

    async with FakeAnthropic(sync_responder) as f, f.client() as c:
        f.replies.append(Reply(text="scripted first"))
        a = await c.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "one"}])
        b = await c.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "two"}])
        assert (a.content[0].text, b.content[0].text) == ("scripted first", "echo: two")
        assert seen == ["two"]

    async def async_responder(req):
        await asyncio.sleep(0)
        return Reply(text="async")

    async with FakeAnthropic(async_responder) as f, f.client() as c:
        async with c.messages.stream(model=MODEL, max_tokens=5, messages=HI) as s:
            assert await s.get_final_text() == "async"


async def test_pacing(fake, client):
    # 40 chars, 4 chars/chunk -> 10 chunks of 1 token; 200 tok/s -> ~45 ms between first and last
    fake.replies.append(Reply(text="x" * 40, chunk_chars=4, first_token_delay=0.05, tokens_per_second=200))
    t0 = time.monotonic()
    stamps = []
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as s:
        async for _ in s.text_stream:
            stamps.append(time.monotonic())
    assert len(stamps) == 10
    assert stamps[0] - t0 >= 0.05
    assert stamps[-1] - stamps[0] >= 0.04
    assert stamps[-1] - t0 < 0.5


# ---------------------------------------------------------------- faults


async def test_429_then_success_uses_sdk_retry(fake, client):
    fake.replies.extend([Reply(fault="429"), Reply(text="hi")])
    t0 = time.monotonic()
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as s:
        assert await s.get_final_text() == "hi"
    assert time.monotonic() - t0 < 0.5
    assert len(fake.requests) == 2
    assert [h["x-stainless-retry-count"] for h in fake.request_headers] == ["0", "1"]


async def test_529_and_500_then_success_non_streaming(fake, client):
    fake.replies.extend([Reply(fault="529"), Reply(fault="500"), Reply(text="finally")])
    t0 = time.monotonic()
    msg = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert msg.content[0].text == "finally" and len(fake.requests) == 3
    assert time.monotonic() - t0 < 0.5


async def test_http_fault_classes_and_headers(fake, client):
    no_retry = client.with_options(max_retries=0)
    for fault, cls, status, etype in [("429", anthropic.RateLimitError, 429, "rate_limit_error"),
                                      ("529", anthropic.OverloadedError, 529, "overloaded_error"),
                                      ("500", anthropic.InternalServerError, 500, "api_error")]:
        fake.replies.append(Reply(fault=fault, retry_after_ms=25))
        with pytest.raises(cls) as ei:
            await no_retry.messages.create(model=MODEL, max_tokens=10, messages=HI)
        assert ei.value.status_code == status and ei.value.body["error"]["type"] == etype
        assert ei.value.response.headers["retry-after-ms"] == "25"
        assert ei.value.response.headers["retry-after"] == "0"


async def test_midstream_overloaded(fake, client):
    fake.replies.append(Reply(text="y" * 100, fault="midstream_overloaded", fault_after_chars=30, chunk_chars=8))
    got = []
    with pytest.raises(anthropic.APIStatusError) as ei:
        async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as s:
            async for t in s.text_stream:
                got.append(t)
    assert type(ei.value) is anthropic.APIStatusError
    assert ei.value.status_code == 200
    assert ei.value.body["error"]["type"] == "overloaded_error"
    assert "".join(got) == "y" * 30
    assert len(fake.requests) == 1  # not retried once the stream began


async def test_midstream_disconnect(fake, client):
    fake.replies.append(Reply(text="z" * 100, fault="midstream_disconnect", fault_after_chars=20))
    got = []
    with pytest.raises(httpx2.RemoteProtocolError):
        async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as s:
            async for t in s.text_stream:
                got.append(t)
    assert "".join(got) == "z" * 20
    assert len(fake.requests) == 1
    # the client and the fake stay usable afterwards
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as s:
        assert await s.get_final_text() == "ok"


async def test_disconnect_before_response_non_streaming_is_retried(fake, client):
    fake.replies.extend([Reply(fault="midstream_disconnect"), Reply(text="second try")])
    msg = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert msg.content[0].text == "second try" and len(fake.requests) == 2

    fake.replies.append(Reply(fault="midstream_disconnect"))
    with pytest.raises(anthropic.APIConnectionError) as ei:
        await client.with_options(max_retries=0).messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert isinstance(ei.value.__cause__, httpx2.RemoteProtocolError)


async def test_empty(fake, client):
    fake.replies.append(Reply(text="ignored", fault="empty"))
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as s:
        assert [t async for t in s.text_stream] == []
        final = await s.get_final_message()
    assert final.content == [] and final.usage.output_tokens == 0 and final.stop_reason == "end_turn"
    fake.replies.append(Reply(fault="empty"))
    msg = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert msg.content == []
    # Reply(text="") is the other flavour: one empty text block, no deltas
    fake.replies.append(Reply(text=""))
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as s:
        final = await s.get_final_message()
    assert len(final.content) == 1 and final.content[0].text == ""


# ---------------------------------------------------------------- prompt caching

SYSTEM = [{"type": "text", "text": "You are a candidate in a system design interview. " * 40,
           "cache_control": {"type": "ephemeral"}}]


async def test_second_request_reads_cached_system_prefix(fake, client):
    m1 = await client.messages.create(model=MODEL, max_tokens=10, system=SYSTEM,
                                      messages=[{"role": "user", "content": "Design a URL shortener"}])
    u1 = m1.usage
    assert u1.cache_read_input_tokens == 0 and u1.cache_creation_input_tokens > 400
    async with client.messages.stream(model=MODEL, max_tokens=10, system=SYSTEM,
                                      messages=[{"role": "user", "content": "Design a chat app"}]) as s:
        u2 = (await s.get_final_message()).usage
    assert u2.cache_read_input_tokens == u1.cache_creation_input_tokens
    assert u2.cache_creation_input_tokens == 0 and u2.input_tokens > 0
    # changing the system prompt invalidates the cache
    other = [dict(SYSTEM[0], text=SYSTEM[0]["text"] + "Be terse.")]
    m3 = await client.messages.create(model=MODEL, max_tokens=10, system=other, messages=HI)
    assert m3.usage.cache_read_input_tokens == 0 and m3.usage.cache_creation_input_tokens > 400
    # a different model has its own cache
    m4 = await client.messages.create(model=MODEL + "-b", max_tokens=10, system=SYSTEM, messages=HI)
    assert m4.usage.cache_read_input_tokens == 0


async def test_moving_conversation_breakpoint_reads_previous_turn(fake, client):
    cc = {"type": "ephemeral"}
    turn1 = [{"role": "user", "content": [{"type": "text", "text": "Q1 " * 100, "cache_control": cc}]}]
    u1 = (await client.messages.create(model=MODEL, max_tokens=10, system=SYSTEM, messages=turn1)).usage
    assert u1.cache_read_input_tokens == 0
    total1 = u1.input_tokens + u1.cache_creation_input_tokens + u1.cache_read_input_tokens
    turn2 = [{"role": "user", "content": [{"type": "text", "text": "Q1 " * 100}]},
             {"role": "assistant", "content": "A1 " * 50},
             {"role": "user", "content": [{"type": "text", "text": "Q2", "cache_control": cc}]}]
    u2 = (await client.messages.create(model=MODEL, max_tokens=10, system=SYSTEM, messages=turn2)).usage
    assert u2.cache_read_input_tokens == total1
    assert u2.cache_creation_input_tokens > 0 and u2.input_tokens == 0


async def test_min_cache_tokens_and_count_tokens():
    async with FakeAnthropic(min_cache_tokens=10_000) as f, f.client() as c:
        for _ in range(2):
            u = (await c.messages.create(model=MODEL, max_tokens=10, system=SYSTEM, messages=HI)).usage
            assert u.cache_read_input_tokens == 0 and u.cache_creation_input_tokens == 0
        n = await c.messages.count_tokens(model=MODEL, system=SYSTEM, messages=HI)
        assert n.input_tokens == u.input_tokens
        assert f.count_tokens_requests[0]["messages"] == HI
        assert len(f.requests) == 2  # count_tokens is not recorded in .requests


# ---------------------------------------------------------------- validation


async def test_400_on_bad_alternation(fake, client):
    fake.replies.append(Reply(text="must not be consumed"))
    bad = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    with pytest.raises(anthropic.BadRequestError) as ei:
        await client.messages.create(model=MODEL, max_tokens=10, messages=bad)
    assert ei.value.status_code == 400 and ei.value.body["error"]["type"] == "invalid_request_error"
    assert "alternate" in ei.value.body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError, match="first message"):
        await client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "assistant", "content": "x"}])
    assert len(fake.requests) == 2 and len(fake.replies) == 1  # recorded, not retried, reply kept


async def test_400_other_validation(fake, client):
    cc = {"type": "ephemeral"}
    blocks = [{"type": "text", "text": f"b{i}", "cache_control": cc} for i in range(5)]
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4"):
        await client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": blocks}])
    with pytest.raises(anthropic.BadRequestError, match="trailing whitespace"):
        await client.messages.create(model=MODEL, max_tokens=10,
                                     messages=HI + [{"role": "assistant", "content": "Sure "}])
    with pytest.raises(anthropic.BadRequestError, match="tool_result"):
        await client.messages.create(model=MODEL, max_tokens=10, messages=HI + [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}]},
            {"role": "user", "content": "next"}])
    for missing in ("model", "max_tokens", "messages"):
        body = {"model": MODEL, "max_tokens": 10, "messages": HI}
        del body[missing]
        status, _, text = await raw_post(fake, body)
        assert status == 400 and f"{missing}: Field required" in text


async def test_401_without_key(fake):
    status, _, text = await raw_post(fake, {"model": MODEL, "max_tokens": 10, "messages": HI},
                                     headers={"anthropic-version": "2023-06-01"})
    assert status == 401 and json.loads(text)["error"]["type"] == "authentication_error"
    status, _, _ = await raw_post(fake, {"model": MODEL, "max_tokens": 10, "messages": HI},
                                  headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert status == 200


async def test_base_url_env_var(fake, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
    async with anthropic.AsyncAnthropic(api_key="test") as c:
        msg = await c.messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert msg.content[0].text == "ok"
