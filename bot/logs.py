"""Logging: text or JSON lines, the thread key on every line, no secrets, no chat text by default.

- `configure_logging(settings)` (or `configure(...)` with explicit values)
  installs one handler on the root logger.  LOG_FORMAT=json writes one JSON
  object per line (`ts`, `level`, `logger`, `thread`, `msg`, and `exc` when
  there is a traceback).
- `with thread_context(key): ...` puts a thread key on every line logged
  inside, including from tasks started inside (contextvars are copied into
  new tasks).
- `content(text)` is what a log line may show of user or model text: the
  text itself only when LOG_CONTENT=true, else its length.
- Every secret setting (and a password inside REDIS_URL) is replaced by
  `***` in the final line, tracebacks included, whatever logged it.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

from pydantic import SecretStr

_thread_key: ContextVar[str | None] = ContextVar("interview_bot_thread_key", default=None)
_USERINFO = re.compile(r"(\w+://)[^/@\s:]*:[^/@\s]+@")
NOISY = ("httpx", "httpx2", "httpcore", "httpcore2", "anthropic", "openai", "aiohttp.access")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(thread_key)s]: %(message)s"
MIN_SECRET_LEN = 4


class _ContentPolicy:
    """Whether chat text may appear in logs (LOG_CONTENT); set by `configure`."""

    allowed = False


def content(text: str | None) -> str:
    """User or model text as it may appear in a log line."""
    if text is None:
        return "<none>"
    if _ContentPolicy.allowed:
        return text
    return f"<{len(text)} chars>"


def current_thread_key() -> str | None:
    return _thread_key.get()


@contextmanager
def thread_context(key: str | None) -> Iterator[None]:
    """Tag every log line inside with `key` (the interview thread's key)."""
    token = _thread_key.set(key)
    try:
        yield
    finally:
        _thread_key.reset(token)


class ThreadKeyFilter(logging.Filter):
    """Adds `record.thread_key` ("-" outside a thread)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.thread_key = _thread_key.get() or "-"
        return True


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret and every URL password replaced by ***."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret and escaped in text:
            text = text.replace(escaped, "***")
    return _USERINFO.sub(r"\1***@", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        key = getattr(record, "thread_key", None) or _thread_key.get()
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "thread": None if key in (None, "-") else key,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """Wraps a formatter; the finished line loses every secret."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]):
        super().__init__()
        self.inner = inner
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(self.inner.format(record), self.secrets)


def secrets_of(settings: Any) -> list[str]:
    """Every secret value in the settings: SecretStr fields and a password in REDIS_URL."""
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr) and value.get_secret_value():
            found.append(value.get_secret_value())
    url = getattr(settings, "redis_url", None)
    if url:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            found.append(password)
    return found


def configure(*, level: str = "INFO", fmt: str = "text", log_content: bool = False,
              secrets: Iterable[str] = (), stream: IO[str] | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one configured handler; returns it."""
    _ContentPolicy.allowed = log_content
    inner: logging.Formatter = JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(RedactingFormatter(inner, secrets))
    handler.addFilter(ThreadKeyFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # HTTP client libraries log request lines (and, at DEBUG, bodies): keep them quiet.
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def configure_logging(settings: Any, *, level: str | None = None, stream: IO[str] | None = None) -> logging.Handler:
    """`configure` from the settings (LOG_LEVEL, LOG_FORMAT, LOG_CONTENT and every secret)."""
    return configure(level=level or settings.log_level, fmt=settings.log_format, log_content=settings.log_content,
                     secrets=secrets_of(settings), stream=stream)
