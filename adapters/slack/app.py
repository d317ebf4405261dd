"""The Slack adapter: Bolt listeners, a paced Web API poster, and the Sink.

Every listener acks at once and hands the work to a tracked task, so Slack
gets its answer in milliseconds whatever the model is doing.  Noise (edits,
deletes, other subtypes, bot messages, top-level chatter) is dropped by a
middleware before authorization, right after the signature check.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any, Awaitable

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (AsyncConnectionErrorRetryHandler,
                                                         AsyncRateLimitErrorRetryHandler)
from slack_sdk.web.async_client import AsyncWebClient

from bot.engine import STORE_DOWN, Engine, ThreadStatus, check_problem, usage_help
from bot.messages import ACTION_LABELS, Action, Kind, OutMessage
from bot.problems import resolve_problem
from bot.progress import LivePreviews
from bot.state import Mode, ThreadRef
from bot.store import StoreError

from .mrkdwn import SECTION_LIMIT, from_slack, render, render_preview

log = logging.getLogger(__name__)

# Message subtypes that are still a person talking in the thread.
HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share"}
HELP_WORDS = {"help", "?", "-h", "--help", "usage"}
THREAD_WORDS = {"end", "stop", "skip", "retry", "quit", "finish", "cancel"}


# --------------------------------------------------------------------- pacing
class TokenBucket:
    """`capacity` calls at once, refilled at `rate` per second."""

    def __init__(self, capacity: float, rate: float):
        self.capacity, self.rate = capacity, rate
        self.tokens = capacity
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def try_take(self) -> bool:
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def take(self) -> None:
        while not self.try_take():
            await asyncio.sleep(max(0.005, (1 - self.tokens) / self.rate))


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, waiting exactly Retry-After (plus a little jitter) and counting."""

    def __init__(self, max_retry_count: int = 3):
        super().__init__(max_retry_count=max_retry_count)
        self.count = 0

    async def prepare_for_next_attempt_async(self, *, state, request, response=None, error=None) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        self.count += 1
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        try:
            wait = float(header[0] if isinstance(header, list) else header)
        except (TypeError, ValueError):
            wait = 1.0
        log.warning("Slack rate limit on %s: waiting %.1fs", request.url.rsplit("/", 1)[-1], wait)
        state.next_attempt_requested = True
        await asyncio.sleep(wait + random.random() * 0.1)
        state.increment_current_attempt()


class SlackApi:
    """The Web API calls the adapter makes, kept within Slack's rate limits.

    chat.postMessage: about one per second per channel, short bursts allowed.
    chat.update: about 50 a minute per workspace; preview edits are skipped
    when the budget is spent, final edits wait for it.
    """

    def __init__(self, client: AsyncWebClient, *, post_burst: float = 3, post_rate: float = 0.9,
                 update_burst: float = 5, update_rate: float = 0.75):
        self.client = client
        self._post_conf = (post_burst, post_rate)
        self._posts: dict[str, TokenBucket] = {}
        self._updates = TokenBucket(update_burst, update_rate)
        self.calls = 0

    def _post_bucket(self, channel: str) -> TokenBucket:
        if channel not in self._posts:
            self._posts[channel] = TokenBucket(*self._post_conf)
        return self._posts[channel]

    async def post(self, channel: str, text: str, *, thread_ts: str | None = None,
                   blocks: list | None = None) -> str:
        await self._post_bucket(channel).take()
        self.calls += 1
        kw: dict[str, Any] = dict(channel=channel, text=text, unfurl_links=False, unfurl_media=False,
                                  link_names=False)
        if thread_ts:
            kw["thread_ts"] = thread_ts
        if blocks:
            kw["blocks"] = blocks
        resp = await self.client.chat_postMessage(**kw)
        return resp["ts"]

    async def update(self, channel: str, ts: str, text: str, *, blocks: list | None = None,
                     optional: bool = False) -> bool:
        if optional:
            if not self._updates.try_take():
                return False
        else:
            await self._updates.take()
        self.calls += 1
        await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks or [],
                                      link_names=False)
        return True

    async def upload(self, channel: str, thread_ts: str, filename: str, data: bytes, title: str) -> None:
        await self._post_bucket(channel).take()
        self.calls += 3
        await self.client.files_upload_v2(channel=channel, thread_ts=thread_ts, file=data,
                                          filename=filename, title=title)


def blocks_for(text: str, actions: list[Action]) -> list[dict]:
    buttons = []
    for action in actions:
        button = {"type": "button", "action_id": action.value, "value": action.value,
                  "text": {"type": "plain_text", "text": ACTION_LABELS[action][:75], "emoji": True}}
        if action is Action.END:
            button["style"] = "danger"
        elif action is Action.RETRY:
            button["style"] = "primary"
        buttons.append(button)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "block_id": "ib_actions", "elements": buttons}]


