"""The OpenAI-compatible client against the fake Chat Completions server, through the real SDK."""
from __future__ import annotations

import json

import httpx2 as httpx
import openai
import pytest

from bot.config import Settings
from bot.llm import LLM, LLMError
from bot.llm_factory import make_llm, provider_name
from bot.llm_openai import OpenAILLM, ToolSupport, classify
from bot.state import Turn
from tests.fakes.fake_openai import FakeOpenAI, Reply

TURNS = [Turn(role="user", content="Design a URL shortener")]
TOOL = {"name": "draw_diagram", "description": "Draw the architecture.",
        "input_schema": {"type": "object", "properties": {"nodes": {"type": "array"}}, "required": ["nodes"]}}
GRAPH = {"nodes": [{"id": "a", "label": "API"}], "edges": []}


def openai_settings(base_url: str, **overrides) -> Settings:
    values = {"llm_provider": "openai", "openai_base_url": base_url, "openai_model": "fake-model",
                  "openai_api_key": "test-key", "anthropic_max_retries": 2, "anthropic_total_timeout": 20,
                  "anthropic_request_timeout": 10, "redis_url": None, "collect_seconds": 0}
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def fake():
    async with FakeOpenAI(api_key="test-key") as f:
        yield f


@pytest.fixture
async def llm(fake):
    client = OpenAILLM(openai_settings(fake.base_url))
    yield client
    await client.close()


async def collect(llm, **kwargs):
    seen: list[str] = []

    async def on_text(delta: str) -> None:
        seen.append(delta)

    result = await llm.complete("system prompt", TURNS, on_text=on_text, **kwargs)
    return result, seen


async def test_streams_text_with_usage_from_the_final_chunk(fake, llm):
    fake.replies.append(Reply(text="Hello there, interviewer!", chunk_chars=5, cached_tokens=3))
    result, seen = await collect(llm)
    assert result.text == "Hello there, interviewer!"
    assert len(seen) == 5 and "".join(seen) == result.text
    assert result.stop_reason == "end_turn"
    body = fake.requests[-1]
    prompt_tokens = len(json.dumps(body["messages"]) + "[]") // 4
    assert result.usage.input_tokens + result.usage.cache_read_tokens == prompt_tokens
    assert result.usage.cache_read_tokens == 3 and result.usage.output_tokens == len(result.text) // 4
    assert result.usage.calls == 1
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "fake-model" and body["max_tokens"] == 8000
    assert body["messages"][0] == {"role": "system", "content": "system prompt"}
    assert body["messages"][1] == {"role": "user", "content": "Design a URL shortener"}
    assert fake.headers[-1]["Authorization"] == "Bearer test-key"


async def test_forced_tool_call_arrives_in_argument_pieces(fake, llm):
    fake.replies.append(Reply(tool_input=GRAPH, chunk_chars=7))
    result, _ = await collect(llm, tool=TOOL, max_tokens=2000)
    assert result.tool_input == GRAPH and result.stop_reason == "tool_use"
    body = fake.requests[-1]
    assert body["tools"][0] == {"type": "function", "function": {
        "name": "draw_diagram", "description": "Draw the architecture.", "parameters": TOOL["input_schema"]}}
    assert body["tool_choice"] == {"type": "function", "function": {"name": "draw_diagram"}}
    assert body["max_tokens"] == 2000
    assert llm.tool_support is ToolSupport.YES


async def test_server_without_tools_gets_json_in_the_text_and_it_is_remembered():
    async with FakeOpenAI(tools=False) as fake:
        llm = OpenAILLM(openai_settings(fake.base_url))
        fake.replies.extend([Reply(tool_input=GRAPH), Reply(tool_input={"nodes": [], "edges": []})])
        first, seen = await collect(llm, tool=TOOL)
        assert first.tool_input == GRAPH
        assert "```json" in "".join(seen)
        assert llm.tool_support is ToolSupport.NO
        assert len(fake.requests) == 2 and "tools" in fake.requests[0] and "tools" not in fake.requests[1]
        asked = fake.requests[1]["messages"][-1]["content"]
        assert asked.startswith("Design a URL shortener") and "```json" in asked and '"required":["nodes"]' in asked
        second, _ = await collect(llm, tool=TOOL)
        assert second.tool_input == {"nodes": [], "edges": []}
        assert len(fake.requests) == 3 and "tools" not in fake.requests[2]  # no second refusal
        plain, _ = await collect(llm)
        assert plain.text == "ok" and "```json" not in fake.requests[3]["messages"][-1]["content"]
        await llm.close()


async def test_server_that_ignores_tools_and_writes_json_is_understood(fake, llm):
    fake.replies.append(Reply(text='Sure:\n```json\n{"nodes": [{"id": "x"}]}\n```'))
    result, _ = await collect(llm, tool=TOOL)
    assert result.tool_input == {"nodes": [{"id": "x"}]}


