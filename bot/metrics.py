"""Prometheus metrics: what the bot counts, and small typed helpers to count it.

Every metric lives on one `CollectorRegistry` held by a `Metrics` object; the
only process-wide state is the default registry used by `default_metrics()`.
Tests build `Metrics(CollectorRegistry())` and read values back with
`registry.get_sample_value(...)`.

Labels are kept to small, fixed sets (platform, provider, step, outcome,
kind) so that the number of time series stays bounded: never a user, thread
or workspace id.
"""
from __future__ import annotations

import logging
from enum import StrEnum
from functools import lru_cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from .state import Usage

NAMESPACE = "interview_bot"

# Seconds: a quick reply is ~1 s, a whole design with a diagram can take minutes.
TURN_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
MODEL_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class TurnOutcome(StrEnum):
    """How one handled turn ended (a label value)."""

    OK = "ok"
    ERROR = "error"           # the model or the platform failed; the user saw an error message
    REFUSED = "refused"       # not run: over budget, not allowed, busy
    CANCELLED = "cancelled"   # the process stopped while it ran


class TokenKind(StrEnum):
    INPUT = "input"
    OUTPUT = "output"
    CACHE_READ = "cache_read"
    CACHE_WRITE = "cache_write"


class Metrics:
    """The bot's metrics on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.turns = Counter(
            "turns", "Turns handled (one inbound message or command run to the end).",
            ["platform", "step", "outcome"], namespace=NAMESPACE, registry=r)
        self.turn_seconds = Histogram(
            "turn_seconds", "Wall time of one turn, from pick-up to the last reply posted.",
            ["platform", "step"], namespace=NAMESPACE, buckets=TURN_BUCKETS, registry=r)
        self.model_seconds = Histogram(
            "model_seconds", "Wall time of one model call, retries included.",
            ["provider"], namespace=NAMESPACE, buckets=MODEL_BUCKETS, registry=r)
        self.model_calls = Counter(
            "model_calls", "Model calls that returned an answer.", ["provider"], namespace=NAMESPACE, registry=r)
        self.tokens = Counter(
            "tokens", "Model tokens by kind (input, output, cache_read, cache_write).",
            ["provider", "kind"], namespace=NAMESPACE, registry=r)
        self.errors = Counter(
            "errors", "Failures by kind (model error kinds such as overloaded or timeout, and platform errors).",
            ["kind"], namespace=NAMESPACE, registry=r)
        self.platform_429 = Counter(
            "platform_rate_limited", "HTTP 429 answers from the chat platform's API.",
            ["platform"], namespace=NAMESPACE, registry=r)
        self.budget_refusals = Counter(
            "budget_refusals", "Turns refused because a daily token budget was used up.",
            ["scope"], namespace=NAMESPACE, registry=r)
        self.active_interviews = Gauge(
            "active_interviews", "Interviews currently open in this process's view.",
            ["platform"], namespace=NAMESPACE, registry=r)
        self.inbox_depth = Gauge(
            "inbox_depth", "Inbound messages waiting to be handled.",
            ["platform"], namespace=NAMESPACE, registry=r)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


@lru_cache(maxsize=1)
def default_metrics() -> Metrics:
    """The process's metrics on prometheus_client's default registry (created once)."""
    from prometheus_client import REGISTRY

    return Metrics(REGISTRY)


# --- helpers the engine and adapters call -----------------------------------


def record_turn(m: Metrics, *, platform: str, step: str, outcome: TurnOutcome, seconds: float) -> None:
    """One turn finished (whatever the outcome) after `seconds` of wall time."""
    m.turns.labels(platform=platform, step=step, outcome=outcome.value).inc()
    m.turn_seconds.labels(platform=platform, step=step).observe(max(seconds, 0.0))


def record_model_call(m: Metrics, *, provider: str, seconds: float, usage: Usage) -> None:
    """A model call answered: its duration and the tokens it used."""
    m.model_calls.labels(provider=provider).inc()
    m.model_seconds.labels(provider=provider).observe(max(seconds, 0.0))
    record_tokens(m, provider=provider, usage=usage)


def record_tokens(m: Metrics, *, provider: str, usage: Usage) -> None:
    for kind, value in (
        (TokenKind.INPUT, usage.input_tokens),
        (TokenKind.OUTPUT, usage.output_tokens),
        (TokenKind.CACHE_READ, usage.cache_read_tokens),
        (TokenKind.CACHE_WRITE, usage.cache_write_tokens),
    ):
        if value > 0:
            m.tokens.labels(provider=provider, kind=kind.value).inc(value)


def record_model_failure(m: Metrics, *, provider: str, seconds: float, kind: str) -> None:
    """A model call failed for good with an `LLMError` of `kind`."""
    m.model_seconds.labels(provider=provider).observe(max(seconds, 0.0))
    record_error(m, kind)


def record_error(m: Metrics, kind: str) -> None:
    """Any failure worth counting, by a short fixed kind (an `LLMError.kind`, "platform", "store")."""
    m.errors.labels(kind=kind).inc()


def record_platform_429(m: Metrics, platform: str) -> None:
    m.platform_429.labels(platform=platform).inc()


def record_budget_refusal(m: Metrics, scope: str) -> None:
    """`scope` is "user" or "workspace"."""
    m.budget_refusals.labels(scope=scope).inc()


def set_active_interviews(m: Metrics, platform: str, count: int) -> None:
    m.active_interviews.labels(platform=platform).set(count)


def interview_opened(m: Metrics, platform: str) -> None:
    m.active_interviews.labels(platform=platform).inc()


def interview_closed(m: Metrics, platform: str) -> None:
    m.active_interviews.labels(platform=platform).dec()


def set_inbox_depth(m: Metrics, platform: str, depth: int) -> None:
    m.inbox_depth.labels(platform=platform).set(depth)


class RateLimitLogCounter(logging.Handler):
    """Counts a library's own "429" log lines as platform 429s.

    discord.py handles 429s inside its HTTP client and only logs them (logger
    `discord.http`: "... responded with 429 ..."), so this is how they are
    seen without touching the library.  Attach with `watch_rate_limit_logs`.
    """

    def __init__(self, metrics: Metrics, platform: str, needle: str = "429"):
        super().__init__(level=logging.DEBUG)
        self.metrics = metrics
        self.platform = platform
        self.needle = needle

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.needle in record.getMessage():
                record_platform_429(self.metrics, self.platform)
        except Exception:  # noqa: BLE001 - a log handler must never break the caller
            self.handleError(record)


def watch_rate_limit_logs(m: Metrics, platform: str, logger_name: str = "discord.http") -> RateLimitLogCounter:
    """Count 429 log lines of `logger_name` (stop with `logging.getLogger(logger_name).removeHandler(h)`)."""
    handler = RateLimitLogCounter(m, platform)
    logging.getLogger(logger_name).addHandler(handler)
    return handler
