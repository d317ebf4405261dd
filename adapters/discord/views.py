"""Buttons, and the Discord side of a `Sink`: chunked posts, live previews, typing.

Buttons are persistent: their custom_ids are the core's stable `Action`
values, and one `ActionsView` holding every button is registered in
`setup_hook`, so a button on a message posted by an earlier process still
works after a restart.  Messages are sent with a *stopped* copy of a view
(`button_row`): Discord gets the components, but discord.py keeps no
per-message view in memory, and every press lands on the persistent one.
"""
from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.formatting import preview_chunk, split_markdown
from bot.messages import (
    ACTION_LABELS,
    BUTTON_ACTIONS,
    MAX_CHOICES,
    Action,
    Choice,
    DeliveryError,
    OutMessage,
    choice_id,
)
from bot.progress import LivePreviews

if TYPE_CHECKING:  # pragma: no cover
    from .client import InterviewBot

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000
PREVIEW_LIMIT = 1990        # leaves room for LivePreviews' " …" marker
BUTTON_STYLES = {Action.SKIP: discord.ButtonStyle.primary, Action.END: discord.ButtonStyle.danger,
                 Action.RETRY: discord.ButtonStyle.secondary, Action.CONTINUE: discord.ButtonStyle.success,
                 Action.GO: discord.ButtonStyle.success, Action.CURVEBALL: discord.ButtonStyle.secondary}


def _button(action: Action) -> discord.ui.Button:
    return discord.ui.Button(label=ACTION_LABELS[action][:80], custom_id=action.value, style=BUTTON_STYLES[action])


def _choice_button(choice: Choice) -> discord.ui.Button:
    return discord.ui.Button(label=choice.label[:80] or str(choice.index + 1), custom_id=choice_id(choice.index),
                             style=discord.ButtonStyle.primary)


class ActionsView(discord.ui.View):
    """The persistent view: every action button, routed to the bot."""

    def __init__(self, bot: "InterviewBot"):
        super().__init__(timeout=None)
        self.bot = bot
        for action in BUTTON_ACTIONS:
            button = _button(action)
            button.callback = self._callback_for(action)  # type: ignore[method-assign]
            self.add_item(button)
        for index in range(MAX_CHOICES):   # a choice's label varies per message; its custom_id does not
            button = _choice_button(Choice(index=index, label=str(index + 1)))
            button.callback = self._callback_for(Action.CHOOSE, str(index))  # type: ignore[method-assign]
            self.add_item(button)

    def _callback_for(self, action: Action, text: str = ""):
        async def callback(interaction: discord.Interaction) -> None:
            await self.bot.on_button(interaction, action, text)
        return callback


def button_row(actions: list[Action], choices: list[Choice] | None = None) -> discord.ui.View | None:
    """A view to *send* (components only); presses are handled by `ActionsView`."""
    if not actions and not choices:
        return None
    view = discord.ui.View(timeout=None)
    for choice in choices or []:
        view.add_item(_choice_button(choice))
    for action in dict.fromkeys(actions):
        view.add_item(_button(action))
    view.stop()   # finished views are not stored per message by discord.py
    return view


def nonce_of(key: str) -> str:
    """A Discord nonce (at most 25 characters) that is always the same for the same key."""
    return str(int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big"))


def preview_text(markdown: str) -> str:
    """What a live preview shows: at most one message, with any open code fence closed."""
    return preview_chunk(markdown, PREVIEW_LIMIT)


class Typing:
    """Shows "Bot is typing…" while a turn runs, without ever failing the turn.

    Discord clears the indicator when the bot posts, so after each post it is
    sent again (after a short pause, and only if the turn is still running).
    """

    def __init__(self, channel: discord.abc.Messageable, *, interval: float = 8.0, after_post: float = 1.5):
        self.channel = channel
        self.interval = interval
        self.after_post = after_post
        self._kick = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def _send(self) -> None:
        try:
            await self.channel.typing()   # awaiting Typing sends one indicator
        except Exception as exc:  # noqa: BLE001 - typing is cosmetic
            log.debug("typing indicator failed: %s", exc)

    async def _run(self) -> None:
        await self._send()
        while True:
            try:
                async with asyncio.timeout(self.interval):
                    await self._kick.wait()
            except TimeoutError:
                await self._send()
                continue
            self._kick.clear()
            await asyncio.sleep(self.after_post)
            if self._kick.is_set():
                continue   # another message went out meanwhile: text is visibly arriving, wait again
            await self._send()

    def posted(self) -> None:
        self._kick.set()

    async def __aenter__(self) -> "Typing":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=2.0)   # never hold the turn up for a cosmetic task


