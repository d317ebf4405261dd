"""The model client against the fake Anthropic server, through the real SDK."""
from __future__ import annotations

import pytest

from bot.llm import LLM, LLMError, build_messages
from bot.state import Turn
from tests.conftest import make_settings
from tests.fakes.fake_anthropic import FakeAnthropic, Reply

TURNS = [Turn(role="user", content="Design a URL shortener")]


@pytest.fixture
async def fake():
    async with FakeAnthropic() as f:
        yield f


@pytest.fixture
async def llm(fake):
    client = LLM(make_settings(fake.base_url))
    yield client
    await client.close()


async def test_streams_text_and_counts_usage(fake, llm):
    fake.replies.append(Reply(text="Hello there, interviewer!", chunk_chars=5))
    seen: list[str] = []

    async def on_text(delta: str) -> None:
        seen.append(delta)

    result = await llm.complete("system prompt", TURNS, on_text=on_text)
    assert result.text == "Hello there, interviewer!"
    assert len(seen) == 5 and "".join(seen) == result.text
    assert result.usage.output_tokens > 0 and result.usage.input_tokens + result.usage.cache_write_tokens > 0
    body = fake.requests[-1]
    assert body["stream"] is True
    assert body["model"] == "claude-sonnet-5-5"
    assert "temperature" not in body
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}


def test_cache_breakpoints_on_last_two_user_turns():
    turns = [Turn(role="user", content="a"), Turn(role="assistant", content="b"),
             Turn(role="user", content="c"), Turn(role="assistant", content="d"), Turn(role="user", content="e")]
    msgs = build_messages(turns)
    marked = [m["content"][0]["text"] for m in msgs if "cache_control" in m["content"][0]]
    assert marked == ["c", "e"]


async def test_second_turn_reads_earlier_turns_from_cache(fake, llm):
    fake.replies.extend([Reply(text="first answer"), Reply(text="second answer")])
    first = await llm.complete("system " * 50, TURNS)
    assert first.usage.cache_write_tokens > 0
    turns = TURNS + [Turn(role="assistant", content="first answer"), Turn(role="user", content="next please")]
    second = await llm.complete("system " * 50, turns)
    assert second.usage.cache_read_tokens >= first.usage.cache_write_tokens


async def test_429_is_retried_by_the_sdk(fake, llm):
    fake.replies.extend([Reply(fault="429"), Reply(fault="529"), Reply(text="finally")])
    result = await llm.complete("s", TURNS)
    assert result.text == "finally"
    assert len(fake.requests) == 3


async def test_persistent_overload_becomes_a_friendly_error(fake, llm):
    fake.replies.extend([Reply(fault="529")] * 5)
    with pytest.raises(LLMError) as err:
        await llm.complete("s", TURNS)
    assert err.value.kind == "overloaded"
    assert "overloaded" in err.value.user_message
    assert len(fake.requests) == 3  # one call plus the SDK's two retries


async def test_midstream_overload_after_text_is_not_retried(fake, llm):
    fake.replies.extend([Reply(text="x" * 200, fault="midstream_overloaded", fault_after_chars=50), Reply(text="never")])
    seen = []

    async def on_text(d):
        seen.append(d)

    with pytest.raises(LLMError) as err:
        await llm.complete("s", TURNS, on_text=on_text)
    assert err.value.kind == "overloaded"
    assert seen and len(fake.requests) == 1


async def test_midstream_overload_before_any_text_is_retried_once(fake, llm):
    fake.replies.extend([Reply(text="abc", fault="midstream_overloaded", fault_after_chars=0), Reply(text="recovered")])
    result = await llm.complete("s", TURNS)
    assert result.text == "recovered"


async def test_dropped_connection_becomes_connection_error(fake, llm):
    fake.replies.extend([Reply(text="y" * 200, fault="midstream_disconnect", fault_after_chars=30)])
    with pytest.raises(LLMError) as err:
        await llm.complete("s", TURNS, on_text=lambda d: _noop())
    assert err.value.kind == "connection"


async def _noop():
    return None


async def test_slow_stream_hits_the_total_time_bound(fake):
    client = LLM(make_settings(fake.base_url, anthropic_total_timeout=0.3))
    fake.replies.append(Reply(text="slow " * 50, first_token_delay=2))
    with pytest.raises(LLMError) as err:
        await client.complete("s", TURNS)
    assert err.value.kind == "timeout"
    await client.close()


async def test_tool_use_returns_structured_input(fake, llm):
    fake.replies.append(Reply(tool_input={"nodes": [], "edges": []}))
    tool = {"name": "draw_diagram", "description": "d", "input_schema": {"type": "object"}}
    result = await llm.complete("s", TURNS, tool=tool)
    assert result.tool_input == {"nodes": [], "edges": []}
    assert fake.requests[-1]["tool_choice"] == {"type": "tool", "name": "draw_diagram"}


async def test_an_empty_reply_is_asked_once_more(fake, llm):
    fake.replies.extend([Reply(fault="empty"), Reply(text="second time lucky")])
    result = await llm.complete("s", TURNS)
    assert result.text == "second time lucky" and len(fake.requests) == 2
    assert result.usage.calls == 2


