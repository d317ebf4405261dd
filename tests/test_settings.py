"""Settings: every one documented in .env.example, secrets never printed, clear errors."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def example_lines() -> list[str]:
    return (ROOT / ".env.example").read_text().splitlines()


def test_every_setting_is_in_env_example_with_a_comment():
    lines = example_lines()
    for name in Settings.model_fields:
        env = name.upper()
        idx = [i for i, line in enumerate(lines) if re.match(rf"^#?\s*{env}=", line)]
        assert idx, f"{env} is missing from .env.example"
        above = lines[idx[0] - 1]
        assert above.startswith("#") and len(above) > 3, f"{env} has no comment above it"
    names = {m.group(1) for line in lines if (m := re.match(r"^#?\s*([A-Z_]+)=", line))}
    assert names <= {n.upper() for n in Settings.model_fields}, "unknown names in .env.example"


def test_env_example_as_dotenv_loads(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text().replace("ANTHROPIC_API_KEY=", "ANTHROPIC_API_KEY=k"))
    monkeypatch.chdir(tmp_path)
    settings = load_settings("console")
    assert settings.discord_guild_id is None and settings.session_ttl_days == 14


def test_secrets_are_secret():
    s = Settings(_env_file=None, anthropic_api_key="sk-ant-supersecret", slack_bot_token="xoxb-secret",
                 discord_token="disc-secret")
    assert isinstance(s.anthropic_api_key, SecretStr)
    text = repr(s) + str(s) + s.model_dump_json()
    for secret in ("sk-ant-supersecret", "xoxb-secret", "disc-secret"):
        assert secret not in text


def test_missing_platform_token_names_it(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="DISCORD_TOKEN is not set"):
        load_settings("discord")
    monkeypatch.setenv("SLACK_MODE", "carrier-pigeon")
    with pytest.raises(SettingsError, match="SLACK_MODE is invalid"):
        load_settings("slack")
