"""The Discord bot: slash commands, thread replies and buttons, on the shared core.

* `/interview problem:` and `/diagram system:` answer the interaction at once
  (well inside Discord's 3-second deadline), open a **public** thread (private
  if DISCORD_PRIVATE_THREADS is set) and run the interview there with
  `thread.send`, never with interaction follow-ups (their token dies after
  15 minutes).  `/end` and the "End interview" button end it.
* Replies in a thread go to the core as they arrive (the core orders them,
  dedupes repeated gateway deliveries after a resume by message and
  interaction id, and ignores threads that are not interviews); the bot
  ignores only itself and other bots.
* Everything is sent with `AllowedMentions.none()`, also set on the client.
"""
from __future__ import annotations

import logging
import re
import time
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot import texts
from bot.config import shard_ids
from bot.engine import Engine
from bot.formatting import truncate
from bot.inbound import EventKind, FetchAs, Inbound, InboundAttachment, Receipt, ReceiptKind, fetch_as
from bot.messages import Action, DeliveryError
from bot.problems import autocomplete
from bot.state import Mode, ThreadRef

from .views import ActionsView, ThreadSink

log = logging.getLogger(__name__)

THREAD_TYPES = (discord.ChannelType.public_thread, discord.ChannelType.private_thread)
MODE_KIND = {Mode.INTERVIEW: EventKind.START, Mode.DIAGRAM: EventKind.DIAGRAM, Mode.PRACTICE: EventKind.PRACTICE}
MODE_COMMAND = {Mode.INTERVIEW: "/interview", Mode.DIAGRAM: "/diagram", Mode.PRACTICE: "/practice"}
RANDOM_CHOICES = ("random easy", "random medium", "random hard")
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
    prefix = {Mode.DIAGRAM: "Diagram: ", Mode.PRACTICE: "Practice: "}.get(mode, "Interview: ")
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


def shard_options(settings: Any) -> dict[str, Any]:
    """AutoShardedClient options: DISCORD_SHARD_COUNT (0 = as many as Discord recommends, all in this
    process) and DISCORD_SHARD_IDS (the shards this process runs; empty = all of them)."""
    count = int(getattr(settings, "discord_shard_count", 0) or 0)
    if not count:
        return {"shard_count": None}
    ids = shard_ids(getattr(settings, "discord_shard_ids", "") or "")
    return {"shard_count": count, "shard_ids": ids or None}


