"""The app manifest asks for exactly what the adapter uses."""
from __future__ import annotations

import re
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[2] / "adapters" / "slack" / "manifest.yml"


def items_under(text: str, key: str) -> list[str]:
    m = re.search(rf"^(\s*){key}:\s*\n((?:\1\s+- .*\n)+)", text, re.M)
    assert m, key
    return [re.sub(r"\s+#.*$", "", line.strip()[2:]).strip() for line in m.group(2).splitlines()]


def test_scopes_events_commands():
    text = MANIFEST.read_text()
    assert sorted(items_under(text, "bot")) == sorted(
        ["commands", "chat:write", "files:write", "files:read", "channels:history", "groups:history", "users:read"])
    assert sorted(items_under(text, "bot_events")) == ["message.channels", "message.groups"]
    assert re.findall(r"- command: (\S+)", text) == ["/interview", "/diagram", "/practice", "/history"]
    assert re.search(r"^\s*socket_mode_enabled: true", text, re.M)
    assert re.search(r"interactivity:\s*\n\s*is_enabled: true", text)
    assert "\t" not in text