# ----------------------------------------------------------------------- sink
class SlackSink:
    """Posts one turn's output into one thread (the engine's Sink protocol)."""

    def __init__(self, api: SlackApi, channel: str, thread_ts: str, *, preview_interval: float | None = 1.5,
                 preview_delay: float = 1.0):
        self.api, self.channel, self.thread_ts = api, channel, thread_ts
        self.live = preview_interval is not None
        # Once something of this turn is visible, a further stream gets a placeholder only if it
        # is still being written after `preview_delay`: short sections are posted once, finished,
        # which saves a chat.update (Slack allows ~50 a minute per workspace) per section.
        self.preview_delay = preview_delay
        self._first_partial: dict[str, float] = {}
        self._previewing: set[str] = set()
        self._visible = False
        self.previews = LivePreviews(self._create, self._edit, min_interval=preview_interval or 0.0,
                                     limit=SECTION_LIMIT - 200)

    async def _create(self, markdown: str) -> str:
        return await self.api.post(self.channel, render_preview(markdown), thread_ts=self.thread_ts)

    async def _edit(self, ts: str, markdown: str) -> None:
        await self.api.update(self.channel, ts, render_preview(markdown), optional=True)

    async def partial(self, stream_id: str, markdown: str) -> None:
        if not self.live or not markdown.strip():
            return
        if stream_id not in self._previewing:
            started = self._first_partial.setdefault(stream_id, time.monotonic())
            if self._visible and time.monotonic() - started < self.preview_delay:
                return
            self._previewing.add(stream_id)
        try:
            await self.previews.partial(stream_id, markdown)
            self._visible = True
        except SlackClientError as exc:  # a preview is a courtesy: never fail the turn for it
            log.warning("preview failed in %s/%s: %s", self.channel, self.thread_ts, exc)

    async def post(self, message: OutMessage) -> None:
        chunks = render(message.markdown) or ["…"]
        preview_ts = self.previews.take(message.stream_id)
        self._visible = True
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            blocks = blocks_for(chunk, message.actions) if last and message.actions else None
            try:
                if i == 0 and preview_ts:
                    try:
                        await self.api.update(self.channel, preview_ts, chunk, blocks=blocks)
                        continue
                    except SlackApiError as exc:  # the preview was deleted or is too old: post anew
                        log.warning("final edit failed (%s); posting instead", exc.response.get("error"))
                await self.api.post(self.channel, chunk, thread_ts=self.thread_ts, blocks=blocks)
            except SlackClientError as exc:
                log.error("could not post to %s/%s: %s", self.channel, self.thread_ts, exc)
        for att in message.attachments:
            try:
                await self.api.upload(self.channel, self.thread_ts, att.filename, att.data,
                                      title="Diagram" if message.section == "diagram" else att.filename)
            except (SlackClientError, OSError, ValueError) as exc:  # the text is already posted
                log.warning("upload of %s failed: %s", att.filename, exc)


