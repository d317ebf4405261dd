"""Logging: JSON lines with the thread key, chat text only when allowed, secrets never."""
from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from bot.config import Settings
from bot.logs import configure, configure_logging, content, redact_text, secrets_of, thread_context

SECRETS = {"anthropic_api_key": "sk-ant-api03-SECRETKEY", "openai_api_key": "sk-proj-OPENAISECRET",
               "slack_bot_token": "xoxb-111-222-SLACKSECRET", "slack_signing_secret": "signsecret9",
               "discord_token": "DISCORD.TOKEN.SECRET", "redis_url": "redis://:redispw-SECRET@db.internal:6379/0"}


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    configure_content_off()


def configure_content_off() -> None:
    from bot.logs import _ContentPolicy

    _ContentPolicy.allowed = False


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_json_lines_carry_the_thread_key(restore_logging):
    out = io.StringIO()
    configure(level="INFO", fmt="json", stream=out)
    log = logging.getLogger("bot.engine")
    log.info("outside")
    with thread_context("ib:thread:slack:T1:C1:1700.1"):
        log.info("turn %s started", 7)

        async def child():
            log.warning("from a task")

        await asyncio.create_task(child())
        with thread_context("ib:thread:discord:G:C:9"):
            log.info("nested")
        log.info("back")
    got = lines(out)
    assert [(g["msg"], g["thread"]) for g in got] == [
        ("outside", None), ("turn 7 started", "ib:thread:slack:T1:C1:1700.1"),
        ("from a task", "ib:thread:slack:T1:C1:1700.1"), ("nested", "ib:thread:discord:G:C:9"),
        ("back", "ib:thread:slack:T1:C1:1700.1")]
    assert got[1]["level"] == "INFO" and got[1]["logger"] == "bot.engine" and got[1]["ts"].endswith("+00:00")


def test_text_lines_carry_the_thread_key(restore_logging):
    out = io.StringIO()
    configure(level="INFO", fmt="text", stream=out)
    with thread_context("k1"):
        logging.getLogger("x").info("hello")
    logging.getLogger("x").info("bye")
    first, second = out.getvalue().splitlines()
    assert first.endswith("INFO x [k1]: hello") and second.endswith("INFO x [-]: bye")


def test_content_is_a_length_unless_allowed(restore_logging):
    configure(stream=io.StringIO())
    assert content("my phone number is 555-1234") == "<27 chars>"
    assert content(None) == "<none>"
    configure(stream=io.StringIO(), log_content=True)
    assert content("my phone number is 555-1234") == "my phone number is 555-1234"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_reach_the_log(restore_logging, fmt):
    settings = Settings(_env_file=None, log_format=fmt, **SECRETS)
    out = io.StringIO()
    configure_logging(settings, level="DEBUG", stream=out)
    log = logging.getLogger("bot.test")
    log.info("key is %s", settings.anthropic_api_key.get_secret_value())
    log.debug("headers %r", {"Authorization": f"Bearer {settings.openai_api_key.get_secret_value()}"})
    log.warning("connecting to %s", settings.redis_url)
    log.info("settings %s", settings.model_dump())  # SecretStr prints as **********
    log.info("slack %s discord %s", SECRETS["slack_bot_token"], SECRETS["discord_token"])
    try:
        raise RuntimeError(f"auth failed for {SECRETS['slack_signing_secret']} at http://u:pw123@h/x")
    except RuntimeError:
        log.exception("boom")
    text = out.getvalue()
    for secret in ("SECRETKEY", "OPENAISECRET", "SLACKSECRET", "signsecret9", "DISCORD.TOKEN.SECRET",
                   "redispw-SECRET", "pw123"):
        assert secret not in text, secret
    assert text.count("***") >= 7 and "db.internal:6379" in text and "boom" in text
    if fmt == "json":  # every line still parses
        assert len(lines(out)) == 6


def test_secrets_of_finds_every_secret_setting():
    found = secrets_of(Settings(_env_file=None, **SECRETS))
    assert set(found) == {"sk-ant-api03-SECRETKEY", "sk-proj-OPENAISECRET", "xoxb-111-222-SLACKSECRET",
                          "signsecret9", "DISCORD.TOKEN.SECRET", "redispw-SECRET"}


def test_redact_text_handles_json_escaping_and_urls():
    assert redact_text('{"k": "a\\"b-secret"}', ['a"b-secret']) == '{"k": "***"}'
    assert redact_text("rediss://default:pw@h:1/0 and http://h/path@x", []) == "rediss://***@h:1/0 and http://h/path@x"


def test_log_settings_validate():
    assert Settings(_env_file=None, log_format="JSON").log_format == "json"
    with pytest.raises(ValueError):
        Settings(_env_file=None, log_format="xml")
    assert Settings(_env_file=None).log_content is False
