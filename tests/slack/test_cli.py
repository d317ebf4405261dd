"""`interview-bot slack` start-up checks: one clear line, no traceback."""
from __future__ import annotations

import pytest

import adapters.slack as slack_cli
from bot.cli import available


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("ANTHROPIC_API_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_MODE",
                 "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    return monkeypatch


def run(capsys, argv):
    code = slack_cli.main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def test_found_by_the_cli():
    assert "slack" in available()


def test_missing_bot_token(env, capsys):
    code, err = run(capsys, [])
    assert code == 2 and err.count("\n") == 0 and "SLACK_BOT_TOKEN is not set" in err


def test_socket_mode_needs_app_token(env, capsys):
    env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    code, err = run(capsys, [])
    assert code == 2 and err.count("\n") == 0 and "SLACK_APP_TOKEN" in err
    env.setenv("SLACK_APP_TOKEN", "xoxb-wrong")
    code, err = run(capsys, ["--mode", "socket"])
    assert code == 2 and "xapp-" in err


def test_http_mode_needs_signing_secret(env, capsys):
    env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    env.setenv("SLACK_MODE", "http")
    code, err = run(capsys, [])
    assert code == 2 and err.count("\n") == 0 and "SLACK_SIGNING_SECRET" in err


def test_swapped_tokens(env, capsys):
    env.setenv("SLACK_BOT_TOKEN", "xapp-1")
    code, err = run(capsys, [])
    assert code == 2 and "xoxb-" in err


def test_bad_mode(env, capsys):
    env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    env.setenv("SLACK_MODE", "carrier-pigeon")
    code, err = run(capsys, [])
    assert code == 2 and "SLACK_MODE" in err and err.count("\n") == 0
