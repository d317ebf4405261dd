"""The Slack adapter: Bolt listeners that translate Slack events into core events.

Each listener builds one `Inbound`, hands it to `Engine.submit` (which stores
it durably in a few milliseconds) and acks; the turn runs afterwards in the
core.  Noise (edits, deletes, other subtypes, bot messages, top-level chatter)
is dropped by a middleware right after the signature check.  `SlackBot` is
also the core's `Platform` for Slack: it opens threads, names people and
hands out sinks.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from typing import Awaitable

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot import texts
from bot.engine import Engine
from bot.inbound import EventKind, FetchAs, Inbound, InboundAttachment, ReceiptKind, fetch_as
from bot.messages import BUTTON_ACTIONS, CHOICE_ID_RE, Action, DeliveryError, read_button_id
from bot.metrics import record_platform_429
from bot.rate import workspace_bucket
from bot.state import ThreadRef
from bot.suggest import picked, search

from .api import RateLimitRetry, SlackApi, install_retries
from .http import SlackHttp
from .mrkdwn import from_slack, render
from .picker import PICK_IDS, PICK_MENU, context_of, menu_options, picked_value, suggestion_blocks
from .sink import META_TYPE, SlackSink, meta, slack_error

log = logging.getLogger(__name__)

# Buttons taken off their message once pressed (each means "this step is decided").
RETIRED_ON_PRESS = (Action.SKIP, Action.END, Action.GO, Action.CONTINUE, Action.CHOOSE)

# Message subtypes that are still a person talking in the thread.
HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share"}
COMMANDS = {"/interview": EventKind.START, "/diagram": EventKind.DIAGRAM, "/practice": EventKind.PRACTICE,
            "/history": EventKind.HISTORY}
_USER_MENTION = re.compile(r"^\s*<@([A-Z0-9]+)(?:\|[^>]*)?>\s*$")


def history_target(text: str) -> str:
    """`/history <@U123|bo>` -> 'U123' (Slack escapes the mention); anything else is passed on as typed."""
    m = _USER_MENTION.match(text or "")
    return m.group(1) if m else from_slack(text or "").strip()


class _NoTokenWarning(logging.Filter):
    """Bolt warns that `token` is unused when it finds SLACK_BOT_TOKEN in the environment
    and a client is given too; the client carries that same token, so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_NoTokenWarning())


def _event_is_noise(body: dict) -> bool:
    if body.get("type") != "event_callback":
        return False
    event = body.get("event") or {}
    if event.get("type") != "message":
        return False
    return (event.get("subtype") not in HUMAN_SUBTYPES or bool(event.get("bot_id"))
            or not event.get("user") or not event.get("channel") or not event.get("thread_ts")
            or event.get("thread_ts") == event.get("ts"))


class DropNoise(AsyncMiddleware):
    """Answer edits, deletes, bot messages and top-level chatter with 200 before any other work."""

    async def async_process(self, *, req, resp, next):  # noqa: A002 - Bolt's signature
        if _event_is_noise(req.body):
            return BoltResponse(status=200, body="")
        return await next()


def _attachment(file: dict) -> InboundAttachment:
    return InboundAttachment(filename=str(file.get("name") or "file"), mime=str(file.get("mimetype") or ""),
                             size=int(file.get("size") or 0))


