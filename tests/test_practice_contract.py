"""`/practice random medium` end to end on Slack, Discord and the console: the same scenario, the same words.

Real Bolt / discord.py / console adapters against the local fakes, the scripted interviewer model, a frozen
practice clock.  The image scenario downloads the file the way each platform serves it (Slack: `url_private`
with the bot token; Discord: the attachment URL).
"""
from __future__ import annotations

import asyncio
import io
import json

import pytest

from adapters.console import ConsoleSession
from bot.app import build_engine
from bot.rubric import load_rubric
from bot.store import MemoryStore
from tests.conftest import make_settings
from tests.discord.conftest import discord_fake, runner  # noqa: F401 - fixtures
from tests.discord.helpers import callback, new_thread
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.llm_script import last_user_text
from tests.fakes.practice_script import practice_responder, system_text
from tests.slack.conftest import fake_slack, slack  # noqa: F401 - fixtures

T0 = 1_700_000_000.0
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 200


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def fake_llm():
    async with FakeAnthropic(responder=practice_responder) as fake:
        yield fake


class SlackDriver:

    def __init__(self, h):
        self.h = h
        self.engine = h.bot.engine

    async def start(self, problem: str) -> str:
        status, _ = await self.h.command(problem, command="/practice")
        assert status == 200
        await self.h.settle()
        return self.h.parent()["ts"]

    async def say(self, thread: str, text: str) -> None:
        status, _ = await self.h.reply(thread, text)
        assert status == 200

    async def image(self, thread: str, text: str) -> None:
        file = self.h.fake.host_file("board.png", PNG, "image/png")
        status, _ = await self.h.reply(thread, text, subtype="file_share", files=[file])
        assert status == 200

    async def history(self) -> str:
        status, body = await self.h.command("", command="/history")
        assert status == 200
        return json.loads(body)["text"]

    async def settle(self) -> None:
        await self.h.settle()

    def said(self, thread: str) -> str:
        return "\n".join(self.h.thread_texts(thread))


class DiscordDriver:

    def __init__(self, fake, bot):
        self.fake, self.bot, self.engine = fake, bot, bot.engine

    async def start(self, problem: str) -> str:
        await self.fake.slash("practice", {"problem": problem})
        thread = await new_thread(self.fake)
        await self.settle()
        return thread["id"]

    async def say(self, thread: str, text: str) -> None:
        await self.fake.say(int(thread), text)

    async def image(self, thread: str, text: str) -> None:
        await self.fake.say(int(thread), text, attachments=[self.fake.attachment("board.png", PNG, "image/png")])

    async def history(self) -> str:
        iid = await self.fake.slash("history", {})
        await self.fake.wait_for(lambda: callback(self.fake, iid), 5, "the history answer")
        return callback(self.fake, iid)["data"]["content"]

    async def settle(self) -> None:
        await asyncio.sleep(0.3)
        await self.engine.pipeline.idle()

    def said(self, thread: str) -> str:
        return self.fake.thread_text(int(thread))


class ConsoleDriver:

    def __init__(self, engine):
        self.out = io.StringIO()
        self.session = ConsoleSession(engine, self.out)
        self.engine = engine

    async def start(self, problem: str) -> str:
        await self.session.line(f"practice {problem}")
        return "console"

    async def say(self, thread: str, text: str) -> None:
        await self.session.line(text)

    async def history(self) -> str:
        mark = len(self.out.getvalue())
        await self.session.line("/history")
        return self.out.getvalue()[mark:]

    async def settle(self) -> None:
        await self.engine.pipeline.idle()

    def said(self, thread: str) -> str:
        return self.out.getvalue()


async def open_driver(kind: str, fake_llm, slack_harness, discord_runner, fake_discord):
    clock = Clock()
    if kind == "slack":
        d = SlackDriver(slack_harness)
    elif kind == "discord":
        d = DiscordDriver(fake_discord, await discord_runner.start())
    else:
        d = ConsoleDriver(build_engine(make_settings(fake_llm.base_url), store=MemoryStore()))
    d.engine.practice.steps.now = clock
    d.clock = clock
    return d


