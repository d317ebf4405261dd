"""ThreadSink against a stub channel, and the `interview-bot discord` entry point."""
from __future__ import annotations

import discord
import pytest

import adapters.discord as discord_adapter
from adapters.discord.client import missing_permissions, parse_ids, thread_name
from adapters.discord.views import ThreadSink
from bot import cli
from bot.messages import Action, Attachment, Kind, OutMessage
from bot.state import Mode


class StubMessage:
    def __init__(self, channel, **kw):
        self.channel = channel
        self.kw = kw
        self.edits: list[dict] = []

    async def edit(self, **kw):
        self.edits.append(kw)
        self.channel.log.append(("edit", kw))


class StubChannel:
    id = 42

    def __init__(self):
        self.log: list[tuple[str, dict]] = []

    async def send(self, **kw):
        self.log.append(("send", kw))
        return StubMessage(self, **kw)


async def test_long_post_is_split_with_buttons_and_files_on_the_last_chunk():
    ch = StubChannel()
    sink = ThreadSink(ch, min_interval=0)
    body = "\n\n".join(f"Paragraph {i} " + "words " * 60 for i in range(12))
    await sink.post(OutMessage(kind=Kind.SECTION, markdown=body, actions=[Action.END],
                               attachments=[Attachment(filename="diagram.png", data=b"\x89PNG")]))
    sends = [kw for op, kw in ch.log if op == "send"]
    assert len(sends) >= 3 and all(len(kw["content"]) <= 2000 for kw in sends)
    assert all(kw["allowed_mentions"].to_dict()["parse"] == [] for kw in sends)
    assert "view" in sends[-1] and "files" in sends[-1]
    assert all("view" not in kw and "files" not in kw for kw in sends[:-1])
    assert [c.custom_id for c in sends[-1]["view"].children] == [Action.END.value]


async def test_preview_is_edited_into_the_final_first_chunk():
    ch = StubChannel()
    sink = ThreadSink(ch, min_interval=0)
    await sink.partial("design:scope", "### Scope\nSo we are building")
    await sink.partial("design:scope", "### Scope\nSo we are building a URL shortener")
    final = "### Scope\n" + "A URL shortener.\n" * 150
    await sink.post(OutMessage(kind=Kind.SECTION, markdown=final, stream_id="design:scope"))
    ops = [op for op, _ in ch.log]
    assert ops == ["send", "edit", "edit", "send"]   # preview, live edit, final edit, second chunk
    assert ch.log[0][1]["content"].endswith(" …")
    assert ch.log[2][1]["content"].startswith("### Scope\nA URL shortener.")


async def test_buttons_only_message_and_empty_text():
    ch = StubChannel()
    await ThreadSink(ch).post(OutMessage(kind=Kind.ERROR, markdown="", actions=[Action.RETRY]))
    assert ch.log[0][1]["content"] is None and "view" in ch.log[0][1]


def test_helpers():
    assert parse_ids("1, 2;3  x") == {1, 2, 3}
    assert thread_name("Design\n a  URL shortener", Mode.INTERVIEW) == "Interview: Design a URL shortener"
    assert len(thread_name("x" * 500, Mode.DIAGRAM)) == 100
    perms = discord.Permissions(view_channel=True, send_messages_in_threads=True, attach_files=True)
    assert missing_permissions(perms, private=False) == ["Create Public Threads"]
    assert missing_permissions(perms, private=True) == ["Create Private Threads"]


def test_cli_finds_the_adapter():
    assert "discord" in cli.available()


def test_main_without_token_prints_one_line_and_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)   # no .env here
    for name in ("DISCORD_TOKEN", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    assert discord_adapter.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "DISCORD_TOKEN" in err


def test_main_rejects_unknown_arguments():
    with pytest.raises(SystemExit):
        discord_adapter.main(["--nope"])


async def test_interview_bot_discord_process_runs_against_the_fake(tmp_path, fake_llm):
    """`interview-bot discord` as a real process: settings from the environment, login, an interview, SIGTERM."""
    import asyncio
    import os
    import signal
    import sys

    from tests.discord.helpers import new_thread, wait_text
    from tests.fakes.fake_discord import TOKEN, FakeDiscord

    async with FakeDiscord(per_channel_limit=100) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "ANTHROPIC_", "REDIS_"))}
        env.update(DISCORD_TOKEN=TOKEN, DISCORD_API_BASE=fake.api_base, DISCORD_GATEWAY_URL=fake.gateway_url,
                   DISCORD_GUILD_ID="900000000000000001", ANTHROPIC_API_KEY="test",
                   ANTHROPIC_BASE_URL=fake_llm.base_url, LOG_LEVEL="WARNING")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "discord", cwd=tmp_path, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await fake.wait_for(lambda: any(c.identified for c in fake._conns) and fake.commands, 20, "process login")
            await asyncio.sleep(0.2)
            await fake.slash("interview", {"problem": "Design a URL shortener"})
            thread = await new_thread(fake)
            await wait_text(fake, thread["id"], "A few quick questions")
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 15)
        assert proc.returncode == 0, err.decode()[-2000:]


