"""The Discord bot: slash commands, thread replies and buttons, on the shared core.

* `/interview problem:` and `/diagram system:` answer the interaction at once
  (well inside Discord's 3-second deadline), open a **public** thread (private
  if DISCORD_PRIVATE_THREADS is set) and run the interview there with
  `thread.send`, never with interaction follow-ups (their token dies after
  15 minutes).  `/end` and the "End interview" button end it.
* Replies in an interview thread go to the core; the bot ignores itself, other
  bots, and threads that are not interviews.  The core's per-thread lock
  orders several people's answers; its event-id dedupe (message and
  interaction ids) makes a duplicate gateway delivery after a resume harmless.
* Everything is sent with `AllowedMentions.none()`, also set on the client.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.engine import Engine, check_problem
from bot.formatting import neutralize_mentions, truncate
from bot.messages import Action
from bot.problems import resolve_problem
from bot.state import Mode, ThreadRef
from bot.store import StoreError

from .views import ActionsView, ThreadSink, Typing

log = logging.getLogger(__name__)

THREAD_TYPES = (discord.ChannelType.public_thread, discord.ChannelType.private_thread)
INTENT_WARNING = (
    "The Message Content intent is NOT enabled for this bot, so it cannot read replies in interview threads "
    "(only messages that @mention it). Enable it: Discord Developer Portal -> your application -> Bot -> "
    "Privileged Gateway Intents -> MESSAGE CONTENT INTENT, then restart the bot. See docs/discord.md."
)


def use_endpoints(api_base: str | None, gateway_url: str | None) -> tuple[str, yarl.URL]:
    """Point discord.py at another API/gateway (a local fake); returns the previous values."""
    previous = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    if api_base:
        Route.BASE = api_base.rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous


def parse_ids(text: str | None) -> set[int]:
    return {int(x) for x in re.split(r"[\s,;]+", text or "") if x.strip().isdigit()}


def thread_name(problem: str, mode: Mode) -> str:
    prefix = "Diagram: " if mode is Mode.DIAGRAM else "Interview: "
    one_line = " ".join(problem.split())
    return truncate(prefix + one_line, 100)


def missing_permissions(perms: discord.Permissions, *, private: bool) -> list[str]:
    """Names (as Discord shows them) of the channel permissions the bot lacks for an interview."""
    needed = [("view_channel", "View Channel"),
              ("create_private_threads" if private else "create_public_threads",
               "Create Private Threads" if private else "Create Public Threads"),
              ("send_messages_in_threads", "Send Messages in Threads"),
              ("attach_files", "Attach Files")]
    return [label for attr, label in needed if not getattr(perms, attr)]


class InterviewBot(discord.Client):
    def __init__(self, settings: Any, engine: Engine, *, preview_interval: float = 1.2,
                 typing_interval: float = 8.0, **options: Any):
        use_endpoints(settings.discord_api_base, settings.discord_gateway_url)
        intents = discord.Intents.default()
        intents.message_content = True
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        # No voice here: skip discord.py's start-up warnings about missing voice libraries
        # (the library clears these flags itself after warning once).
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(intents=intents, **options)
        self.settings = settings
        self.engine = engine
        self.preview_interval = preview_interval
        self.typing_interval = typing_interval
        self.allowed_channels = parse_ids(settings.discord_allowed_channels)
        self.allowed_guilds = parse_ids(settings.discord_allowed_guilds)
        self.private_threads = bool(settings.discord_private_threads)
        self.message_content = True
        self.tree = app_commands.CommandTree(self)
        self._register_commands()
        # Measurements for the benchmark and the logs.
        self.response_latencies: list[float] = []
        self._thread_locks: dict[int, asyncio.Lock] = {}

    # ----------------------------------------------------------- start-up
    async def setup_hook(self) -> None:
        self.add_view(ActionsView(self))
        flags = self.application_flags
        if not (flags.gateway_message_content or flags.gateway_message_content_limited):
            log.warning(INTENT_WARNING)
            # Asking for an intent that is not granted makes Discord close the
            # gateway (4014); without it the bot still runs commands and buttons.
            self._connection._intents.message_content = False
            self.message_content = False
        guild_id = self.settings.discord_guild_id
        try:
            if guild_id:
                guild = discord.Object(id=int(guild_id))
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d commands to guild %s (instant)", len(synced), guild_id)
            else:
                synced = await self.tree.sync()
                log.info("synced %d global commands (new commands can take up to an hour to appear)", len(synced))
        except discord.HTTPException as exc:
            log.error("command sync failed: %s. Check the bot was invited with the applications.commands scope "
                      "(and DISCORD_GUILD_ID is a server it is in).", exc)

    async def on_ready(self) -> None:
        log.info("logged in as %s (%s) in %d servers", self.user, getattr(self.user, "id", "?"), len(self.guilds))

    # ----------------------------------------------------------- commands
    def _register_commands(self) -> None:
        bot = self

        @self.tree.command(name="interview", description="Start a mock system design interview in a new thread")
        @app_commands.describe(problem="The system to design, e.g. 'Design a URL shortener'")
        async def interview(interaction: discord.Interaction, problem: str) -> None:
            await bot.start_command(interaction, problem, Mode.INTERVIEW)

        @self.tree.command(name="diagram", description="Just an interview-ready flow diagram, in a new thread")
        @app_commands.describe(system="The system to draw, e.g. 'A ride-hailing app'")
        async def diagram(interaction: discord.Interaction, system: str) -> None:
            await bot.start_command(interaction, system, Mode.DIAGRAM)

        @self.tree.command(name="end", description="End the interview in this thread")
        async def end(interaction: discord.Interaction) -> None:
            await bot.end_command(interaction)

        @self.tree.error
        async def on_app_command_error(interaction: discord.Interaction, error: Exception) -> None:
            log.exception("command failed", exc_info=error)
            await bot._ephemeral(interaction, "Sorry, something went wrong on my side. Please try again.")

    # ------------------------------------------------------------- helpers
    def allowed(self, guild_id: int | None, channel_id: int | None) -> bool:
        if self.allowed_guilds and guild_id not in self.allowed_guilds:
            return False
        if self.allowed_channels and channel_id not in self.allowed_channels:
            return False
        return True

    @staticmethod
    def ref_for(thread: Any) -> ThreadRef:
        return ThreadRef(platform="discord", workspace=str(thread.guild.id if thread.guild else "-"),
                         channel=str(thread.parent_id), thread=str(thread.id))

    async def _ephemeral(self, interaction: discord.Interaction, text: str) -> None:
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as exc:
            log.warning("could not answer interaction %s: %s", interaction.id, exc)

    def _note_response(self, interaction: discord.Interaction, started: float) -> None:
        self.response_latencies.append(time.perf_counter() - started)

    def _command_refusal(self, interaction: discord.Interaction, mode: Mode) -> str | None:
        command = "/diagram" if mode is Mode.DIAGRAM else "/interview"
        channel = interaction.channel
        if interaction.guild_id is None:
            return (f"I run interviews in server threads, so `{command}` doesn't work in DMs. "
                    "Use it in a text channel of a server I'm in.")
        if channel is not None and getattr(channel, "type", None) in THREAD_TYPES:
            return (f"`{command}` opens a new thread, so use it in the text channel, not inside a thread. "
                    "Inside an interview thread just reply, or use `/end`.")
        if not isinstance(channel, discord.TextChannel):
            return f"`{command}` works in text channels (where I can open a thread), not in this kind of channel."
        if not self.allowed(interaction.guild_id, channel.id):
            return "I'm not enabled in this channel. Ask a server admin which channel to use for mock interviews."
        missing = missing_permissions(interaction.app_permissions, private=self.private_threads)
        if missing:
            names = ", ".join(f"**{m}**" for m in missing)
            return (f"I can't run an interview here: I'm missing the {names} permission"
                    f"{'s' if len(missing) > 1 else ''} in {channel.mention}. "
                    "Ask a server admin to grant it to my role (see the set-up guide).")
        return None

    # ---------------------------------------------------------- /interview
    async def start_command(self, interaction: discord.Interaction, problem: str, mode: Mode) -> None:
        started = time.perf_counter()
        command = "/diagram" if mode is Mode.DIAGRAM else "/interview"
        problem = resolve_problem(problem, diagram=mode is Mode.DIAGRAM)
        refusal = self._command_refusal(interaction, mode) or check_problem(
            problem, self.settings.max_problem_chars, command)
        if refusal:
            await self._ephemeral(interaction, refusal)
            self._note_response(interaction, started)
            return
        try:
            first = await self.engine.store.first_delivery(f"discord:interaction:{interaction.id}")
        except StoreError as exc:
            log.error("store unavailable: %s", exc)
            await self._ephemeral(interaction, "I can't reach my memory (the state store) right now, so I can't "
                                               "start an interview. Please try again in a minute.")
            return
        if not first:
            log.info("duplicate interaction %s ignored", interaction.id)
            return
        problem = problem.strip()
        what = "flow diagram" if mode is Mode.DIAGRAM else "mock interview"
        shown = neutralize_mentions(truncate(" ".join(problem.split()), 300))
        await interaction.response.send_message(f"Starting a {what}: **{shown}**\nOpening a thread…")
        self._note_response(interaction, started)

        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        try:
            thread = await channel.create_thread(
                name=thread_name(problem, mode),
                type=discord.ChannelType.private_thread if self.private_threads else discord.ChannelType.public_thread,
                auto_archive_duration=1440, invitable=True)
            if self.private_threads:
                await thread.add_user(interaction.user)
        except discord.Forbidden:
            perm = "Create Private Threads" if self.private_threads else "Create Public Threads"
            await self._edit_original(interaction, f"I couldn't open a thread: I'm missing the **{perm}** permission "
                                                   "here. Ask a server admin to grant it to my role.")
            return
        except discord.HTTPException as exc:
            log.warning("thread creation failed: %s", exc)
            await self._edit_original(interaction, "I couldn't open a thread here (Discord said: "
                                                   f"{exc.text or exc.status}). Please try again.")
            return
        await self._edit_original(interaction, f"Started a {what}: **{shown}**\nIt's in {thread.mention}, "
                                               "where anyone can answer.")
        ref = self.ref_for(thread)
        await self._run_turn(thread, lambda sink: self.engine.start(
            ref, problem, mode=mode, user=interaction.user.display_name, sink=sink, event_id=str(interaction.id)))

    async def _edit_original(self, interaction: discord.Interaction, text: str) -> None:
        try:
            await interaction.edit_original_response(content=text)
        except discord.HTTPException as exc:
            log.info("could not edit the command response: %s", exc)

    async def _run_turn(self, thread: Any, call) -> bool:
        """Run one core turn in a thread with typing shown; never let an exception escape silently."""
        async with Typing(thread, interval=self.typing_interval) as typing:
            sink = ThreadSink(thread, typing=typing, min_interval=self.preview_interval)
            try:
                return bool(await call(sink))
            except discord.Forbidden as exc:
                log.error("Discord refused a message in thread %s (missing permission?): %s", thread.id, exc)
            except Exception:  # noqa: BLE001 - report in the thread instead of dying silently
                log.exception("turn failed in thread %s", thread.id)
                try:
                    await thread.send("Sorry, something went wrong on my side; nothing was lost. "
                                      "Say *retry* or send that again.")
                except discord.HTTPException:
                    pass
            return True

    # --------------------------------------------------------------- /end
    async def end_command(self, interaction: discord.Interaction) -> None:
        started = time.perf_counter()
        channel = interaction.channel
        if interaction.guild_id is None or getattr(channel, "type", None) not in THREAD_TYPES:
            await self._ephemeral(interaction, "Use `/end` inside an interview thread.")
            self._note_response(interaction, started)
            return
        ref = self.ref_for(channel)
        if not await self.engine.is_interview(ref):
            await self._ephemeral(interaction, "This thread isn't a mock interview, so there's nothing to end.")
            self._note_response(interaction, started)
            return
        await interaction.response.send_message("Ending the interview…", ephemeral=True)
        self._note_response(interaction, started)
        await self._run_turn(channel, lambda sink: self.engine.handle_action(
            ref, Action.END, user=interaction.user.display_name, sink=sink, event_id=str(interaction.id)))

    # ------------------------------------------------------------- buttons
    async def on_button(self, interaction: discord.Interaction, action: Action) -> None:
        started = time.perf_counter()
        channel = interaction.channel
        if interaction.guild_id is None or getattr(channel, "type", None) not in THREAD_TYPES:
            await self._ephemeral(interaction, "This button only works in an interview thread.")
            self._note_response(interaction, started)
            return
        ref = self.ref_for(channel)
        if not await self.engine.is_interview(ref):
            await self._ephemeral(interaction, "This thread's interview is gone (it may have expired). "
                                               "Start a new one with `/interview <problem>`.")
            self._note_response(interaction, started)
            return
        try:
            await interaction.response.edit_message(view=None)   # acknowledge and retire the button
        except discord.HTTPException as exc:
            log.info("button %s on interaction %s not acknowledged: %s", action, interaction.id, exc)
            return
        self._note_response(interaction, started)
        await self._run_turn(channel, lambda sink: self.engine.handle_action(
            ref, action, user=interaction.user.display_name, sink=sink, event_id=str(interaction.id)))

    # ------------------------------------------------------------ messages
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None or (self.user and message.author.id == self.user.id):
            return
        if message.guild is None or message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        # Handlers run as concurrent tasks and the store's lock is not first-come-first-served, so keep
        # each thread's messages in arrival order here (asyncio.Lock is FIFO; taken before any await).
        key = message.channel.id
        lock = self._thread_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                await self._on_thread_message(message)
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._thread_locks.pop(key, None)

    async def _on_thread_message(self, message: discord.Message) -> None:
        channel: Any = message.channel
        if isinstance(channel, discord.PartialMessageable):
            # A thread we have not seen since start-up: one fetch tells us its parent.
            try:
                channel = await self.fetch_channel(channel.id)
            except discord.HTTPException:
                return
        if getattr(channel, "type", None) not in THREAD_TYPES:
            return
        if message.guild is None or not self.allowed(message.guild.id, channel.parent_id):
            return
        ref = self.ref_for(channel)
        if not await self.engine.is_interview(ref):
            return
        text = message.content
        if self.user is not None:
            text = re.sub(rf"<@!?{self.user.id}>", "", text)
        text = text.strip()
        if not text:
            if message.attachments or message.stickers or not self.message_content:
                return   # nothing we can read (or no Message Content intent): stay quiet
        await self._run_turn(channel, lambda sink: self.engine.handle_message(
            ref, text, user=message.author.display_name, sink=sink, event_id=str(message.id)))
