"""Picks the model client for the configured provider (LLM_PROVIDER)."""
from __future__ import annotations

from .llm import LLM, ModelClient
from .llm_openai import OpenAILLM


def make_llm(settings) -> ModelClient:
    """`bot.llm.LLM` for anthropic, `OpenAILLM` for openai; both have the same surface."""
    if settings.llm_provider == "openai":
        return OpenAILLM(settings)
    return LLM(settings)


def provider_name(llm: ModelClient) -> str:
    """The provider label for metrics ("anthropic" or "openai")."""
    return getattr(llm, "provider", "anthropic")