async def test_official_endpoint_param_is_switched_when_refused():
    async with FakeOpenAI(max_tokens_param="max_completion_tokens") as fake:
        llm = OpenAILLM(openai_settings(fake.base_url))
        result, _ = await collect(llm)
        assert result.text == "ok"
        assert "max_tokens" in fake.requests[0] and fake.requests[1]["max_completion_tokens"] == 8000
        await collect(llm)
        assert len(fake.requests) == 3 and "max_tokens" not in fake.requests[2]
        await llm.close()


async def test_server_without_stream_options_gets_estimated_usage():
    async with FakeOpenAI(include_usage_supported=False) as fake:
        llm = OpenAILLM(openai_settings(fake.base_url))
        fake.replies.append(Reply(text="x" * 400))
        result, _ = await collect(llm)
        assert "stream_options" not in fake.requests[-1] and len(fake.requests) == 2
        assert result.usage.output_tokens == 100
        assert result.usage.input_tokens == (len("system prompt") + len(TURNS[0].content)) // 4
        await llm.close()


async def test_429_and_500_are_retried_by_the_sdk(fake, llm):
    fake.replies.extend([Reply(fault="429"), Reply(fault="500"), Reply(text="finally")])
    result, _ = await collect(llm)
    assert result.text == "finally" and fake.served == 3


async def test_persistent_rate_limit_becomes_a_friendly_error(fake, llm):
    fake.replies.extend([Reply(fault="429")] * 5)
    with pytest.raises(LLMError) as err:
        await collect(llm)
    assert err.value.kind == "rate_limited" and "rate limited" in err.value.user_message
    assert fake.served == 3  # one call plus the SDK's two retries


async def test_persistent_503_is_overloaded(fake, llm):
    fake.replies.extend([Reply(fault="503")] * 3)
    with pytest.raises(LLMError) as err:
        await collect(llm)
    assert err.value.kind == "overloaded" and "overloaded" in err.value.user_message


async def test_midstream_error_after_text_is_not_retried(fake, llm):
    fake.replies.extend([Reply(text="y" * 200, fault="midstream_error", fault_after_chars=30), Reply(text="never")])
    with pytest.raises(LLMError) as err:
        await collect(llm)
    assert err.value.kind == "overloaded" and fake.served == 1


async def test_midstream_error_before_any_text_is_retried_once(fake, llm):
    fake.replies.extend([Reply(text="abc", fault="midstream_error", fault_after_chars=0), Reply(text="recovered")])
    result, _ = await collect(llm)
    assert result.text == "recovered" and fake.served == 2


async def test_dropped_connection_becomes_connection_error(fake, llm):
    fake.replies.append(Reply(text="z" * 300, fault="midstream_disconnect", fault_after_chars=30))
    with pytest.raises(LLMError) as err:
        await collect(llm)
    assert err.value.kind == "connection"


async def test_slow_stream_hits_the_total_time_bound(fake):
    llm = OpenAILLM(openai_settings(fake.base_url, anthropic_total_timeout=0.3))
    fake.replies.append(Reply(text="slow " * 20, first_token_delay=2))
    with pytest.raises(LLMError) as err:
        await collect(llm)
    assert err.value.kind == "timeout"
    await llm.close()


async def test_bad_key_and_unknown_model_name_the_openai_settings():
    async with FakeOpenAI(api_key="right", models=("known",)) as fake:
        llm = OpenAILLM(openai_settings(fake.base_url, openai_api_key="wrong"))
        with pytest.raises(LLMError) as err:
            await collect(llm)
        assert err.value.kind == "auth" and "OPENAI_API_KEY" in err.value.user_message
        await llm.close()
        llm = OpenAILLM(openai_settings(fake.base_url, openai_api_key="right", openai_model="unknown"))
        with pytest.raises(LLMError) as err:
            await collect(llm)
        assert err.value.kind == "not_found" and "OPENAI_MODEL" in err.value.user_message
        assert fake.served == 0
        await llm.close()


async def test_empty_key_works_for_a_local_server():
    async with FakeOpenAI() as fake:
        llm = OpenAILLM(openai_settings(fake.base_url, openai_api_key=None))
        result, _ = await collect(llm)
        assert result.text == "ok" and fake.headers[-1]["Authorization"].startswith("Bearer ")
        await llm.close()


async def test_length_finish_maps_to_max_tokens(fake, llm):
    fake.replies.append(Reply(text="cut off", fault="length"))
    result, _ = await collect(llm)
    assert result.stop_reason == "max_tokens" and result.text == "cut off"


async def test_empty_reply_is_empty_text(fake, llm):
    fake.replies.append(Reply(text="ignored", fault="empty"))
    result, _ = await collect(llm)
    assert result.text == "" and result.usage.output_tokens == 0