@pytest.fixture(params=["slack", "discord", "console"])
async def driver(request, fake_llm, slack, runner, discord_fake):  # noqa: F811 - fixtures
    d = await open_driver(request.param, fake_llm, slack, runner, discord_fake)
    yield d
    if request.param == "console":
        await d.engine.shutdown(grace=1)
        await d.engine.llm.close()


@pytest.fixture(params=["slack", "discord"])
async def chat_driver(request, fake_llm, slack, runner, discord_fake):  # noqa: F811 - fixtures
    """The platforms where a message can carry a file (a terminal cannot)."""
    yield await open_driver(request.param, fake_llm, slack, runner, discord_fake)


def interviewer_requests(fake_llm):
    return [r for r in fake_llm.requests if system_text(r).startswith("You are the interviewer")]


async def test_practice_random_medium_runs_to_a_scorecard_on_every_platform(driver, fake_llm):
    thread = await driver.start("random medium")
    said = driver.said(thread)
    assert "What would you like to know" in said and "5 min left for the requirements" in said
    system = system_text(interviewer_requests(fake_llm)[0])
    assert "Difficulty: medium" in system
    await driver.say(thread, "How many users are there?")
    await driver.settle()
    driver.clock.t += 60
    await driver.say(thread, "Once more: how many users do we have?")
    await driver.settle()
    said = driver.said(thread)
    users = [line for line in said.splitlines() if "Users:" in line]
    assert len(users) == 2 and users[0].split("Users:")[1] == users[1].split("Users:")[1]
    await driver.say(thread, "next")
    await driver.settle()
    assert "move on to the estimates" in driver.said(thread)
    await driver.say(thread, "hint")
    await driver.settle()
    assert "[hint requested]" in last_user_text(interviewer_requests(fake_llm)[-1])
    await driver.say(thread, "Roughly 10k writes a second at peak, reads ten times that.")
    await driver.settle()
    await driver.say(thread, "end")
    await driver.settle()
    said = driver.said(thread)
    for signal in load_rubric().signals:
        assert f"{signal.name}: " in said
    assert "Hints used: 1" in said.replace("*", "") and "Three things to work on" in said
    history = await driver.history()
    assert "Practice history" in history and "1 hint" in history


async def test_an_attached_image_reaches_the_model_as_an_image_block(chat_driver, fake_llm):
    driver = chat_driver
    thread = await driver.start("Design a URL shortener")
    await driver.image(thread, "My whiteboard")
    await driver.settle()
    await driver.settle()
    last = interviewer_requests(fake_llm)[-1]["messages"][-1]["content"]
    image = next(b for b in last if b["type"] == "image")
    assert image["source"]["media_type"] == "image/png"
    import base64
    assert base64.b64decode(image["source"]["data"]) == PNG
    assert "From your image I understand" in driver.said(thread)


async def test_discord_practice_autocomplete_offers_random_difficulties_and_the_bank(discord_fake, runner):  # noqa: F811
    await runner.start()
    iid = await discord_fake.autocomplete("practice", "problem", "ran")
    await discord_fake.wait_for(lambda: callback(discord_fake, iid), 5, "autocomplete answer")
    choices = [c["value"] for c in callback(discord_fake, iid)["data"]["choices"]]
    assert choices[:3] == ["random easy", "random medium", "random hard"]
    iid = await discord_fake.autocomplete("practice", "problem", "url")
    await discord_fake.wait_for(lambda: callback(discord_fake, iid), 5, "autocomplete answer")
    assert any("URL shortener" in c["value"] for c in callback(discord_fake, iid)["data"]["choices"])
    synced = [c["name"] for scope in discord_fake.commands.values() for c in scope]
    assert "practice" in synced and "history" in synced


def test_slack_history_mentions_become_ids_and_other_text_is_passed_on():
    from adapters.slack.app import history_target
    assert history_target("<@U0BO|bo>") == "U0BO"
    assert history_target("<@U0BO>") == "U0BO"
    assert history_target("") == ""
    assert history_target("@bo") == "@bo"   # not escaped: the core asks for a mention