# ------------------------------------------------------------------------ app
class _NoTokenWarning(logging.Filter):
    """Bolt warns that `token` is unused when it finds SLACK_BOT_TOKEN in the environment
    and a client is given too; the client carries that same token, so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_NoTokenWarning())


def _event_is_noise(body: dict, allowed: set[str]) -> bool:
    if body.get("type") != "event_callback":
        return False
    event = body.get("event") or {}
    if event.get("type") != "message":
        return False
    return (event.get("subtype") not in HUMAN_SUBTYPES or bool(event.get("bot_id"))
            or not event.get("user") or not event.get("thread_ts") or event.get("thread_ts") == event.get("ts")
            or bool(allowed and event.get("channel") not in allowed))


class DropNoise(AsyncMiddleware):
    """Answer edits, deletes, bot messages and top-level chatter with 200 before any other work."""

    def __init__(self, allowed: set[str]):
        self.allowed = allowed

    async def async_process(self, *, req, resp, next):  # noqa: A002 - Bolt's signature
        if _event_is_noise(req.body, self.allowed):
            return BoltResponse(status=200, body="")
        return await next()


class SlackBot:
    def __init__(self, settings, engine: Engine, *, client: AsyncWebClient | None = None,
                 preview_interval: float | None = 1.5, preview_delay: float = 1.0, post_burst: float = 3,
                 post_rate: float = 0.9, update_burst: float = 5, update_rate: float = 0.75):
        self.settings = settings
        self.engine = engine
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        self.rate_limits = RateLimitRetry()
        if client is None:
            kw = {"base_url": settings.slack_base_url} if settings.slack_base_url else {}
            client = AsyncWebClient(token=token, **kw)
        client.retry_handlers = [AsyncConnectionErrorRetryHandler(), self.rate_limits]
        self.api = SlackApi(client, post_burst=post_burst, post_rate=post_rate,
                            update_burst=update_burst, update_rate=update_rate)
        self.preview_interval, self.preview_delay = preview_interval, preview_delay
        self.allowed = {c.strip() for c in settings.slack_allowed_channels.split(",") if c.strip()}
        self._tasks: set[asyncio.Task] = set()
        self._names: dict[str, str] = {}
        self.app = AsyncApp(signing_secret=secret, client=client, process_before_response=True,
                            request_verification_enabled=True, before_authorize=DropNoise(self.allowed),
                            name="interview-bot")
        for command in ("/interview", "/diagram"):
            self.app.command(command)(self._on_command)
        self.app.event("message")(self._on_message)
        for action in Action:
            self.app.action(action.value)(self._on_action)

    # -------------------------------------------------------------- tasks
    def spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Slack handler failed", exc_info=task.exception())

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every started turn has finished (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))

    def sink(self, channel: str, thread_ts: str) -> SlackSink:
        return SlackSink(self.api, channel, thread_ts, preview_interval=self.preview_interval,
                         preview_delay=self.preview_delay)

    def _where(self) -> str:
        return "I only run interviews in " + ", ".join(f"<#{c}>" for c in sorted(self.allowed)) + "."

    async def _name(self, user_id: str) -> str:
        if not user_id:
            return "someone"
        if user_id not in self._names:
            if len(self._names) > 10000:
                self._names.clear()
            try:
                info = (await self.api.client.users_info(user=user_id))["user"]
                profile = info.get("profile") or {}
                self._names[user_id] = (profile.get("display_name") or profile.get("real_name")
                                        or info.get("real_name") or info.get("name") or user_id)
            except (SlackClientError, KeyError, TypeError) as exc:
                log.info("users.info %s failed: %s", user_id, exc)
                return user_id
        return self._names[user_id]

    # ---------------------------------------------------------- commands
    async def _on_command(self, ack, command: dict) -> None:
        name = command.get("command", "/interview")
        mode = Mode.DIAGRAM if name == "/diagram" else Mode.INTERVIEW
        text = from_slack(command.get("text") or "").strip()
        channel = command.get("channel_id", "")
        if self.allowed and channel not in self.allowed:
            await self._ephemeral(ack, self._where())
            return
        first = text.split(maxsplit=1)[0].lower() if text else ""
        single = len(text.split()) == 1
        if text.lower() in HELP_WORDS or (first.startswith("-") and single):
            await self._ephemeral(ack, render(usage_help(name))[0])
            return
        if first in THREAD_WORDS and single:
            hint = (f"Slack doesn't run slash commands inside threads, so to *{first}* an interview "
                    f"reply `{first}` in its thread (or use its buttons).\n\n")
            await self._ephemeral(ack, render(hint + usage_help(name))[0])
            return
        text = resolve_problem(text, diagram=mode is Mode.DIAGRAM)
        refusal = check_problem(text, self.settings.max_problem_chars, name)
        if refusal:
            await self._ephemeral(ack, render(refusal)[0])
            return
        await ack()
        self.spawn(self._start(command, mode, text))

    @staticmethod
    async def _ephemeral(ack, text: str) -> None:
        await ack(text=text, response_type="ephemeral")

    async def _start(self, command: dict, mode: Mode, problem: str) -> None:
        trigger = command.get("trigger_id") or f"{command.get('channel_id')}:{command.get('user_id')}:{problem}"
        try:
            if not await self.engine.first_delivery(f"slack:cmd:{trigger}"):
                return
        except StoreError as exc:
            log.error("store unavailable: %s", exc)
            await self._respond(command, "I can't reach my memory (the state store) right now, so I didn't start "
                                         "anything. Please try again in a minute.")
            return
        channel, user_id = command["channel_id"], command.get("user_id", "")
        user = command.get("user_name") or await self._name(user_id)
        self._names.setdefault(user_id, user)
        label = "Mock interview" if mode is Mode.INTERVIEW else "Diagram"
        shown = problem if len(problem) <= 1500 else problem[:1500] + "…"
        try:
            parent = await self.api.post(channel, render(f"**{label}:** {shown}, started by {user}")[0])
        except SlackApiError as exc:
            err = exc.response.get("error")
            log.warning("cannot post in %s: %s", channel, err)
            hint = ("Invite me first: `/invite @Interview Bot`." if err in ("not_in_channel", "channel_not_found")
                    else "Please try again in a minute.")
            await self._respond(command, f"I couldn't start a thread here (Slack said `{err}`). {hint}")
            return
        ref = ThreadRef(platform="slack", workspace=command.get("team_id") or "-", channel=channel, thread=parent)
        await self.engine.start(ref, problem, mode=mode, user=user, sink=self.sink(channel, parent))

    async def _respond(self, command: dict, markdown: str) -> None:
        url = command.get("response_url")
        if not url:
            return
        try:
            from slack_sdk.webhook.async_client import AsyncWebhookClient
            await AsyncWebhookClient(url).send(text=render(markdown)[0], response_type="ephemeral")
        except Exception as exc:  # noqa: BLE001 - last resort, nothing else to tell
            log.warning("response_url failed: %s", exc)

    # ----------------------------------------------------------- threads
    async def _on_message(self, body: dict, event: dict) -> None:
        if _event_is_noise(body, self.allowed):  # socket mode skips no middleware, but be sure
            return
        ref = ThreadRef(platform="slack", workspace=body.get("team_id") or event.get("team") or "-",
                        channel=event["channel"], thread=event["thread_ts"])
        event_id = body.get("event_id") or f"{event['channel']}:{event.get('ts')}"
        bot_user = ((body.get("authorizations") or [{}])[0] or {}).get("user_id")
        ours = bool(bot_user) and event.get("parent_user_id") == bot_user
        self.spawn(self._reply(ref, from_slack(event.get("text") or ""), event.get("user", ""), event_id, ours))

    async def _reply(self, ref: ThreadRef, text: str, user_id: str, event_id: str, ours: bool = False) -> None:
        status = await self.engine.thread_status(ref)
        if status is ThreadStatus.UNKNOWN and ours:
            # Our thread, but the store is down: say so rather than go quiet.
            await self.sink(ref.channel, ref.thread).post(OutMessage(kind=Kind.ERROR, markdown=STORE_DOWN))
            return
        if status is not ThreadStatus.INTERVIEW:
            return
        user = await self._name(user_id)
        await self.engine.handle_message(ref, text, user=user, sink=self.sink(ref.channel, ref.thread),
                                         event_id=f"slack:{event_id}")

    # ----------------------------------------------------------- buttons
    async def _on_action(self, ack, body: dict, action: dict) -> None:
        await ack()
        try:
            which = Action(action["action_id"])
        except ValueError:
            return
        message = body.get("message") or {}
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        thread = message.get("thread_ts") or container.get("thread_ts")
        if not channel or not thread:
            return
        team = (body.get("team") or {}).get("id") or "-"
        who = body.get("user") or {}
        if who.get("id") and (who.get("username") or who.get("name")):
            self._names.setdefault(who["id"], who.get("username") or who.get("name"))
        event_id = body.get("trigger_id") or f"{container.get('message_ts')}:{action.get('action_ts')}"
        ref = ThreadRef(platform="slack", workspace=team, channel=channel, thread=thread)

        async def run() -> None:
            if message.get("ts") and which in (Action.SKIP, Action.END):
                # Take the pressed button away so it is not pressed twice; keep the text.
                blocks = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
                try:
                    await self.api.update(channel, message["ts"], message.get("text") or " ", blocks=blocks)
                except SlackClientError as exc:
                    log.info("could not remove the buttons: %s", exc)
            user = await self._name(who.get("id", ""))
            await self.engine.handle_action(ref, which, user=user, sink=self.sink(channel, thread),
                                            event_id=f"slack:action:{event_id}")

        self.spawn(run())

    async def warm_up(self) -> dict:
        """Check the token once at start-up and hand the answer to Bolt's authorization
        middleware, so the first request from Slack is not slowed by an auth.test call."""
        auth = await self.api.client.auth_test()
        from slack_bolt.middleware.authorization.async_single_team_authorization import \
            AsyncSingleTeamAuthorization
        for middleware in getattr(self.app, "_async_middleware_list", []):
            if isinstance(middleware, AsyncSingleTeamAuthorization) and middleware.auth_test_result is None:
                middleware.auth_test_result = auth
        return auth.data if hasattr(auth, "data") else dict(auth)

    # ------------------------------------------------------------ serving
    async def serve_http(self, host: str = "0.0.0.0", port: int = 3000) -> web.AppRunner:
        """Start the HTTP endpoint (POST /slack/events, GET /healthz); returns the runner."""
        web_app = self.app.web_app(path="/slack/events", port=port)

        async def health(_request: web.Request) -> web.Response:
            return web.Response(text="ok")

        web_app.router.add_get("/healthz", health)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        return runner

    async def close(self) -> None:
        await self.drain(timeout=10)
        for task in list(self._tasks):
            task.cancel()


def http_port(runner: web.AppRunner) -> int:
    return runner.addresses[0][1]