class SlackBot:
    name = "slack"
    commands_in_threads = False   # Slack runs no slash commands inside threads
    suggests_problems = True      # slash commands have no autocomplete: offer the bank (bot/suggest.py)

    def __init__(self, settings, engine: Engine, *, client: AsyncWebClient | None = None,
                 preview_interval: float | None = 1.5, preview_delay: float = 1.0, post_burst: float = 3,
                 post_rate: float = 0.9, update_burst: float = 5, update_rate: float = 0.75):
        self.settings = settings
        self.engine = engine
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        self.rate_limits = RateLimitRetry(on_limited=lambda: record_platform_429(engine.metrics, "slack"))
        if client is None:
            kw = {"base_url": settings.slack_base_url} if settings.slack_base_url else {}
            client = AsyncWebClient(token=token, timeout=settings.slack_timeout, **kw)
        install_retries(client, self.rate_limits)
        # Slack counts chat.update per workspace: processes sharing Redis share the budget (one bucket per
        # bot token, named by a digest of it).
        app_id = hashlib.sha256((token or "").encode()).hexdigest()[:12]
        self.api = SlackApi(client, post_burst=post_burst, post_rate=post_rate,
                            update_bucket=workspace_bucket(engine.store, f"slack:{app_id}:chat.update",
                                                           update_burst, update_rate))
        self.preview_interval, self.preview_delay = preview_interval, preview_delay
        self._tasks: set[asyncio.Task] = set()
        self._names: dict[str, str] = {}
        self._response_urls: dict[str, str] = {}
        self.app = AsyncApp(signing_secret=secret, client=client, process_before_response=True,
                            request_verification_enabled=True, before_authorize=DropNoise(),
                            name="interview-bot")
        self.http = SlackHttp(self.app, secret)
        for command in COMMANDS:
            self.app.command(command)(self._on_command)
        self.app.event("message")(self._on_message)
        for action in BUTTON_ACTIONS:
            self.app.action(action.value)(self._on_action)
        self.app.action(CHOICE_ID_RE)(self._on_action)
        self.app.options(PICK_MENU)(self._on_search)
        self.app.action(PICK_IDS)(self._on_pick)
        engine.register(self)

    # -------------------------------------------------------------- tasks
    def spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack task failed", exc_info=task.exception())

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every started turn has finished (tests)."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))
        await self.engine.pipeline.idle(timeout=max(0.0, deadline - time.monotonic()))

    # ----------------------------------------------------------- platform
    def sink(self, ref: ThreadRef) -> SlackSink:
        return SlackSink(self.api, ref.channel, ref.thread, preview_interval=self.preview_interval,
                         preview_delay=self.preview_delay)

    async def open_thread(self, where: ThreadRef, title: str, announce: str, event_id: str) -> ThreadRef:
        try:
            ts = await self.api.post(where.channel, render(announce)[0], metadata=meta("thread", event_id))
        except (SlackClientError, TimeoutError) as exc:
            err = slack_error(exc)
            await self._tell_caller(event_id, texts.not_started_on(err))
            raise DeliveryError(f"chat.postMessage in {where.channel}: {err}") from exc
        self._response_urls.pop(event_id, None)
        return where.model_copy(update={"thread": ts})

    async def find_thread(self, where: ThreadRef, event_id: str) -> ThreadRef | None:
        """The thread this command opened before its process stopped (its parent carries the command's id)."""
        try:
            recent = await self.api.recent_messages(where.channel)
        except (SlackClientError, TimeoutError) as exc:
            log.warning("could not look for an earlier thread in %s: %s", where.channel, slack_error(exc))
            return None
        for m in recent:
            data = m.get("metadata") or {}
            if data.get("event_type") == META_TYPE and (data.get("event_payload") or {}).get("key") == event_id:
                self._response_urls.pop(event_id, None)
                return where.model_copy(update={"thread": m["ts"]})
        return None

    @staticmethod
    def thread_url(ref: ThreadRef) -> str:
        """A link to the thread (its parent message's permalink form)."""
        return f"https://slack.com/archives/{ref.channel}/p{ref.thread.replace('.', '')}"

    async def display_name(self, author_id: str, fallback: str) -> str:
        if not author_id:
            return fallback
        if author_id not in self._names:
            if len(self._names) > 10000:
                self._names.clear()
            try:
                info = (await self.api.client.users_info(user=author_id))["user"]
                profile = info.get("profile") or {}
                self._names[author_id] = (profile.get("display_name") or profile.get("real_name")
                                          or info.get("real_name") or info.get("name") or fallback)
            except (SlackClientError, KeyError, TypeError, TimeoutError) as exc:
                log.info("users.info %s failed: %s", author_id, exc)
                return fallback
        return self._names[author_id]

    async def _tell_caller(self, event_id: str, markdown: str) -> None:
        url = self._response_urls.pop(event_id, None)
        if not url:
            return
        try:
            from slack_sdk.webhook.async_client import AsyncWebhookClient
            await AsyncWebhookClient(url).send(text=render(markdown)[0], response_type="ephemeral")
        except Exception as exc:  # noqa: BLE001 - last resort, nothing else to tell
            log.warning("response_url failed: %s", exc)

    # ---------------------------------------------------------- listeners
    async def _on_command(self, ack, command: dict) -> None:
        kind = COMMANDS.get(command.get("command") or "", EventKind.START)
        event_id = f"slack:cmd:{command.get('trigger_id') or time.time_ns()}"
        user_id = command.get("user_id", "")
        if command.get("user_name"):
            self._names.setdefault(user_id, command["user_name"])
        event = Inbound(kind=kind, event_id=event_id, author_id=user_id, author=command.get("user_name") or "",
                        text=history_target(command.get("text") or "") if kind is EventKind.HISTORY
                        else from_slack(command.get("text") or ""),
                        ref=ThreadRef(platform="slack", workspace=command.get("team_id") or "-",
                                      channel=command.get("channel_id", ""), thread=""))
        if command.get("response_url") and kind is not EventKind.HISTORY:   # history answers in the ack
            self._response_urls[event_id] = command["response_url"]
        receipt = await self.engine.submit(event)
        if receipt.kind is ReceiptKind.SUGGEST:
            await ack(text=render(receipt.text or "")[0], blocks=suggestion_blocks(receipt), response_type="ephemeral")
        elif receipt.kind is not ReceiptKind.QUEUED and receipt.text:
            await ack(text=render(receipt.text)[0], response_type="ephemeral")
        else:
            await ack()

    async def _on_message(self, body: dict, event: dict) -> None:
        if _event_is_noise(body):  # socket mode skips no middleware, but be sure
            return
        bot_user = ((body.get("authorizations") or [{}])[0] or {}).get("user_id")
        files = [await self._download(f) for f in event.get("files") or [] if isinstance(f, dict)]
        await self.engine.submit(Inbound(
            kind=EventKind.REPLY, event_id=f"slack:{body.get('event_id') or event['channel'] + ':' + event['ts']}",
            ref=ThreadRef(platform="slack", workspace=body.get("team_id") or event.get("team") or "-",
                          channel=event["channel"], thread=event["thread_ts"]),
            author_id=event.get("user", ""), text=from_slack(event.get("text") or ""),
            attachments=files, bot_thread=bool(bot_user) and event.get("parent_user_id") == bot_user))

    async def _download(self, file: dict) -> InboundAttachment:
        """A file of a message as the core sees it; text files within the size limit are downloaded."""
        item = _attachment(file)
        url = file.get("url_private_download") or file.get("url_private")
        how = fetch_as(item, self.settings)
        if not url or how is FetchAs.NONE:
            return item
        headers = {"Authorization": f"Bearer {self.api.client.token}"}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.slack_timeout)) as s, \
                    s.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status == 200 and how is FetchAs.IMAGE:
                    item.data = await resp.read()
                elif resp.status == 200:
                    item.text = (await resp.read()).decode("utf-8")
                else:
                    log.info("file %s not downloaded: HTTP %s", item.filename, resp.status)
        except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError) as exc:
            log.info("file %s not downloaded: %s", item.filename, exc.__class__.__name__)
        return item

    async def _on_action(self, ack, body: dict, action: dict) -> None:
        message = body.get("message") or {}
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        thread = message.get("thread_ts") or container.get("thread_ts")
        button = read_button_id(str(action.get("action_id") or ""))
        which, text = button if button is not None else (None, "")
        if which is None or not channel or not thread:
            await ack()
            return
        who = body.get("user") or {}
        if who.get("id") and (who.get("username") or who.get("name")):
            self._names.setdefault(who["id"], str(who.get("username") or who.get("name")))
        event_id = body.get("trigger_id") or f"{container.get('message_ts')}:{action.get('action_ts')}"
        receipt = await self.engine.submit(Inbound(
            kind=EventKind.BUTTON, action=which, text=text, event_id=f"slack:action:{event_id}",
            author_id=who.get("id", ""),
            ref=ThreadRef(platform="slack", workspace=(body.get("team") or {}).get("id") or "-", channel=channel,
                          thread=thread), bot_thread=True))
        await ack()
        if receipt.kind is ReceiptKind.QUEUED and message.get("ts") and which in RETIRED_ON_PRESS:
            self.spawn(self._retire_button(channel, message))

    async def _on_search(self, ack, body: dict) -> None:
        """block_suggestion: what was typed into the problem menu -> the bank's matches."""
        context = context_of(body.get("block_id"))
        problems = search(str(body.get("value") or ""), context) if context is not None else []
        await ack(options=menu_options(problems))

    async def _on_pick(self, ack, body: dict, action: dict, respond) -> None:
        """A problem picked from a suggestion: the command, as if typed in full."""
        await ack()
        context = context_of(action.get("block_id"))
        command = picked(context, picked_value(action)) if context is not None else None
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if command is None or not channel:
            return
        kind, text = command
        who = body.get("user") or {}
        event_id = f"slack:pick:{body.get('trigger_id') or action.get('action_ts')}"
        if body.get("response_url"):
            self._response_urls[event_id] = body["response_url"]
        receipt = await self.engine.submit(Inbound(
            kind=kind, event_id=event_id, author_id=who.get("id", ""), author=who.get("username") or "",
            text=text, ref=ThreadRef(platform="slack", workspace=(body.get("team") or {}).get("id") or "-",
                                     channel=channel, thread="")))
        if receipt.text:
            await respond(text=render(receipt.text)[0], response_type="ephemeral", replace_original=True)

    async def _retire_button(self, channel: str, message: dict) -> None:
        """Take the pressed button away so it is not pressed twice; keep the text."""
        blocks = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
        try:
            await self.api.update(channel, message["ts"], message.get("text") or " ", blocks=blocks)
        except (SlackClientError, TimeoutError) as exc:
            log.info("could not remove the buttons: %s", slack_error(exc))

    async def warm_up(self) -> dict:
        """Check the token once at start-up and hand the answer to Bolt's authorization
        middleware, so the first request from Slack is not slowed by an auth.test call."""
        auth = await self.api.client.auth_test()
        from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
        for middleware in getattr(self.app, "_async_middleware_list", []):
            if isinstance(middleware, AsyncSingleTeamAuthorization) and middleware.auth_test_result is None:
                middleware.auth_test_result = auth
        return auth.data if isinstance(auth.data, dict) else {}

    # ------------------------------------------------------------ serving
    async def serve_http(self, host: str = "127.0.0.1", port: int = 3000) -> web.AppRunner:
        """Start the HTTP endpoint (POST /slack/events, GET /healthz); returns the runner."""
        runner = web.AppRunner(self.http.web_app(self.engine.health()), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        return runner

    async def close(self) -> None:
        """Stop this adapter's own tasks (button retirement); turns are the engine's to finish."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)
        for task in list(self._tasks):
            task.cancel()


def http_port(runner: web.AppRunner) -> int:
    return runner.addresses[0][1]