def test_classify_covers_every_kind():
    req = httpx.Request("POST", "http://x/v1/chat/completions")

    def status(code: int, body: dict) -> openai.APIStatusError:
        resp = httpx.Response(code, request=req, json=body)
        return openai.APIStatusError("e", response=resp, body=body)

    assert classify(status(529, {})).kind == "overloaded"
    assert classify(status(500, {"error": {"type": "server_error", "code": "overloaded"}})).kind == "overloaded"
    assert classify(status(403, {})).kind == "auth"
    assert classify(status(422, {})).kind == "bad_request"
    assert classify(status(502, {"error": {"type": "bad_gateway"}})).kind == "api"
    assert classify(openai.APITimeoutError(request=req)).kind == "timeout"
    assert classify(openai.APIConnectionError(request=req)).kind == "connection"
    assert classify(openai.APIError("boom", req, body={"type": "server_error"})).kind == "api"
    assert classify(ConnectionResetError("reset")).kind == "connection"
    assert classify(LLMError("empty")).kind == "empty"


def test_settings_validation_for_the_openai_provider(monkeypatch, tmp_path):
    from bot.config import SettingsError, load_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLM_PROVIDER", "openai")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    with pytest.raises(SettingsError, match="OPENAI_MODEL is not set \\(needed with LLM_PROVIDER=openai\\)"):
        load_settings("console")
    monkeypatch.setenv("OPENAI_MODEL", "qwen2.5:14b")
    s = load_settings("console")  # no key needed for a local server, no Anthropic key either
    assert s.openai_api_key is None and s.llm_provider == "openai"
    monkeypatch.setenv("LLM_PROVIDER", "Gemini")
    with pytest.raises(SettingsError, match="LLM_PROVIDER is invalid"):
        load_settings("console")
    monkeypatch.setenv("LLM_PROVIDER", "anthropic")
    with pytest.raises(SettingsError, match="ANTHROPIC_API_KEY is not set"):
        load_settings("console")


def test_openai_key_is_secret():
    s = openai_settings("http://x/v1", openai_api_key="sk-proj-verysecret")
    assert "sk-proj-verysecret" not in repr(s) + s.model_dump_json()


async def test_factory_picks_the_provider(fake):
    llm = make_llm(openai_settings(fake.base_url))
    assert isinstance(llm, OpenAILLM) and provider_name(llm) == "openai"
    await llm.close()
    with pytest.raises(ValueError, match="OPENAI_MODEL"):
        make_llm(openai_settings(fake.base_url, openai_model=None))
    anth = make_llm(Settings(_env_file=None, anthropic_api_key="k"))
    assert isinstance(anth, LLM) and provider_name(anth) == "anthropic"
    await anth.close()


async def test_comment_lines_between_events_are_skipped():
    async with FakeOpenAI(keepalive_comments=True) as fake:
        llm = OpenAILLM(openai_settings(fake.base_url))
        fake.replies.append(Reply(text="abcdefghij" * 5, chunk_chars=10))
        result, seen = await collect(llm)
        assert result.text == "abcdefghij" * 5 and len(seen) == 5 and result.usage.output_tokens == 12
        await llm.close()


class Lines:
    """Just enough of a streamed response for `sse_events`."""

    http_request = httpx.Request("POST", "http://x/v1/chat/completions")

    def __init__(self, lines):
        self.lines = lines

    async def iter_lines(self):
        for line in self.lines:
            yield line


async def test_sse_events_joins_multiline_data_and_stops_at_done():
    from bot.llm_openai import sse_events

    lines = [": hello", "event: message", 'data: {"a":', 'data: 1}', "", "id: 7", 'data: {"b": 2}', "", "",
             "data: [DONE]", "", 'data: {"after": true}', ""]
    assert [e async for e in sse_events(Lines(lines))] == [{"a": 1}, {"b": 2}]


async def test_malformed_event_is_an_api_error():
    from bot.llm_openai import sse_events

    with pytest.raises(json.JSONDecodeError) as err:
        _ = [e async for e in sse_events(Lines(["data: {nope", ""]))]
    assert classify(err.value).kind == "api"


async def test_a_server_refusing_both_token_params_gets_one_switch_then_a_friendly_error():
    async with FakeOpenAI() as fake:
        llm = OpenAILLM(openai_settings(fake.base_url))
        fake.max_tokens_param = "max_completion_tokens"
        await collect(llm)
        fake.max_tokens_param = "max_tokens"  # now the other one is refused too
        with pytest.raises(LLMError) as err:
            await collect(llm)
        assert err.value.kind == "bad_request" and len(fake.requests) == 3
        await llm.close()


async def test_context_length_400_with_a_tool_is_not_taken_for_missing_tool_support(fake, llm):
    fake.tools = True
    fake.max_tokens_param = None
    msg = ("This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens "
           "(including 120 in the functions). Please reduce the length of the messages or functions.")
    req = httpx.Request("POST", "http://x/v1/chat/completions")
    body = {"error": {"message": msg, "type": "invalid_request_error", "param": "messages",
                      "code": "context_length_exceeded"}}
    exc = openai.BadRequestError(msg, response=httpx.Response(400, request=req, json=body), body=body["error"])
    assert llm._adapt(exc, TOOL) is False and llm.tool_support is ToolSupport.UNKNOWN
    assert classify(exc).kind == "bad_request"
