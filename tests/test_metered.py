"""The metered model client: real calls against the fake servers, counted into a private registry."""
from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from bot.health import standard_checks
from bot.llm import LLM, LLMError
from bot.llm_openai import OpenAILLM
from bot.metered import MeteredLLM
from bot.metrics import Metrics
from bot.state import Turn
from tests.conftest import make_settings
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.fake_anthropic import Reply as AReply
from tests.fakes.fake_openai import FakeOpenAI, Reply
from tests.test_llm_openai import openai_settings

TURNS = [Turn(role="user", content="hi")]


def sample(m: Metrics, name: str, **labels) -> float | None:
    return m.registry.get_sample_value(f"interview_bot_{name}", labels)


async def test_openai_calls_and_failures_are_counted():
    metrics = Metrics(CollectorRegistry())
    async with FakeOpenAI() as fake:
        llm = MeteredLLM(OpenAILLM(openai_settings(fake.base_url)), metrics)
        fake.replies.append(Reply(text="x" * 80, cached_tokens=2))
        result = await llm.complete("s", TURNS)
        fake.replies.extend([Reply(fault="429")] * 3)
        with pytest.raises(LLMError):
            await llm.complete("s", TURNS)
        assert llm.model == "fake-model" and llm.tool_support.value == "unknown"
        await llm.close()
    assert sample(metrics, "model_calls_total", provider="openai") == 1
    assert sample(metrics, "tokens_total", provider="openai", kind="output") == result.usage.output_tokens == 20
    assert sample(metrics, "tokens_total", provider="openai", kind="cache_read") == 2
    assert sample(metrics, "errors_total", kind="rate_limited") == 1
    assert sample(metrics, "model_seconds_count", provider="openai") == 2


async def test_anthropic_calls_are_counted_under_their_provider():
    metrics = Metrics(CollectorRegistry())
    async with FakeAnthropic() as fake:
        llm = MeteredLLM(LLM(make_settings(fake.base_url)), metrics)
        fake.replies.append(AReply(text="hello"))
        await llm.complete("s", TURNS)
        await llm.close()
    assert sample(metrics, "model_calls_total", provider="anthropic") == 1
    assert (sample(metrics, "tokens_total", provider="anthropic", kind="output") or 0) > 0


def test_standard_checks_follow_the_settings():
    assert set(standard_checks(make_settings("http://x"))) == {"model"}
    assert set(standard_checks(make_settings("http://x"), redis_client=object())) == {"redis", "model"}