async def test_two_empty_replies_raise_empty_with_a_retry_hint(fake, llm):
    fake.replies.extend([Reply(fault="empty"), Reply(text=" \n ")])
    with pytest.raises(LLMError) as err:
        await llm.complete("s", TURNS)
    assert err.value.kind == "empty" and "retry" in err.value.user_message


async def test_a_refusal_raises_refusal(fake, llm):
    fake.replies.append(Reply(text="I can't help with", stop_reason="refusal"))
    seen: list[str] = []

    async def on_text(delta: str) -> None:
        seen.append(delta)

    with pytest.raises(LLMError) as err:
        await llm.complete("s", TURNS, on_text=on_text)
    assert err.value.kind == "refusal" and "retry" in err.value.user_message
    assert len(fake.requests) == 1 and "".join(seen) == "I can't help with"


async def test_an_empty_refusal_is_a_refusal_not_retried(fake, llm):
    fake.replies.append(Reply(fault="empty", stop_reason="refusal"))
    with pytest.raises(LLMError) as err:
        await llm.complete("s", TURNS)
    assert err.value.kind == "refusal" and len(fake.requests) == 1


async def test_a_full_context_window_has_its_own_kind(fake, llm):
    fake.replies.append(Reply(text="Partly", stop_reason="model_context_window_exceeded"))
    with pytest.raises(LLMError) as err:
        await llm.complete("s", TURNS)
    assert err.value.kind == "context_full" and "export" in err.value.user_message


async def test_a_reply_cut_at_max_tokens_is_continued_and_returned_whole(fake):
    full = "".join(f"Paragraph {i}: the cache sits in front of the store.\n\n" for i in range(40))
    fake.responder = lambda body: Reply(text=full, chunk_chars=7)   # a model that always means the same reply
    llm = LLM(make_settings(fake.base_url, anthropic_max_tokens=256))
    seen: list[str] = []

    async def on_text(delta: str) -> None:
        seen.append(delta)

    result = await llm.complete("system", TURNS, on_text=on_text)
    await llm.close()
    assert result.text == full and "".join(seen) == full
    assert result.stop_reason == "end_turn" and not result.cut_off
    calls = len(fake.requests)
    assert calls == 3 and result.continuations == 2 and result.usage.calls == 3
    lengths = [0]
    for body in fake.requests[1:]:
        last = body["messages"][-1]
        assert last["role"] == "assistant"
        prefill = last["content"][0]["text"]
        assert full.startswith(prefill) and prefill == prefill.rstrip() and len(prefill) > lengths[-1] + 1000
        assert body["messages"][:-1] == fake.requests[0]["messages"]
        lengths.append(len(prefill))


async def test_whitespace_at_the_cut_is_not_doubled(fake):
    full = "A" * 1022 + "\n\n" + "B" * 100
    fake.responder = lambda body: Reply(text=full)
    llm = LLM(make_settings(fake.base_url, anthropic_max_tokens=256))
    seen: list[str] = []

    async def on_text(delta: str) -> None:
        seen.append(delta)

    result = await llm.complete("system", TURNS, on_text=on_text)
    await llm.close()
    assert fake.requests[1]["messages"][-1]["content"][0]["text"] == "A" * 1022
    assert result.text == full and "".join(seen) == full


async def test_continuations_are_bounded(fake):
    fake.responder = lambda body: Reply(text="word " * 2000)
    llm = LLM(make_settings(fake.base_url, anthropic_max_tokens=256, anthropic_max_continuations=1))
    result = await llm.complete("system", TURNS)
    await llm.close()
    assert len(fake.requests) == 2 and result.cut_off and result.stop_reason == "max_tokens"
    assert result.text == ("word " * 2000)[: len(result.text)] and len(result.text) > 1024


async def test_no_continuation_when_disabled(fake):
    fake.replies.append(Reply(text="abc", stop_reason="max_tokens"))
    llm = LLM(make_settings(fake.base_url, anthropic_max_continuations=0))
    result = await llm.complete("system", TURNS)
    await llm.close()
    assert result.text == "abc" and result.cut_off and len(fake.requests) == 1


async def test_a_prompt_too_long_error_is_context_full():
    import anthropic
    import httpx2 as httpx

    from bot.llm import classify

    req = httpx.Request("POST", "http://x/v1/messages")
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 210000 tokens"}}
    resp = httpx.Response(400, request=req, json=body)
    assert classify(anthropic.BadRequestError("prompt is too long", response=resp, body=body)).kind == "context_full"


async def test_unknown_model_names_the_setting(fake):
    import anthropic
    import httpx2 as httpx  # the SDK's HTTP library

    from bot.llm import classify

    req = httpx.Request("POST", "http://x/v1/messages")
    resp = httpx.Response(404, request=req, json={"type": "error", "error": {"type": "not_found_error", "message": "model: nope"}})
    err = classify(anthropic.NotFoundError("model: nope", response=resp, body=resp.json()))
    assert err.kind == "not_found" and "ANTHROPIC_MODEL" in err.user_message