class InterviewBot(discord.AutoShardedClient):
    """discord.py client that translates interactions and messages into core events (and is the core's
    `Platform` for Discord: it opens threads and hands out sinks).

    Sharded: each process runs the shards DISCORD_SHARD_IDS of DISCORD_SHARD_COUNT, so several processes
    split the guilds (Discord sends a guild's events to shard `(guild_id >> 22) % count`).  Turns need no
    gateway: whichever process holds a thread's lease posts through the REST API, so a thread whose
    process died is continued by any other process sharing the store."""

    name = "discord"
    commands_in_threads = True

    def __init__(self, settings: Any, engine: Engine, *, preview_interval: float | None = 1.2,
                 typing_interval: float = 8.0, **options: Any):
        intents = discord.Intents.default()
        intents.message_content = True
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        for name, value in shard_options(settings).items():
            options.setdefault(name, value)
        # No voice here: skip discord.py's start-up warnings about missing voice libraries
        # (the library clears these flags itself after warning once).
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(intents=intents, **options)
        self.settings = settings
        self.engine = engine
        self.preview_interval = preview_interval
        self.typing_interval = typing_interval
        self.private_threads = bool(settings.discord_private_threads)
        self.message_content = True
        self.tree = app_commands.CommandTree(self)
        self._register_commands()
        self._interactions: dict[str, discord.Interaction] = {}
        self._parents: dict[int, int] = {}
        # Measurements for the benchmark and the logs.
        self.response_latencies: list[float] = []
        engine.register(self)

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
        self.engine.start()

    async def on_ready(self) -> None:
        log.info("logged in as %s (%s) in %d servers, shards %s of %s", self.user, getattr(self.user, "id", "?"),
                 len(self.guilds), sorted(self.shards), self.shard_count)

    def _register_commands(self) -> None:
        bot = self

        @self.tree.command(name="interview", description="Start a mock system design interview in a new thread")
        @app_commands.describe(problem="The system to design, e.g. 'Design a URL shortener'",
                               file="Optional: the problem as a .txt or .md file")
        async def interview(interaction: discord.Interaction, problem: str,
                            file: discord.Attachment | None = None) -> None:
            await bot.start_command(interaction, problem, Mode.INTERVIEW, file)

        @self.tree.command(name="diagram", description="Just an interview-ready flow diagram, in a new thread")
        @app_commands.describe(system="The system to draw, e.g. 'A ride-hailing app'")
        async def diagram(interaction: discord.Interaction, system: str) -> None:
            await bot.start_command(interaction, system, Mode.DIAGRAM)

        @interview.autocomplete("problem")
        async def interview_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=truncate(p, 100), value=p[:100]) for p in autocomplete(current)]

        @diagram.autocomplete("system")
        async def diagram_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=truncate(p, 100), value=p[:100])
                    for p in autocomplete(current, diagram=True)]

        @self.tree.command(name="practice", description="Practice interview: the bot interviews you and scores you")
        @app_commands.describe(problem="The system to design, or 'random medium' (easy, medium, hard)")
        async def practice(interaction: discord.Interaction, problem: str) -> None:
            await bot.start_command(interaction, problem, Mode.PRACTICE)

        @practice.autocomplete("problem")
        async def practice_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            typed = current.strip().lower()
            randoms = [r for r in RANDOM_CHOICES if r.startswith(typed) or not typed]
            return [app_commands.Choice(name=truncate(p, 100), value=p[:100])
                    for p in [*randoms, *autocomplete(current)]][:25]

        @self.tree.command(name="history", description="Past practice interviews and their scores (only you see it)")
        @app_commands.describe(user="Whose history (yours if empty)")
        async def history(interaction: discord.Interaction, user: discord.User | None = None) -> None:
            await bot.history_command(interaction, user)

        @self.tree.command(name="end", description="End the interview in this thread")
        async def end(interaction: discord.Interaction) -> None:
            await bot.thread_action(interaction, Action.END, texts.END_OUTSIDE_THREAD)

        @self.tree.error
        async def on_app_command_error(interaction: discord.Interaction, error: Exception) -> None:
            log.exception("command failed", exc_info=error)
            await bot._ephemeral(interaction, texts.SOMETHING_WENT_WRONG)

    # ----------------------------------------------------------- platform
    def sink(self, ref: ThreadRef) -> ThreadSink:
        channel = self.get_channel(int(ref.thread)) or self.get_partial_messageable(int(ref.thread))
        return ThreadSink(channel, min_interval=self.preview_interval, typing_interval=self.typing_interval,
                          timeout=self.settings.discord_timeout)

    async def open_thread(self, where: ThreadRef, title: str, announce: str, event_id: str) -> ThreadRef:
        interaction = self._interactions.pop(event_id, None)
        try:
            channel = self.get_channel(int(where.channel)) or await self.fetch_channel(int(where.channel))
            assert isinstance(channel, discord.TextChannel)
            thread = await channel.create_thread(
                name=title, auto_archive_duration=1440, invitable=True,
                type=discord.ChannelType.private_thread if self.private_threads else discord.ChannelType.public_thread)
            if self.private_threads and interaction is not None:
                await thread.add_user(interaction.user)
        except (discord.HTTPException, AssertionError) as exc:
            reason = "Forbidden" if isinstance(exc, discord.Forbidden) else getattr(exc, "text", "") or str(exc)
            if interaction is not None:
                await self._edit_original(interaction, texts.not_started_on(reason or "error"))
            raise DeliveryError(f"thread creation in {where.channel}: {reason}") from exc
        if interaction is not None:
            await self._edit_original(interaction, texts.thread_opened(announce, thread.mention))
        self._parents[thread.id] = thread.parent_id
        return where.model_copy(update={"thread": str(thread.id)})

    async def display_name(self, author_id: str, fallback: str) -> str:
        return fallback

    @staticmethod
    def thread_url(ref: ThreadRef) -> str:
        return f"https://discord.com/channels/{ref.workspace}/{ref.thread}"

    # ------------------------------------------------------------- helpers
    @staticmethod
    def ref_for(thread: Any, parent_id: int | None = None) -> ThreadRef:
        return ThreadRef(platform="discord", workspace=str(thread.guild.id if thread.guild else "-"),
                         channel=str(parent_id or thread.parent_id), thread=str(thread.id))

    async def _ephemeral(self, interaction: discord.Interaction, text: str) -> None:
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as exc:
            log.warning("could not answer interaction %s: %s", interaction.id, exc)

    async def _edit_original(self, interaction: discord.Interaction, text: str) -> None:
        try:
            await interaction.edit_original_response(content=text)
        except discord.HTTPException as exc:
            log.info("could not edit the command response: %s", exc)

    def _where_refusal(self, interaction: discord.Interaction, command: str) -> str | None:
        """The platform facts that rule a command out here, worded by the core."""
        channel = interaction.channel
        if interaction.guild_id is None:
            return texts.dm_refusal(command)
        if channel is not None and getattr(channel, "type", None) in THREAD_TYPES:
            return texts.in_thread_refusal(command)
        if not isinstance(channel, discord.TextChannel):
            return texts.wrong_channel_refusal(command)
        missing = missing_permissions(interaction.app_permissions, private=self.private_threads)
        if missing:
            return texts.missing_permissions(missing, channel.mention)
        return None

    # ---------------------------------------------------------- commands
    async def start_command(self, interaction: discord.Interaction, problem: str, mode: Mode,
                            file: discord.Attachment | None = None) -> None:
        started = time.perf_counter()
        command = MODE_COMMAND[mode]
        refusal = self._where_refusal(interaction, command)
        if refusal:
            await self._ephemeral(interaction, refusal)
            self.response_latencies.append(time.perf_counter() - started)
            return
        event_id = f"discord:interaction:{interaction.id}"
        self._interactions[event_id] = interaction
        files = [await self._attachment(file)] if file is not None else []
        receipt = await self.engine.submit(Inbound(
            kind=MODE_KIND[mode], event_id=event_id, text=problem,
            attachments=files,
            author_id=str(interaction.user.id), author=interaction.user.display_name,
            ref=ThreadRef(platform="discord", workspace=str(interaction.guild_id),
                          channel=str(interaction.channel_id), thread="")))
        await self._answer(interaction, receipt, public=True)
        self.response_latencies.append(time.perf_counter() - started)
        if not receipt.accepted:
            self._interactions.pop(event_id, None)

    async def history_command(self, interaction: discord.Interaction, user: Any = None) -> None:
        """`/history [user]`: the core's answer, privately."""
        if interaction.guild_id is None:
            await self._ephemeral(interaction, texts.dm_refusal("/history"))
            return
        receipt = await self.engine.submit(Inbound(
            kind=EventKind.HISTORY, event_id=f"discord:interaction:{interaction.id}",
            text=str(user.id) if user is not None else "", author_id=str(interaction.user.id),
            author=interaction.user.display_name,
            ref=ThreadRef(platform="discord", workspace=str(interaction.guild_id),
                          channel=str(interaction.channel_id), thread="")))
        await self._ephemeral(interaction, truncate(receipt.text or texts.SOMETHING_WENT_WRONG, 2000))

    async def _answer(self, interaction: discord.Interaction, receipt: Receipt, *, public: bool = False) -> None:
        if receipt.kind is ReceiptKind.DUPLICATE:
            return
        text = receipt.text or texts.SOMETHING_WENT_WRONG
        if receipt.kind is ReceiptKind.QUEUED and public:
            try:
                await interaction.response.send_message(truncate(text, 2000))
            except discord.HTTPException as exc:
                log.warning("could not answer interaction %s: %s", interaction.id, exc)
            return
        await self._ephemeral(interaction, truncate(text, 2000))

    async def thread_action(self, interaction: discord.Interaction, action: Action, outside: str,
                            text: str = "") -> None:
        """`/end` or a button: a core event for the thread it was used in."""
        started = time.perf_counter()
        channel = interaction.channel
        if interaction.guild_id is None or getattr(channel, "type", None) not in THREAD_TYPES:
            await self._ephemeral(interaction, outside)
            self.response_latencies.append(time.perf_counter() - started)
            return
        receipt = await self.engine.submit(Inbound(
            kind=EventKind.BUTTON, action=action, text=text, event_id=f"discord:interaction:{interaction.id}",
            author_id=str(interaction.user.id), author=interaction.user.display_name, ref=self.ref_for(channel),
            bot_thread=True))
        if receipt.kind is ReceiptKind.QUEUED:
            try:
                if interaction.type is discord.InteractionType.component:
                    await interaction.response.edit_message(view=None)   # acknowledge and retire the button
                else:
                    await interaction.response.send_message(texts.ENDING, ephemeral=True)
            except discord.HTTPException as exc:
                log.info("interaction %s not acknowledged: %s", interaction.id, exc)
        elif receipt.kind is not ReceiptKind.DUPLICATE:
            await self._ephemeral(interaction, receipt.text or texts.NOT_OUR_THREAD)
        self.response_latencies.append(time.perf_counter() - started)

    async def on_button(self, interaction: discord.Interaction, action: Action, text: str = "") -> None:
        await self.thread_action(interaction, action, texts.BUTTON_OUTSIDE_THREAD, text)

    # ------------------------------------------------------------ messages
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None or (self.user and message.author.id == self.user.id):
            return
        if message.guild is None or message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        channel: Any = message.channel
        parent_id = getattr(channel, "parent_id", None) or self._parents.get(channel.id)
        if parent_id is None:
            if getattr(channel, "type", None) not in (None, *THREAD_TYPES):
                return   # a message in an ordinary channel
            # A thread we have not seen since start-up: one fetch tells us its parent.
            try:
                channel = await self.fetch_channel(channel.id)
            except discord.HTTPException:
                return
            parent_id = getattr(channel, "parent_id", None)
            if parent_id is None:
                return
            self._parents[channel.id] = parent_id
        text = message.content
        if self.user is not None:
            text = re.sub(rf"<@!?{self.user.id}>", "", text)
        if not text.strip() and not message.attachments:
            return   # nothing we can read (a sticker, or no Message Content intent): stay quiet
        files = [await self._attachment(a) for a in message.attachments] if message.attachments else []
        await self.engine.submit(Inbound(
            kind=EventKind.REPLY, event_id=f"discord:message:{message.id}", ref=self.ref_for(channel, parent_id),
            author_id=str(message.author.id), author=message.author.display_name, text=text, attachments=files,
            bot_thread=getattr(channel, "owner_id", None) == getattr(self.user, "id", -1)))

    async def _attachment(self, att: discord.Attachment) -> InboundAttachment:
        """The file as the core sees it; text files within the size limit are downloaded."""
        item = InboundAttachment(filename=att.filename, mime=att.content_type or "", size=att.size)
        how = fetch_as(item, self.settings)
        if how is FetchAs.NONE:
            return item
        try:
            data = await att.read()
            if how is FetchAs.IMAGE:
                item.data = data
            else:
                item.text = data.decode("utf-8")
        except (discord.HTTPException, UnicodeDecodeError) as exc:
            log.info("attachment %s not read: %s", att.filename, exc)
        return item