class ThreadSink:
    """The core's `Sink` for one Discord thread and one turn; "typing…" is shown while the turn runs."""

    def __init__(self, channel: Any, *, min_interval: float | None = 1.2, typing_interval: float = 8.0,
                 timeout: float = 30.0):
        self.channel = channel
        self.live = min_interval is not None   # None: no live previews, finished messages only
        self.timeout = timeout   # discord.py retries 5xx itself but waits forever on a hung request
        self.typing: Typing | None = Typing(channel, interval=typing_interval)
        self.previews = LivePreviews(self._create, self._edit, min_interval=min_interval or 0.0, limit=MESSAGE_LIMIT)

    async def __aenter__(self) -> "ThreadSink":
        if self.typing is not None:
            await self.typing.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.typing is not None:
            await self.typing.__aexit__(*exc)

    async def _create(self, text: str, stream_id: str) -> discord.Message:
        # The preview carries the nonce of its final message's first part: a turn continued after a crash
        # that posts that part gets this message back from Discord (and edits it) instead of a second one.
        msg = await self.channel.send(content=text, allowed_mentions=discord.AllowedMentions.none(),
                                      nonce=nonce_of(f"{stream_id}:0"))
        self._posted()
        return msg

    async def _edit(self, message: discord.Message, text: str) -> None:
        await message.edit(content=text, allowed_mentions=discord.AllowedMentions.none())

    def _posted(self) -> None:
        if self.typing is not None:
            self.typing.posted()

    async def partial(self, stream_id: str, markdown: str) -> None:
        if not self.live:
            return
        try:
            await self.previews.partial(stream_id, preview_text(markdown))
        except (discord.HTTPException, asyncio.TimeoutError) as exc:   # a preview is optional
            log.warning("live preview failed: %s", exc)

    async def post(self, message: OutMessage) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self._post(message)
        except (discord.HTTPException, asyncio.TimeoutError) as exc:
            raise DeliveryError(f"message in thread {getattr(self.channel, 'id', '?')}: {exc}") from exc

    async def _post(self, message: OutMessage) -> None:
        chunks = split_markdown(message.markdown, MESSAGE_LIMIT)
        files = [discord.File(io.BytesIO(a.data), filename=a.filename) for a in message.attachments]
        view = button_row(message.actions, message.choices)
        if not chunks and (files or view):
            chunks = [""]
        wait = self.previews.wait_before_final_edit(message.stream_id)
        preview = self.previews.take(message.stream_id)
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            extra: dict[str, Any] = {}
            if last and view is not None:
                extra["view"] = view
            if i == 0 and preview is not None:
                if wait:
                    await asyncio.sleep(wait)
                if last and files:
                    extra["attachments"] = files
                await preview.edit(content=chunk or None, allowed_mentions=discord.AllowedMentions.none(), **extra)
                continue
            if last and files:
                extra["files"] = files
            if message.dedupe_key:   # Discord drops a second post with the same nonce (a turn resumed after a crash)
                extra["nonce"] = nonce_of(f"{message.dedupe_key}:{i}")
            sent = await self.channel.send(content=chunk or None, allowed_mentions=discord.AllowedMentions.none(),
                                           **extra)
            self._posted()
            if message.dedupe_key and (sent.content or "") != (chunk or ""):
                # Discord answered with the message a stopped process made under this nonce: a preview it
                # never finished. Finish it now.
                extra.pop("nonce", None)
                if "files" in extra:
                    extra["attachments"] = extra.pop("files")
                await sent.edit(content=chunk or None, allowed_mentions=discord.AllowedMentions.none(), **extra)
