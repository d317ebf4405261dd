"""The same scenarios on every platform: the core owns the rules, adapters only translate.

Each driver starts an interview and sends thread messages the way its platform
does (signed Slack HTTP requests, Discord gateway messages, console lines);
the assertions are the same for all three.
"""
from __future__ import annotations

import asyncio
import io
import json

import pytest

from adapters.console import ConsoleSession
from bot import texts
from bot.app import build_engine
from bot.messages import Action, choice_id
from bot.store import MemoryStore
from tests.conftest import make_settings
from tests.discord.conftest import discord_fake, runner  # noqa: F401 - fixtures
from tests.discord.helpers import message_with_button, new_thread
from tests.fakes.llm_script import last_user_text
from tests.slack.conftest import fake_slack, slack  # noqa: F401 - fixtures


class SlackDriver:
    def __init__(self, harness):
        self.h = harness

    async def start(self, problem: str) -> str:
        await self.h.command(problem)
        await self.h.settle()
        return self.h.parent()["ts"]

    async def say(self, thread: str, text: str) -> None:
        status, _ = await self.h.reply(thread, text)
        assert status == 200

    async def settle(self) -> None:
        await self.h.settle()

    def said(self, thread: str) -> str:
        return "\n".join(self.h.thread_texts(thread))

    async def press(self, thread: str, button_id: str) -> None:
        for message in reversed(self.h.fake.thread("C1", thread)):
            blocks = message.get("blocks") or []
            blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
            ids = [e.get("action_id") for b in blocks for e in b.get("elements") or []]
            if button_id in ids:
                status, _ = await self.h.click(button_id, message["ts"], thread)
                assert status == 200
                return
        raise AssertionError(f"no button {button_id} in the thread")


class DiscordDriver:
    def __init__(self, fake, bot):
        self.fake, self.bot = fake, bot

    async def start(self, problem: str) -> str:
        await self.fake.slash("interview", {"problem": problem})
        thread = await new_thread(self.fake)
        await self.settle()
        return thread["id"]

    async def say(self, thread: str, text: str) -> None:
        await self.fake.say(int(thread), text)

    async def settle(self) -> None:
        await asyncio.sleep(0.3)   # the gateway delivers the message to the bot
        await self.bot.engine.pipeline.idle()

    def said(self, thread: str) -> str:
        return self.fake.thread_text(int(thread))

    async def press(self, thread: str, button_id: str) -> None:
        message = message_with_button(self.fake, thread, button_id)
        assert message is not None, f"no button {button_id} in the thread"
        await self.fake.press(int(message["id"]), button_id)


class ConsoleDriver:
    def __init__(self, engine):
        self.out = io.StringIO()
        self.session = ConsoleSession(engine, self.out)

    async def start(self, problem: str) -> str:
        await self.session.line(f"/interview {problem}")
        return "console"

    async def say(self, thread: str, text: str) -> None:
        await self.session.line(text)

    async def settle(self) -> None:
        await self.session.engine.pipeline.idle()

    def said(self, thread: str) -> str:
        return self.out.getvalue()

    async def press(self, thread: str, button_id: str) -> None:
        """The console has no buttons: the words (or the choice's number) the hints show."""
        typed = {Action.CONTINUE.value: "continue", Action.GO.value: "go", Action.CURVEBALL.value: "curveball"}
        await self.session.line(typed.get(button_id) or str(int(button_id.rsplit(":", 1)[1]) + 1))


@pytest.fixture(params=["slack", "discord", "console"])
async def driver(request, fake_llm, slack, runner, discord_fake):  # noqa: F811 - fixtures
    if request.param == "slack":
        yield SlackDriver(slack)
    elif request.param == "discord":
        bot = await runner.start()
        yield DiscordDriver(discord_fake, bot)
    else:
        engine = build_engine(make_settings(fake_llm.base_url), store=MemoryStore())
        yield ConsoleDriver(engine)
        await engine.shutdown(grace=1)
        await engine.llm.close()


async def test_messages_are_handled_in_the_order_they_were_sent(driver, fake_llm):
    thread = await driver.start("Design a URL shortener")
    for text in ("About 100M links a month", "first follow-up: why base62?", "second follow-up: why Redis?"):
        await driver.say(thread, text)
    await driver.settle()
    await driver.settle()
    tasks = [last_user_text(r).splitlines()[0] for r in fake_llm.requests]
    assert tasks.count("Task: present the design.") == 1
    discussed = [last_user_text(r) for r in fake_llm.requests if "Task: discussion." in last_user_text(r)]
    assert len(discussed) == 2
    assert "first follow-up" in discussed[0] and "second follow-up" in discussed[1]
    said = driver.said(thread)
    assert said.count("That's my design") == 1


async def test_thread_words_mean_the_same_everywhere(driver, fake_llm):
    thread = await driver.start("Design a URL shortener")
    await driver.say(thread, "retry")
    await driver.settle()
    assert texts.NOTHING_TO_RETRY.split(":")[0] in driver.said(thread)
    await driver.say(thread, "skip")
    await driver.settle()
    assert "That's my design" in driver.said(thread)
    await driver.say(thread, "end")
    await driver.settle()
    assert "That's a wrap" in driver.said(thread)


async def test_an_invisible_reply_gets_the_same_answer_everywhere(driver, fake_llm):
    thread = await driver.start("Design a URL shortener")
    await driver.say(thread, "\u200b\u2066\u200f")
    await driver.settle()
    assert "That message was empty" in driver.said(thread)


async def test_interactive_staff_interview_with_buttons_everywhere(driver, fake_llm):
    thread = await driver.start("Design a URL shortener (staff, interactive)")
    await driver.say(thread, "100M links a month, 10B redirects")
    await driver.settle()
    assert "Does this scope match what you had in mind?" in driver.said(thread)
    assert "Where should I go deep" not in driver.said(thread)
    await driver.press(thread, Action.CONTINUE.value)
    await driver.settle()
    await driver.settle()
    assert "Where should I go deep" in driver.said(thread)
    await driver.press(thread, choice_id(1))
    await driver.settle()
    await driver.settle()
    said = driver.said(thread)
    assert said.count("That's my design") == 1 and "Redirect cache" in said.split("Where should I go deep")[1]
    asks = [last_user_text(r) for r in fake_llm.requests]
    assert any("The interviewer wants the deep dive on: Redirect cache." in a for a in asks)
    assert any("strong staff-level candidate" in a for a in asks)
    await driver.press(thread, Action.CURVEBALL.value)
    await driver.settle()
    await driver.settle()
    assert "Try asking the candidate" in driver.said(thread)
